/**
 * Export benchmark (issue "Images on disk"): saving an image whose layers are in the store should
 * run near disk-copy speed. Target: a ~500 MB image saved as a docker-archive by `obox save` in
 * ≤ 0.35× the time `podman save` takes for the same image, measured side by side in one run; obox's
 * peak RSS under 150 MB whatever the image size. This reports; it never fails on timing.
 *
 *   npm run bench:export [-- --quick] [--size-mb 500] [--small-mb 100] [--runs 5]
 *
 * Per image size (the main one, then a smaller one to show memory stays flat): a rootfs of the
 * busybox rootfs plus a few hundred generated files of mixed compressibility (random and
 * text-like), tarred once and imported into obox (`obox import`) and into a private podman
 * (`podman import`, overlay storage). Then, after one warm-up each, alternating runs of:
 *   obox save -o X.tar IMG                    (default: the stored gzip layer blobs as they are)
 *   podman save -q --format docker-archive -o Y.tar IMG
 *   obox save --uncompressed -o X.tar IMG     (docker save's own form: plain layer tars)
 *   cp BLOBS… DIR/                            (the image's manifest, config and layer blobs: disk copy speed)
 * Each run starts with its outputs deleted and a `sync` (not timed), so write-back of the previous
 * run does not land in the next. Times are wall clock from spawn to exit (node start-up included for
 * obox). A second column adds `sync FILE` of the outputs afterwards (obox fsyncs its archive before
 * renaming it into place; podman and cp do not), for a comparison of durable writes. Page cache:
 * warm (the store blobs were just written or read, and RAM is far larger than the image); the
 * table says so. Peak RSS comes from GNU time (%M) for every run.
 *
 * Output: markdown tables on stdout, bench/results/export-latest.json.
 */
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../test/helpers/cli.js';
import { createPodman, type Podman } from '../test/helpers/podman.js';
import { hasTool, isRoot } from '../test/helpers/requirements.js';
import { busyboxTar, makeRootfsTar } from './lib/gen.js';
import { idleCheck, machineInfo, machineLine } from './lib/machine.js';
import { checkDist, OBOX_BIN, oboxArgv } from './lib/obox.js';
import { peakRssMethod, run, sh, syncAll } from './lib/proc.js';
import {
  flag,
  fmtBytes,
  fmtMs,
  fmtRatio,
  fmtSummary,
  markdownTable,
  NOISE_RULE,
  numArg,
  summarize,
  type Summary,
} from './lib/stats.js';
import { benchTempDir } from './lib/tmp.js';

const quick = flag('quick');
const mainMb = numArg('size-mb', quick ? 100 : 500);
const smallMb = numArg('small-mb', Math.min(quick ? 20 : 100, Math.max(1, Math.round(mainMb / 5))));
const runs = Math.max(1, Math.round(numArg('runs', quick ? 2 : 5)));
const MEMORY_LIMIT = 150e6;
const SPEED_TARGET = 0.35;

interface Sample {
  ms: number;
  /** `sync OUTPUTS` after the command. */
  fsyncMs: number;
  peakRss: number | undefined;
  outputBytes: number;
}

interface Measured {
  label: string;
  runs: Sample[];
  warmup: Sample | undefined;
  time: Summary;
  durable: Summary;
  peakRss: number | undefined;
  outputBytes: number | undefined;
}

interface Command {
  key: 'obox' | 'obox-uncompressed' | 'podman' | 'cp';
  label: string;
  argv: () => [string, string[]];
  env?: NodeJS.ProcessEnv;
  /** Files written (after the run). */
  outputs: () => string[];
  prepare: () => void;
}

function mb(n: number | undefined): string {
  return n === undefined ? '–' : `${(n / 1e6).toFixed(0)} MB`;
}

