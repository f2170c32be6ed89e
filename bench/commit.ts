/**
 * Commit benchmark (issue "executor"): committing a step costs what it changed, not what the image
 * holds. Target: the time to build a RUN that touches one file on a 1 GB base and on a 10 MB base
 * differs by < 20% (ratio 1 GB / 10 MB < 1.20). This reports; it never fails on timing.
 *
 *   npm run bench:commit [-- --quick] [--runs 5] [--big-mb 1024] [--big-files 20000] [--small-mb 10]
 *                        [--tools obox,buildkit,buildah]
 *
 * Two bases, each the busybox rootfs plus generated files (mixed random and text-like content,
 * sizes log-uniform from 1 KiB to 256 KiB scaled to the total): 10 MiB in 200 files and 1 GiB in
 * 20,000 files. Each tool imports the same tarballs: obox (`obox import`), BuildKit (a private
 * dockerd, `docker import`), buildah (private containers/storage, overlay driver, `podman import`
 * into it). Then, per run, for each tool and each base (the base order flips every run), two builds
 * of `FROM base` + `RUN echo <unique token> > /touched` (the token differs every build, so no cache
 * can answer it; obox has no build cache yet anyway):
 *  - quiet (`obox build -q`, `docker build -q`, `buildah bud -q`): end-to-end wall time, node
 *    start-up / client round trips included;
 *  - with progress output, for the step alone (run + commit): obox, the time between its
 *    `#N [...] RUN` and `#N DONE` lines as they arrive; BuildKit, its own `#N DONE x.ys` of the RUN
 *    plus that of `exporting to image` (where BuildKit diffs and compresses: its commit; 0.1 s
 *    resolution); buildah, the time between its `STEP 2/2: RUN` and `--> ID` lines (and `COMMIT` →
 *    `-->` as its commit part).
 * One warm-up build per tool and base first. Page cache warm (RAM far larger than the bases).
 *
 * Output: markdown tables on stdout, bench/results/commit-latest.json.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { repoRoot } from '../test/helpers/cli.js';
import { DOCKER_CLI, DOCKERD_TOOLS, startDockerd, type Dockerd } from '../test/helpers/dockerd.js';
import { createPodman, type Podman } from '../test/helpers/podman.js';
import { hasTool, isRoot } from '../test/helpers/requirements.js';
import { busyboxTar, makeRootfsTar } from './lib/gen.js';
import { idleCheck, machineInfo, machineLine } from './lib/machine.js';
import { checkDist, OBOX_BIN, oboxArgv } from './lib/obox.js';
import { run, type RunResult, type TimedLine } from './lib/proc.js';
import { flag, fmtMs, fmtRatio, fmtSummary, markdownTable, NOISE_RULE, numArg, strArg, summarize, type Summary } from './lib/stats.js';
import { benchTempDir } from './lib/tmp.js';

const quick = flag('quick');
const runs = Math.max(1, Math.round(numArg('runs', quick ? 2 : 5)));
const bigMb = numArg('big-mb', quick ? 200 : 1024);
const bigFiles = Math.round(numArg('big-files', quick ? 4000 : 20000));
const smallMb = numArg('small-mb', 10);
const smallFiles = 200;
const wanted = strArg('tools', 'obox,buildkit,buildah').split(',');
const TARGET = 1.2;

type BaseKey = 'small' | 'big';

interface StepTimes {
  /** The RUN step including its commit. */
  stepMs: number | undefined;
  /** The commit part alone, where the tool shows it. */
  commitMs: number | undefined;
}

interface Tool {
  key: string;
  label: string;
  stepSource: string;
  /** Step times come with this resolution (BuildKit reports 0.1 s). */
  resolutionMs?: number;
  build(base: BaseKey, containerfile: string, quiet: boolean): Promise<RunResult>;
  parse(r: RunResult): StepTimes;
  stop(): Promise<void>;
}

interface Sample {
  base: BaseKey;
  quietMs: number;
  progressMs: number;
  stepMs: number | undefined;
  commitMs: number | undefined;
}

function lineTime(lines: readonly TimedLine[], re: RegExp, from = 0): { t: number; m: RegExpExecArray; i: number } | undefined {
  for (let i = from; i < lines.length; i++) {
    const m = re.exec(lines[i]!.text);
    if (m) return { t: lines[i]!.t, m, i };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The tools.

function oboxTool(store: string, ctxDir: string): Tool {
  return {
    key: 'obox',
    label: 'obox',
    stepSource: '`#N [..] RUN` → `#N DONE` line arrival',
    build: (_base, cf, quiet) => {
      const [f, a] = oboxArgv(store, ['build', ...(quiet ? ['-q'] : ['--progress', 'plain']), '-f', cf, '-t', 'bench-commit-out', ctxDir]);
      return run(f, a);
    },
    parse: (r) => {
      const start = lineTime(r.lines, /^#(\d+) \[[^\]]*\] RUN /);
      if (!start) return { stepMs: undefined, commitMs: undefined };
      const done = lineTime(r.lines, new RegExp(`^#${start.m[1]} DONE`), start.i + 1);
      return { stepMs: done ? done.t - start.t : undefined, commitMs: undefined };
    },
    stop: async () => undefined,
  };
}

function buildkitTool(d: Dockerd, ctxDir: string): Tool {
  const env: NodeJS.ProcessEnv = { ...process.env, ...d.env, DOCKER_BUILDKIT: '1', DOCKER_CONTEXT: undefined, DOCKER_TLS_VERIFY: undefined, DOCKER_CERT_PATH: undefined };
  const reported = (lines: readonly TimedLine[], title: RegExp): number | undefined => {
    const start = lineTime(lines, title);
    if (!start) return undefined;
    const done = lineTime(lines, new RegExp(`^#${start.m[1]} DONE (\\d+(?:\\.\\d+)?)s`), start.i + 1);
    return done ? Number(done.m[1]) * 1000 : undefined;
  };
  return {
    key: 'buildkit',
    label: 'BuildKit (dockerd 20.10)',
    stepSource: 'reported `DONE` of the RUN + of `exporting to image` (0.1 s resolution)',
    resolutionMs: 100,
    build: (_base, cf, quiet) =>
      run(DOCKER_CLI, ['build', '--network', 'host', ...(quiet ? ['-q'] : ['--progress', 'plain']), '-f', cf, '-t', 'bench-commit-out', ctxDir], { env }),
    parse: (r) => {
      const runMs = reported(r.lines, /^#(\d+) \[[^\]]*\] RUN /);
      const exportMs = reported(r.lines, /^#(\d+) exporting to image/);
      return { stepMs: runMs !== undefined && exportMs !== undefined ? runMs + exportMs : undefined, commitMs: exportMs };
    },
    stop: () => d.stop(),
  };
}

function buildahTool(p: Podman, ctxDir: string): Tool {
  const global = ['--root', path.join(p.dir, 'root'), '--runroot', path.join(p.dir, 'run'), '--storage-driver', 'overlay'];
  const env: NodeJS.ProcessEnv = { ...process.env, ...p.env, TMPDIR: path.join(p.dir, 'tmp'), BUILDAH_ISOLATION: undefined };
  return {
    key: 'buildah',
    label: 'buildah bud --layers',
    stepSource: '`STEP 2/2: RUN` → `--> ID` line arrival (commit: `COMMIT` → `-->`)',
    build: (_base, cf, quiet) =>
      run('buildah', [...global, 'bud', '--layers', '--runtime', 'runc', '--network', 'host', ...(quiet ? ['-q'] : []), '-f', cf, '-t', 'bench-commit-out', ctxDir], { env }),
    parse: (r) => {
      const step = lineTime(r.lines, /^STEP \d+\/\d+: RUN /);
      const commit = lineTime(r.lines, /^COMMIT/, step?.i ?? 0);
      const done = lineTime(r.lines, /^--> /, commit?.i ?? 0);
      return {
        stepMs: step && done ? done.t - step.t : undefined,
        commitMs: commit && done ? done.t - commit.t : undefined,
      };
    },
    stop: async () => {
      await run('buildah', [...global, 'rm', '--all'], { env, allowFail: true }).catch(() => undefined);
      await p.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const notes: string[] = [];
  const distWarning = checkDist();
  if (distWarning) notes.push(distWarning);
  if (!isRoot()) throw new Error('the commit benchmark needs root (overlay mounts, runc, dockerd, buildah)');
  const idleStart = idleCheck('before');
  if (idleStart.warning) notes.push(idleStart.warning);
  const machine = machineInfo({
    obox: [process.execPath, [OBOX_BIN, '--version']],
    runc: ['runc', ['--version']],
    dockerd: ['dockerd', ['--version']],
    docker: [DOCKER_CLI, ['--version']],
    buildah: ['buildah', ['--version']],
    podman: ['podman', ['--version']],
  });

  const tmp = benchTempDir('commit');
  const tools: Tool[] = [];
  const setup: Record<string, Record<string, number>> = {};
  const bases: Record<BaseKey, { mb: number; files: number; generatedBytes: number; randomBytes: number }> = {
    small: { mb: smallMb, files: smallFiles, generatedBytes: 0, randomBytes: 0 },
    big: { mb: bigMb, files: bigFiles, generatedBytes: 0, randomBytes: 0 },
  };
  const samples = new Map<string, Sample[]>();
  try {
    const busybox = busyboxTar(tmp.dir);
    const tars = {} as Record<BaseKey, string>;
    for (const key of ['small', 'big'] as const) {
      const b = bases[key];
      process.stderr.write(`commit bench: generating the ${b.mb} MiB base (${b.files} files) …\n`);
      const g = makeRootfsTar(tmp.dir, `base-${key}`, busybox, {
        totalBytes: b.mb * 1024 * 1024,
        files: b.files,
        randomFraction: 0.3,
        minBytes: 1024,
        maxBytes: 256 * 1024,
        seed: b.files,
      });
      tars[key] = g.tar;
      b.generatedBytes = g.bytes;
      b.randomBytes = g.randomBytes;
    }
    const names: Record<BaseKey, string> = { small: 'bench-base-small', big: 'bench-base-big' };
    const ctxDir = path.join(tmp.dir, 'ctx');
    mkdirSync(ctxDir);
    const cfDir = path.join(tmp.dir, 'containerfiles');
    mkdirSync(cfDir);
    const refs: Record<string, Record<BaseKey, string>> = {};

    const timeIt = async (label: string, key: string, fn: () => Promise<unknown>): Promise<void> => {
      process.stderr.write(`commit bench: ${label} …\n`);
      const t0 = performance.now();
      await fn();
      (setup[key] ??= {})[label] = Math.round(performance.now() - t0);
    };

    if (wanted.includes('obox')) {
      const store = path.join(tmp.dir, 'obox-store');
      for (const key of ['small', 'big'] as const) {
        const [f, a] = oboxArgv(store, ['import', tars[key], '-t', names[key]]);
        await timeIt(`obox import ${bases[key].mb} MiB`, 'obox', () => run(f, a));
      }
      tools.push(oboxTool(store, ctxDir));
      refs.obox = names;
    }
    if (wanted.includes('buildkit')) {
      const missing = DOCKERD_TOOLS.filter((t) => !hasTool(t));
      if (missing.length > 0) notes.push(`BuildKit skipped: missing ${missing.join(', ')}`);
      else {
        let d: Dockerd | undefined;
        try {
          d = await startDockerd();
          const dd = d;
          for (const key of ['small', 'big'] as const) await timeIt(`docker import ${bases[key].mb} MiB`, 'buildkit', () => dd.importRootfs(tars[key], names[key]));
          tools.push(buildkitTool(d, ctxDir));
          refs.buildkit = names;
        } catch (e) {
          notes.push(`BuildKit skipped: ${String(e).split('\n')[0]}`);
          await d?.stop();
        }
      }
    }
    if (wanted.includes('buildah')) {
      const missing = ['buildah', 'podman', 'runc'].filter((t) => !hasTool(t));
      if (missing.length > 0) notes.push(`buildah skipped: missing ${missing.join(', ')}`);
      else {
        let p: Podman | undefined;
        try {
          p = createPodman({ storageDriver: 'overlay', runtime: 'runc' });
          const pp = p;
          for (const key of ['small', 'big'] as const) await timeIt(`podman import ${bases[key].mb} MiB`, 'buildah', () => pp.importRootfs(tars[key], names[key]));
          tools.push(buildahTool(p, ctxDir));
          refs.buildah = { small: `localhost/${names.small}`, big: `localhost/${names.big}` };
        } catch (e) {
          notes.push(`buildah skipped: ${String(e).split('\n')[0]}`);
          await p?.stop();
        }
      }
    }
    for (const key of ['small', 'big'] as const) rmSync(tars[key], { force: true });

    let counter = 0;
    const containerfile = (tool: string, base: BaseKey): string => {
      const token = `${tool}-${base}-${++counter}-${process.pid}-${Date.now()}`;
      const file = path.join(cfDir, `Containerfile.${counter}`);
      writeFileSync(file, `FROM ${refs[tool]![base]}\nRUN echo ${token} > /touched\n`);
      return file;
    };
    const check = (t: Tool, r: RunResult): void => {
      if (r.code !== 0) throw new Error(`${t.label} build failed:\n${r.stderr}`);
    };

    for (const t of tools) {
      samples.set(t.key, []);
      for (const base of ['small', 'big'] as const) {
        process.stderr.write(`commit bench: warm-up ${t.label}, ${bases[base].mb} MiB base\n`);
        check(t, await t.build(base, containerfile(t.key, base), true));
        const p = await t.build(base, containerfile(t.key, base), false);
        check(t, p);
        const st = t.parse(p);
        if (st.stepMs === undefined) notes.push(`${t.label}: could not find the step in its progress output (${p.stderr.split('\n').slice(0, 3).join(' / ')})`);
      }
    }
    for (let i = 0; i < runs; i++) {
      for (const t of tools) {
        for (const base of i % 2 === 0 ? (['small', 'big'] as const) : (['big', 'small'] as const)) {
          process.stderr.write(`commit bench: run ${i + 1}/${runs} ${t.label}, ${bases[base].mb} MiB base\n`);
          const q = await t.build(base, containerfile(t.key, base), true);
          const p = await t.build(base, containerfile(t.key, base), false);
          const st = t.parse(p);
          samples.get(t.key)!.push({ base, quietMs: q.ms, progressMs: p.ms, stepMs: st.stepMs, commitMs: st.commitMs });
        }
      }
    }
  } finally {
    for (const t of tools) await t.stop().catch((e: unknown) => process.stderr.write(`commit bench: stopping ${t.label}: ${String(e)}\n`));
    tmp.cleanup();
  }
  const idleEnd = idleCheck('after');
  if (idleEnd.warning) notes.push(idleEnd.warning);

  // Report.
  const sum = (t: Tool, base: BaseKey, f: (s: Sample) => number | undefined): Summary =>
    summarize(
      samples
        .get(t.key)!
        .filter((s) => s.base === base)
        .map(f)
        .filter((x): x is number => x !== undefined),
    );
  const stats = tools.map((t) => {
    const s = {
      quiet: { small: sum(t, 'small', (x) => x.quietMs), big: sum(t, 'big', (x) => x.quietMs) },
      step: { small: sum(t, 'small', (x) => x.stepMs), big: sum(t, 'big', (x) => x.stepMs) },
      commit: { small: sum(t, 'small', (x) => x.commitMs), big: sum(t, 'big', (x) => x.commitMs) },
    };
    return { tool: t, s };
  });
  const stepMs = (t: Tool, ms: number): string => (t.resolutionMs !== undefined && Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : fmtMs(ms));
  const stepFmt = (t: Tool, x: Summary): string =>
    t.resolutionMs === undefined || x.n === 0 ? fmtSummary(x) : `${stepMs(t, x.median)}${x.noisy ? ' ⚠' : ''} (${stepMs(t, x.min)}–${stepMs(t, x.max)})`;
  /** Both medians within two ticks of a coarse clock: their ratio means nothing. */
  const belowResolution = (t: Tool, a: number, b: number): boolean => t.resolutionMs !== undefined && Math.max(a, b) < 2 * t.resolutionMs;
  const S = `${smallMb} MiB`;
  const B = bigMb >= 1024 ? `${(bigMb / 1024).toFixed(bigMb % 1024 === 0 ? 0 : 1)} GiB` : `${bigMb} MiB`;
  let report = `## Commit cost vs base size${quick ? ' (--quick)' : ''}: \`FROM base\` + \`RUN echo TOKEN > /touched\`\n\n${machineLine(machine)}\n\n`;
  report += `Bases: ${S} (${smallFiles} files) and ${B} (${bigFiles} files), busybox + mixed random/text files. ${runs} runs per tool and base after 1 warm-up, bases alternating; warm page cache.\n\n`;
  report += markdownTable(
    ['tool', `build -q, ${S} base`, `build -q, ${B} base`, `${B} / ${S}`, `RUN step + commit, ${S}`, `RUN step + commit, ${B}`, `${B} / ${S}`, `commit part ${S} → ${B}`],
    stats.map(({ tool, s }) => [
      tool.label,
      fmtSummary(s.quiet.small),
      fmtSummary(s.quiet.big),
      fmtRatio(s.quiet.big.median, s.quiet.small.median),
      stepFmt(tool, s.step.small),
      stepFmt(tool, s.step.big),
      belowResolution(tool, s.step.small.median, s.step.big.median) ? '– (below resolution)' : fmtRatio(s.step.big.median, s.step.small.median),
      s.commit.small.n > 0
        ? `${stepMs(tool, s.commit.small.median)} → ${stepMs(tool, s.commit.big.median)}${belowResolution(tool, s.commit.small.median, s.commit.big.median) ? '' : ` (${fmtRatio(s.commit.big.median, s.commit.small.median)})`}`
        : '–',
    ]),
  );
  report += '\nStep times from: ' + stats.map(({ tool }) => `${tool.label}: ${tool.stepSource}`).join('; ') + '.\n\n';
  const obox = stats.find((x) => x.tool.key === 'obox');
  if (obox) {
    const e2e = obox.s.quiet.big.median / obox.s.quiet.small.median;
    const step = obox.s.step.big.median / obox.s.step.small.median;
    const others = stats
      .filter((x) => x.tool.key !== 'obox')
      .map((x) => `${fmtRatio(obox.s.quiet.big.median, x.s.quiet.big.median)} ${x.tool.label}`)
      .join(', ');
    report += markdownTable(
      ['target', 'measured', ''],
      [
        [`obox: ${B} / ${S} base < ${TARGET} (build -q, end to end)`, `${e2e.toFixed(2)}×`, e2e < TARGET ? 'met' : 'not met'],
        [`obox: ${B} / ${S} base < ${TARGET} (RUN step + commit)`, Number.isFinite(step) ? `${step.toFixed(2)}×` : '–', Number.isFinite(step) ? (step < TARGET ? 'met' : 'not met') : '–'],
        ...(others ? [[`obox build -q on the ${B} base vs the others`, others, 'informational']] : []),
      ],
    );
  }
  report += `\nSet-up (once, informational): ${Object.entries(setup)
    .map(([, v]) => Object.entries(v).map(([k, ms]) => `${k} ${fmtMs(ms)}`).join(', '))
    .join('; ')}\n`;
  report += `⚠ = ${NOISE_RULE} across runs. Times are wall clock per client process (obox includes node start-up; BuildKit and buildah include their client/daemon round trips).\n`;
  for (const n of notes) report += `note: ${n}\n`;
  process.stdout.write(report);

  const json = {
    bench: 'commit',
    quick,
    options: { runs, smallMb, smallFiles, bigMb, bigFiles, tools: tools.map((t) => t.key) },
    machine,
    cpuBusyWhileIdle: { before: idleStart.busy, after: idleEnd.busy },
    notes,
    bases,
    setupMs: setup,
    tools: stats.map(({ tool, s }) => ({ key: tool.key, label: tool.label, stepSource: tool.stepSource, summary: s, ratios: { quiet: s.quiet.big.median / s.quiet.small.median, step: s.step.big.median / s.step.small.median }, samples: samples.get(tool.key) })),
    target: TARGET,
  };
  const dir = path.join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'commit-latest.json');
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  process.stderr.write(`commit bench: wrote ${path.relative(process.cwd(), file) || file}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`commit bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