function fileSize(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

async function measure(cmd: Command, scratch: string): Promise<Sample> {
  cmd.prepare();
  syncAll();
  const [file, args] = cmd.argv();
  const r = await run(file, args, { rss: true, scratch, ...(cmd.env ? { env: cmd.env } : {}) });
  const outputs = cmd.outputs();
  const s = await run('sync', outputs);
  return { ms: r.ms, fsyncMs: s.ms, peakRss: r.peakRss, outputBytes: outputs.reduce((a, p) => a + fileSize(p), 0) };
}

interface ImageResult {
  sizeMb: number;
  files: number;
  generatedBytes: number;
  randomBytes: number;
  rootfsTarBytes: number;
  layerBlobBytes: number;
  setup: Record<string, { ms: number; peakRss: number | undefined }>;
  measured: Record<string, Measured>;
}

async function benchImage(sizeMb: number, ctx: { scratch: string; store: string; podman: Podman | undefined; busybox: string }): Promise<ImageResult> {
  const name = `bench-export-${sizeMb}m`;
  const files = Math.min(600, Math.max(50, Math.round(sizeMb * 0.6)));
  process.stderr.write(`export bench: generating a ${sizeMb} MiB rootfs (${files} files) …\n`);
  const gen = makeRootfsTar(ctx.scratch, name, ctx.busybox, {
    totalBytes: sizeMb * 1024 * 1024,
    files,
    randomFraction: 0.5,
    minBytes: 4 * 1024,
    maxBytes: 16 * 1024 * 1024,
    seed: sizeMb,
  });
  const rootfsTarBytes = fileSize(gen.tar);

  process.stderr.write(`export bench: importing into obox${ctx.podman ? ' and podman' : ''} …\n`);
  const setup: ImageResult['setup'] = {};
  const [of, oa] = oboxArgv(ctx.store, ['import', gen.tar, '-t', name]);
  const oi = await run(of, oa, { rss: true, scratch: ctx.scratch });
  setup['obox import'] = { ms: oi.ms, peakRss: oi.peakRss };
  if (ctx.podman) {
    const t0 = performance.now();
    await ctx.podman.importRootfs(gen.tar, name);
    setup['podman import'] = { ms: performance.now() - t0, peakRss: undefined };
  }
  rmSync(gen.tar, { force: true });

  const [ifile, iargs] = oboxArgv(ctx.store, ['inspect', name]);
  const info = JSON.parse((await run(ifile, iargs)).stdout) as Array<{ Id: string; Digest: string; Layers: string[] }>;
  const image = info[0];
  if (!image) throw new Error(`obox inspect ${name}: no image`);
  const blob = (d: string): string => path.join(ctx.store, 'blobs', ...d.split(':'));
  const blobs = [image.Digest, image.Id, ...image.Layers].map(blob);
  const layerBlobBytes = image.Layers.map(blob).reduce((a, p) => a + fileSize(p), 0);

  const out = path.join(ctx.scratch, 'out');
  mkdirSync(out, { recursive: true });
  const oboxTar = path.join(out, 'obox.tar');
  const oboxRawTar = path.join(out, 'obox-uncompressed.tar');
  const podmanTar = path.join(out, 'podman.tar');
  const cpDir = path.join(out, 'cp');
  const cmds: Command[] = [
    {
      key: 'obox',
      label: '`obox save`',
      argv: () => oboxArgv(ctx.store, ['save', '-o', oboxTar, name]),
      outputs: () => [oboxTar],
      prepare: () => rmSync(oboxTar, { force: true }),
    },
  ];
  const podman = ctx.podman;
  if (podman) {
    cmds.push({
      key: 'podman',
      label: '`podman save --format docker-archive`',
      argv: () => ['podman', [...podman.globalArgs, 'save', '-q', '--format', 'docker-archive', '-o', podmanTar, name]],
      env: { ...process.env, ...podman.env, CONTAINER_HOST: undefined, CONTAINER_CONNECTION: undefined },
      outputs: () => [podmanTar],
      prepare: () => rmSync(podmanTar, { force: true }),
    });
  }
  cmds.push(
    {
      key: 'obox-uncompressed',
      label: '`obox save --uncompressed`',
      argv: () => oboxArgv(ctx.store, ['save', '--uncompressed', '-o', oboxRawTar, name]),
      outputs: () => [oboxRawTar],
      prepare: () => rmSync(oboxRawTar, { force: true }),
    },
    {
      key: 'cp',
      label: '`cp` of the image blobs',
      argv: () => ['cp', [...blobs, `${cpDir}/`]],
      outputs: () => readdirSync(cpDir).map((f) => path.join(cpDir, f)),
      prepare: () => {
        rmSync(cpDir, { recursive: true, force: true });
        mkdirSync(cpDir);
      },
    },
  );

  const warmups = new Map<string, Sample>();
  for (const c of cmds) {
    process.stderr.write(`export bench: ${sizeMb} MiB warm-up: ${c.label}\n`);
    warmups.set(c.key, await measure(c, ctx.scratch));
  }
  // Sanity: the archives are archives with a manifest.json.
  for (const t of [oboxTar, oboxRawTar, ...(podman ? [podmanTar] : [])]) {
    const list = sh('tar', ['-tf', t]);
    if (!/^manifest\.json$/m.test(list)) throw new Error(`${t} has no manifest.json`);
  }
  const samples = new Map<string, Sample[]>(cmds.map((c) => [c.key, []]));
  for (let i = 0; i < runs; i++) {
    for (const c of cmds) {
      process.stderr.write(`export bench: ${sizeMb} MiB run ${i + 1}/${runs}: ${c.label}\n`);
      samples.get(c.key)!.push(await measure(c, ctx.scratch));
    }
  }
  rmSync(out, { recursive: true, force: true });

  const measured: Record<string, Measured> = {};
  for (const c of cmds) {
    const s = samples.get(c.key)!;
    const rss = s.map((x) => x.peakRss).filter((x): x is number => x !== undefined);
    measured[c.key] = {
      label: c.label,
      runs: s,
      warmup: warmups.get(c.key),
      time: summarize(s.map((x) => x.ms)),
      durable: summarize(s.map((x) => x.ms + x.fsyncMs)),
      peakRss: rss.length > 0 ? Math.max(...rss) : undefined,
      outputBytes: s.at(-1)?.outputBytes,
    };
  }
  return { sizeMb, files: gen.files, generatedBytes: gen.bytes, randomBytes: gen.randomBytes, rootfsTarBytes, layerBlobBytes, setup, measured };
}

function imageTable(r: ImageResult): string {
  const m = r.measured;
  const podman = m.podman;
  const cp = m.cp;
  const rows = Object.values(m).map((x) => [
    x.label,
    fmtSummary(x.time),
    podman ? fmtRatio(x.time.median, podman.time.median) : '–',
    cp ? fmtRatio(x.time.median, cp.time.median) : '–',
    fmtSummary(x.durable),
    podman ? fmtRatio(x.durable.median, podman.durable.median) : '–',
    fmtBytes(x.outputBytes),
    mb(x.peakRss),
  ]);
  const head =
    `### ${r.sizeMb} MiB image: ${r.files} files (${((100 * r.randomBytes) / r.generatedBytes).toFixed(0)}% random bytes) + busybox; ` +
    `rootfs tar ${fmtBytes(r.rootfsTarBytes)}, stored gzip layer ${fmtBytes(r.layerBlobBytes)}; ${runs} runs each after 1 warm-up, alternating, warm page cache\n\n`;
  return (
    head +
    markdownTable(
      ['command', 'time: median (min–max)', '× podman', '× cp', 'time + `sync` of output: median (min–max)', '× podman', 'output', 'peak RSS (max)'],
      rows,
    )
  );
}

async function main(): Promise<void> {
  const notes: string[] = [];
  const distWarning = checkDist();
  if (distWarning) notes.push(distWarning);
  const usePodman = isRoot() && hasTool('podman');
  if (!usePodman) notes.push('podman rows skipped: needs root and podman');
  const rssMethod = peakRssMethod();
  if (rssMethod === 'sample') notes.push('peak RSS sampled from /proc/PID/status VmHWM every 20 ms (GNU time unavailable)');
  const idleStart = idleCheck('before');
  if (idleStart.warning) notes.push(idleStart.warning);
  const machine = machineInfo({
    obox: [process.execPath, [OBOX_BIN, '--version']],
    podman: ['podman', ['--version']],
    tar: ['tar', ['--version']],
    cp: ['cp', ['--version']],
  });

  const tmp = benchTempDir('export');
  let podman: Podman | undefined;
  const results: ImageResult[] = [];
  try {
    podman = usePodman ? createPodman() : undefined;
    const store = path.join(tmp.dir, 'store');
    const busybox = busyboxTar(tmp.dir);
    for (const size of [mainMb, ...(smallMb !== mainMb ? [smallMb] : [])]) {
      results.push(await benchImage(size, { scratch: tmp.dir, store, podman, busybox }));
    }
  } finally {
    await podman?.stop();
    tmp.cleanup();
  }
  const idleEnd = idleCheck('after');
  if (idleEnd.warning) notes.push(idleEnd.warning);

  let report = `## obox save vs podman save${quick ? ' (--quick)' : ''}\n\n${machineLine(machine)}\n\n`;
  for (const r of results) report += `${imageTable(r)}\n`;
  report += `Set-up (once, informational): ${results
    .map((r) => `${r.sizeMb} MiB: ${Object.entries(r.setup).map(([k, v]) => `${k} ${fmtMs(v.ms)}${v.peakRss ? ` (peak ${mb(v.peakRss)})` : ''}`).join(', ')}`)
    .join('; ')}\n\n`;

  const main0 = results[0]!;
  const ratio = main0.measured.podman ? main0.measured.obox!.time.median / main0.measured.podman.time.median : Number.NaN;
  const durableRatio = main0.measured.podman ? main0.measured.obox!.durable.median / main0.measured.podman.durable.median : Number.NaN;
  const peak = Math.max(
    ...results.flatMap((r) => [r.measured.obox?.peakRss ?? 0, r.measured['obox-uncompressed']?.peakRss ?? 0, ...[r.setup['obox import']?.peakRss ?? 0]]),
  );
  const savePeak = Math.max(...results.flatMap((r) => [r.measured.obox?.peakRss ?? 0, r.measured['obox-uncompressed']?.peakRss ?? 0]));
  const targets = [
    [
      `\`obox save\` ≤ ${SPEED_TARGET}× \`podman save\` (${main0.sizeMb} MiB)`,
      Number.isFinite(ratio) ? `${ratio.toFixed(2)}× (with output fsync: ${durableRatio.toFixed(2)}×)` : 'podman not measured',
      Number.isFinite(ratio) ? (ratio <= SPEED_TARGET ? 'met' : 'not met') : '–',
    ],
    [
      '`obox save` peak RSS < 150 MB at every size',
      results.map((r) => `${r.sizeMb} MiB: ${mb(r.measured.obox?.peakRss)} / ${mb(r.measured['obox-uncompressed']?.peakRss)} (--uncompressed)`).join('; '),
      savePeak < MEMORY_LIMIT ? 'met' : 'not met',
    ],
    [
      '`obox save` vs disk copy (`cp` of the blobs)',
      results.map((r) => `${r.sizeMb} MiB: ${fmtRatio(r.measured.obox!.time.median, r.measured.cp!.time.median)}`).join('; '),
      'informational',
    ],
  ];
  report += markdownTable(['target', 'measured', ''], targets);
  report += `\n⚠ = ${NOISE_RULE} across runs. Times are wall clock per process (obox includes node start-up). Peak RSS by ${rssMethod === 'time' ? 'GNU time (%M)' : '/proc sampling'}.\n`;
  for (const n of notes) report += `note: ${n}\n`;
  process.stdout.write(report);

  const json = {
    bench: 'export',
    quick,
    options: { mainMb, smallMb, runs },
    machine,
    cpuBusyWhileIdle: { before: idleStart.busy, after: idleEnd.busy },
    notes,
    pageCache: 'warm (no cache dropping); outputs deleted and `sync` before each run, not timed',
    peakRssMethod: rssMethod,
    targets: { speedRatio: ratio, durableSpeedRatio: durableRatio, speedTarget: SPEED_TARGET, oboxSavePeakRss: savePeak, oboxPeakRssIncludingImport: peak, memoryLimit: MEMORY_LIMIT },
    images: results,
  };
  const dir = path.join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'export-latest.json');
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  process.stderr.write(`export bench: wrote ${path.relative(process.cwd(), file) || file} (tmp ${os.tmpdir()} cleaned)\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`export bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
