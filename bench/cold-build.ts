/**
 * Cold-build benchmark (the executor issue's target): a cold build of a multi-stage Containerfile
 * over Debian minbase (apt install + compile) by obox in ≤ the time BuildKit takes on the same
 * machine, measured side by side, with buildah as a second reference. Reports; never fails on timing.
 *
 *   npm run bench:cold [-- --quick] [--runs 3] [--warmup 1] [--tools obox,buildkit,buildah,buildah-nolayers]
 *
 * Workload: bench/workloads/debian-c/ — `FROM debian-minbase:bookworm AS build`, apt-get install
 * gcc libc6-dev, COPY of a small multi-file C program, compile + link a static binary, then
 * `FROM scratch` with only the binary. The base is one mmdebstrap minbase tarball
 * (native-scripts/make-rootfs-debian.sh, cached per day) imported into each tool:
 *  - obox:      `obox import` into a fresh store before every run (timed separately, not part of
 *               the build time), then `obox build --progress plain`; the store is deleted after.
 *  - BuildKit:  a private dockerd 20.10 (test/helpers/dockerd.ts), `docker import` once; before each
 *               run `docker rmi` of the built image and `docker builder prune -af`; then
 *               `DOCKER_BUILDKIT=1 docker build --network host --progress plain`.
 *  - buildah:   private containers/storage (test/helpers/podman.ts: overlay, runc, cgroupfs),
 *               `podman import` once (buildah has no import); before each run every image but the
 *               base is removed; then `buildah bud --layers --network host --isolation oci --runtime
 *               runc` (--layers: a layer per step, reusable as cache — what podman build does, and
 *               the comparable mode) and, as a second row, `--layers=false` (buildah's default:
 *               only the final image is committed, nothing reusable).
 * Every RUN gets host networking (each tool's default or command-line flag; none in the file).
 * "Cold" = no build cache: the output is checked (no `CACHED` / `Using cache` step, else the run
 * is an error). Warm page cache, warm Debian mirror: all three download the same ~54 MB of .debs
 * from the mirror in the base image's sources; the apt fetch lines are kept per run.
 *
 * Method: `--warmup` rounds (default 1, not in the statistics) then `--runs` rounds (default 3);
 * in each round every tool once, in a fixed order (obox, BuildKit, buildah, buildah --layers=false),
 * so slow drift of the network or machine hits all alike. Each run is prepared (cold state, not
 * timed), then `sync`, then timed from spawn to exit of the CLI (for BuildKit the docker client;
 * the daemon is already up, as it would be). `--quick`: no warm-up, 1 run. After each tool's first
 * build its image is run once with docker (obox: `obox save | docker load`; buildah: `buildah push
 * docker-archive:`, `docker load`), and must print the expected SHA-256 line. Also once, after
 * obox's first build: its biggest new layer dir (the apt step's upper dir) is run through
 * `tar | gzip -6 | sha256sum` and friends, to show what obox's eager layer commit costs.
 *
 * Output: markdown tables on stdout (times with ratios; per-step breakdown from each builder's own
 * progress output, see lib/build-steps.ts) and bench/results/cold-build-latest.json (machine, tool
 * versions, every run with its steps).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../test/helpers/cli.js';
import { DOCKER_CLI, DOCKERD_TOOLS, startDockerd, unmountUnderSync, type Dockerd } from '../test/helpers/dockerd.js';
import { createPodman, type Podman } from '../test/helpers/podman.js';
import { hasTool, isRoot } from '../test/helpers/requirements.js';
import { stepsFromBuildah, stepsFromPlainProgress, type StepTiming } from './lib/build-steps.js';
import { loadWarning, machineInfo, machineLine } from './lib/machine.js';
import { checkDist, OBOX_BIN, oboxArgv } from './lib/obox.js';
import { run, sh, syncAll, type RunResult } from './lib/proc.js';
import { flag, markdownTable, NOISE_LIMIT, numArg, strArg, summarize, type Summary } from './lib/stats.js';
import { benchTempDir } from './lib/tmp.js';

const quick = flag('quick');
const runs = Math.max(1, Math.round(numArg('runs', quick ? 1 : 3)));
const warmups = process.argv.includes('--warmup') ? warmupArg() : quick ? 0 : 1;
const ALL_TOOLS = ['obox', 'buildkit', 'buildah', 'buildah-nolayers'] as const;
type ToolKey = (typeof ALL_TOOLS)[number];
const tools = parseTools(strArg('tools', ALL_TOOLS.join(',')));

const WORKLOAD = path.join(repoRoot, 'bench', 'workloads', 'debian-c');
const CONTAINERFILE = path.join(WORKLOAD, 'Containerfile');
const BASE = 'debian-minbase:bookworm';
const EXPECTED = `sha256("obox") = ${createHash('sha256').update('obox').digest('hex')}`;

function warmupArg(): number {
  const i = process.argv.indexOf('--warmup');
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--warmup needs a whole number ≥ 0, got ${process.argv[i + 1] ?? 'nothing'}`);
  return v;
}

function parseTools(s: string): ToolKey[] {
  const out: ToolKey[] = [];
  for (const t of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!(ALL_TOOLS as readonly string[]).includes(t)) throw new Error(`--tools: unknown tool ${t} (known: ${ALL_TOOLS.join(', ')})`);
    if (!out.includes(t as ToolKey)) out.push(t as ToolKey);
  }
  if (out.length === 0) throw new Error('--tools: none given');
  return out;
}

// ---------------------------------------------------------------------------------------------

interface RunRecord {
  tool: ToolKey;
  round: number;
  warmup: boolean;
  ms: number;
  /** obox only: `obox import` of the base into the fresh store (set-up, not in ms). */
  importMs?: number;
  /** Untimed preparation (prune / rmi / store deletion). */
  prepareMs: number;
  steps: StepTiming[];
  /** apt's `Fetched … in …s (…)` lines: the network part of the apt step, as apt reports it. */
  aptFetch: string[];
  /** obox's `=> built …` summary line. */
  summaryLine?: string;
  loadavg1: number;
}

interface Builder {
  key: ToolKey;
  label: string;
  /** Makes the next build cold; returns the untimed set-up times. */
  prepare(round: number): Promise<{ importMs?: number }>;
  argv(): [string, string[]];
  env: NodeJS.ProcessEnv;
  steps(lines: RunResult['lines']): StepTiming[];
  /** Runs the built image once; returns what it printed. */
  verify(): Promise<string>;
  /** Once, after the first build: reference measurements that explain the builder's time. */
  probe?(): Promise<CommitProbe | undefined>;
  /** After the run (and the verification): drop what is not needed any more. */
  after(): Promise<void>;
}

/**
 * What committing obox's biggest new layer (the apt step's upper dir) costs with standard tools,
 * to compare with the step's time after apt-get finished: obox tars the upper dir, gzips it
 * (level 6) and digests both streams.
 */
interface CommitProbe {
  layerDir: string;
  bytes: number;
  files: number;
  /** Pipeline → wall ms. */
  ms: Record<string, number>;
}

interface Ctx {
  scratch: string;
  rootfs: string;
  dockerd: Dockerd | undefined;
  podman: Podman | undefined;
  /** buildah's base image id (kept between runs). */
  buildahBase: string | undefined;
  setup: Record<string, number>;
}

function dockerEnv(d: Dockerd, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...d.env, ...extra };
  delete e.DOCKER_CONTEXT;
  delete e.DOCKER_TLS_VERIFY;
  delete e.DOCKER_CERT_PATH;
  return e;
}

async function dockerRunImage(d: Dockerd, image: string): Promise<string> {
  const r = await d.dockerOk(['run', '--rm', '--network', 'none', image], { timeoutMs: 120_000 });
  return r.stdout.trim();
}

async function dockerLoadRun(d: Dockerd, archive: string, image: string): Promise<string> {
  await d.dockerOk(['load', '-i', archive], { timeoutMs: 300_000 });
  try {
    return await dockerRunImage(d, image);
  } finally {
    await d.docker(['rmi', '-f', image]);
    rmSync(archive, { force: true });
  }
}

const LAYER_DIRS = ['layers-v1', 'sha256'];

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

async function probeCommit(store: string, baseLayers: ReadonlySet<string>): Promise<CommitProbe | undefined> {
  const root = path.join(store, ...LAYER_DIRS);
  let best: { dir: string; bytes: number } | undefined;
  for (const d of listDirs(root).filter((x) => !baseLayers.has(x))) {
    const bytes = Number(sh('du', ['-sb', path.join(root, d)]).split('\t')[0]);
    if (!best || bytes > best.bytes) best = { dir: path.join(root, d), bytes };
  }
  if (!best) return undefined;
  const files = Number(sh('sh', ['-c', 'find "$1" | wc -l', 'sh', best.dir]).trim());
  const pipelines: Record<string, string> = {
    'tar | sha256sum (diffID only)': 'tar -C "$1" -cf - . | sha256sum >/dev/null',
    'tar | gzip -6 | sha256sum (what obox does, one digest fewer)': 'tar -C "$1" -cf - . | gzip -6 | sha256sum >/dev/null',
    'tar | gzip -1 | sha256sum': 'tar -C "$1" -cf - . | gzip -1 | sha256sum >/dev/null',
    'tar | zstd -3 -T0 | sha256sum': 'tar -C "$1" -cf - . | zstd -q -3 -T0 | sha256sum >/dev/null',
  };
  const ms: Record<string, number> = {};
  for (const [name, cmd] of Object.entries(pipelines)) {
    if (cmd.includes('zstd') && !hasTool('zstd')) continue;
    syncAll();
    const r = await run('bash', ['-c', `set -o pipefail; ${cmd}`, 'bash', best.dir], { allowFail: true });
    if (r.code === 0) ms[name] = r.ms;
  }
  return { layerDir: path.relative(store, best.dir), bytes: best.bytes, files, ms };
}

function oboxBuilder(ctx: Ctx): Builder {
  const image = 'cold-build-obox:latest';
  let store = '';
  let baseLayers = new Set<string>();
  return {
    key: 'obox',
    label: '`obox build`',
    env: process.env,
    prepare: async (round) => {
      store = path.join(ctx.scratch, `obox-store-${round}`);
      const [f, a] = oboxArgv(store, ['import', ctx.rootfs, '-t', BASE]);
      const r = await run(f, a);
      baseLayers = new Set(listDirs(path.join(store, ...LAYER_DIRS)));
      return { importMs: r.ms };
    },
    argv: () => oboxArgv(store, ['build', '--progress', 'plain', '-f', CONTAINERFILE, '-t', image, WORKLOAD]),
    steps: stepsFromPlainProgress,
    verify: async () => {
      if (!ctx.dockerd) throw new Error('verification needs dockerd');
      const archive = path.join(ctx.scratch, 'obox-image.tar');
      const [f, a] = oboxArgv(store, ['save', '-o', archive, image]);
      await run(f, a);
      return dockerLoadRun(ctx.dockerd, archive, image);
    },
    probe: () => probeCommit(store, baseLayers),
    after: async () => {
      const left = unmountUnderSync(store);
      if (left.length > 0) throw new Error(`mounts left under the obox store: ${left.join(', ')}`);
      rmSync(store, { recursive: true, force: true });
    },
  };
}

function buildkitBuilder(ctx: Ctx, d: Dockerd): Builder {
  const image = 'cold-build-buildkit:latest';
  return {
    key: 'buildkit',
    label: 'BuildKit (`DOCKER_BUILDKIT=1 docker build`)',
    env: dockerEnv(d, { DOCKER_BUILDKIT: '1' }),
    prepare: async () => {
      await d.docker(['rmi', '-f', image]);
      await d.dockerOk(['builder', 'prune', '-af'], { timeoutMs: 300_000 });
      const left = (await d.dockerOk(['image', 'ls', '-q', image])).stdout.trim();
      if (left !== '') throw new Error(`${image} still present after rmi`);
      return {};
    },
    argv: () => [DOCKER_CLI, ['build', '--network', 'host', '--progress', 'plain', '-f', CONTAINERFILE, '-t', image, WORKLOAD]],
    steps: stepsFromPlainProgress,
    verify: () => dockerRunImage(d, image),
    after: async () => undefined,
  };
}

function buildahGlobal(p: Podman): string[] {
  const root = path.join(p.dir, 'root');
  return ['--root', root, '--runroot', path.join(p.dir, 'run'), '--storage-driver', 'overlay', '--cgroup-manager', 'cgroupfs'];
}

function buildahEnv(p: Podman): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...p.env, TMPDIR: path.join(p.dir, 'tmp') };
  delete e.CONTAINER_HOST;
  delete e.CONTAINER_CONNECTION;
  return e;
}

async function buildah(p: Podman, args: string[], opts: { allowFail?: boolean } = {}): Promise<RunResult> {
  return run('buildah', [...buildahGlobal(p), ...args], { env: buildahEnv(p), timeoutMs: 300_000, ...opts });
}

/** Removes every working container and every image but the base: nothing left to reuse. */
async function buildahCold(ctx: Ctx, p: Podman): Promise<void> {
  await buildah(p, ['rm', '--all']);
  const ids = (await buildah(p, ['images', '-a', '-q', '--no-trunc'])).stdout
    .split('\n')
    .map((s) => s.trim().replace(/^sha256:/, ''))
    .filter((s) => s !== '' && s !== ctx.buildahBase);
  if (ids.length > 0) await buildah(p, ['rmi', '-f', ...ids]);
  const left = (await buildah(p, ['images', '-a', '-q', '--no-trunc'])).stdout.split('\n').filter((s) => s.trim() !== '');
  if (left.length !== 1) throw new Error(`buildah storage should hold only the base image, holds: ${left.join(', ')}`);
}

function buildahBuilder(ctx: Ctx, p: Podman, layers: boolean): Builder {
  const image = layers ? 'cold-build-buildah:latest' : 'cold-build-buildah-nolayers:latest';
  return {
    key: layers ? 'buildah' : 'buildah-nolayers',
    label: layers ? '`buildah bud --layers`' : '`buildah bud --layers=false`',
    env: buildahEnv(p),
    prepare: async () => {
      await buildahCold(ctx, p);
      return {};
    },
    argv: () => [
      'buildah',
      [
        ...buildahGlobal(p),
        'bud',
        `--layers=${layers}`,
        '--network',
        'host',
        '--isolation',
        'oci',
        '--runtime',
        'runc',
        '-f',
        CONTAINERFILE,
        '-t',
        image,
        WORKLOAD,
      ],
    ],
    steps: stepsFromBuildah,
    verify: async () => {
      if (!ctx.dockerd) throw new Error('verification needs dockerd');
      const archive = path.join(ctx.scratch, 'buildah-image.tar');
      await buildah(p, ['push', image, `docker-archive:${archive}:${image}`]);
      return dockerLoadRun(ctx.dockerd, archive, image);
    },
    after: async () => undefined,
  };
}

// ---------------------------------------------------------------------------------------------

const APT_FETCH = /^(?:#\d+ \d+(?:\.\d+)? )?(Fetched .* in \S+ \(.*\))\s*$/;

async function measure(b: Builder, round: number, warmup: boolean): Promise<RunRecord> {
  const t0 = performance.now();
  const { importMs } = await b.prepare(round);
  syncAll();
  const prepareMs = performance.now() - t0 - (importMs ?? 0);
  const loadavg1 = os.loadavg()[0] ?? 0;
  const [file, args] = b.argv();
  const r = await run(file, args, { env: b.env, timeoutMs: 20 * 60_000 });
  const steps = b.steps(r.lines);
  const cached = steps.filter((s) => s.cached);
  if (cached.length > 0) throw new Error(`${b.label}: not a cold build, cache hits in ${cached.map((s) => s.label).join('; ')}`);
  if (steps.length === 0) throw new Error(`${b.label}: no steps found in its progress output\n${r.stderr.slice(-2000)}`);
  const aptFetch = r.lines.map((l) => APT_FETCH.exec(l.text)?.[1]).filter((x): x is string => x !== undefined);
  const summaryLine = r.lines.find((l) => l.text.startsWith('=> built '))?.text;
  return {
    tool: b.key,
    round,
    warmup,
    ms: r.ms,
    ...(importMs !== undefined ? { importMs } : {}),
    prepareMs,
    steps,
    aptFetch,
    ...(summaryLine ? { summaryLine } : {}),
    loadavg1: Math.round(loadavg1 * 100) / 100,
  };
}

// ---------------------------------------------------------------------------------------------
// Where the time goes: each step put in one bucket, by its instruction.

const PHASES = ['setup', 'aptCmd', 'aptRest', 'copy', 'compile', 'final', 'export', 'outside'] as const;
type Phase = (typeof PHASES)[number];
const PHASE_LABELS: Record<Phase, string> = {
  setup: 'FROM / context / definition',
  aptCmd: 'apt RUN: command',
  aptRest: 'apt RUN: rest of step',
  copy: 'WORKDIR + COPY src',
  compile: 'compile RUN',
  final: 'final stage steps',
  export: 'image export / commit',
  outside: 'outside any step',
};

function phaseOf(label: string): Exclude<Phase, 'aptCmd' | 'aptRest' | 'outside'> | 'apt' | 'other' {
  if (/apt-get/.test(label)) return 'apt';
  if (/\bgcc\b/.test(label)) return 'compile';
  if (/COPY --from|ENTRYPOINT|CMD\b/.test(label)) return 'final';
  if (/\b(WORKDIR|COPY)\b/.test(label)) return 'copy';
  if (/exporting to image|\bCOMMIT\b/.test(label)) return 'export';
  if (/\[internal\]|\bFROM\b/.test(label)) return 'setup';
  return 'other';
}

function phases(rec: RunRecord): Record<Phase, number> {
  const out = Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>;
  let inSteps = 0;
  for (const s of rec.steps) {
    inSteps += s.seconds;
    const p = phaseOf(s.label);
    if (p === 'apt') {
      const cmd = Math.min(s.lastOutputSeconds ?? s.seconds, s.seconds);
      out.aptCmd += cmd;
      out.aptRest += s.seconds - cmd;
    } else if (p === 'other') {
      out.setup += s.seconds;
    } else {
      out[p] += s.seconds;
    }
  }
  out.outside = rec.ms / 1000 - inSteps;
  return out;
}

// ---------------------------------------------------------------------------------------------

const sec = (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : '–');
const ratio = (a: number, b: number | undefined): string => (b !== undefined && Number.isFinite(a) && b > 0 ? `${(a / b).toFixed(2)}×` : '–');

function mirrorOf(rootfs: string): string {
  for (const f of ['./etc/apt/sources.list.d/0000debian.sources', './etc/apt/sources.list']) {
    try {
      const text = sh('tar', ['-xOf', rootfs, f]);
      const uris = [...text.matchAll(/^(?:URIs:\s*(\S+)|deb\s+(?:\[[^\]]*\]\s+)?(\S+))/gm)].map((m) => m[1] ?? m[2]);
      if (uris.length > 0) return [...new Set(uris)].join(', ');
    } catch {
      // not in this tarball
    }
  }
  return 'unknown';
}

/** `53.6 MB in 0s at 171–292 MB/s (12 runs)`: apt's last `Fetched` line of each run, condensed. */
function aptFetchSummary(records: readonly RunRecord[]): string {
  const lines = records.map((r) => r.aptFetch.at(-1)).filter((x): x is string => x !== undefined);
  if (lines.length === 0) return 'none found';
  const parsed = lines.map((l) => /^Fetched (.+?) in (\S+) \(([\d.,]+) ?(\S+)\)$/.exec(l));
  if (parsed.some((m) => !m)) return [...new Set(lines)].join('; ');
  const ms = parsed as RegExpExecArray[];
  const uniq = (i: number): string => [...new Set(ms.map((m) => m[i]!))].join('/');
  const rates = ms.map((m) => Number(m[3]!.replace(/,/g, '')));
  const rate = new Set(ms.map((m) => m[4])).size > 1 ? uniq(3) : `${Math.min(...rates)}–${Math.max(...rates)}`;
  return `${uniq(1)} in ${uniq(2)} at ${rate} ${uniq(4)} (${lines.length} run${lines.length === 1 ? '' : 's'})`;
}

async function main(): Promise<void> {
  if (!isRoot()) throw new Error('the cold-build benchmark needs root (overlayfs, runc, dockerd)');
  const notes: string[] = [];
  const distWarning = checkDist();
  if (distWarning) notes.push(distWarning);
  const missing = (
    [
      ['buildah', ['buildah', 'podman', 'runc']],
      ['buildah-nolayers', ['buildah', 'podman', 'runc']],
      ['obox', ['runc']],
    ] as Array<[ToolKey, string[]]>
  ).filter(([k, need]) => tools.includes(k) && need.some((t) => !hasTool(t)));
  for (const [k, need] of missing) {
    notes.push(`${k} skipped: missing ${need.filter((t) => !hasTool(t)).join(', ')}`);
    tools.splice(tools.indexOf(k), 1);
  }
  if (!hasTool('mmdebstrap')) throw new Error('mmdebstrap is needed for the Debian minbase base image');
  const noDocker = DOCKERD_TOOLS.filter((t) => !hasTool(t));
  if (noDocker.length > 0) throw new Error(`missing ${noDocker.join(', ')}: dockerd runs BuildKit and the check of every tool's image`);
  const load = loadWarning();
  if (load) notes.push(load);
  const machine = machineInfo({
    obox: [process.execPath, [OBOX_BIN, '--version']],
    dockerd: ['dockerd', ['--version']],
    'docker client': [DOCKER_CLI, ['--version']],
    buildah: ['buildah', ['--version']],
    podman: ['podman', ['--version']],
    runc: ['runc', ['--version']],
    mmdebstrap: ['mmdebstrap', ['--version']],
  });

  const tmp = benchTempDir('cold');
  const ctx: Ctx = { scratch: tmp.dir, rootfs: path.join(tmp.dir, 'debian.tar'), dockerd: undefined, podman: undefined, buildahBase: undefined, setup: {} };
  const records: RunRecord[] = [];
  const verified: Partial<Record<ToolKey, string>> = {};
  const failed: Partial<Record<ToolKey, string>> = {};
  const probes: Partial<Record<ToolKey, CommitProbe | undefined>> = {};
  let mirror: string | undefined;
  let rootfsBytes: number | undefined;
  try {
    process.stderr.write('cold bench: Debian bookworm minbase rootfs (mmdebstrap, cached per day) …\n');
    let t = performance.now();
    sh('bash', [path.join(repoRoot, 'native-scripts', 'make-rootfs-debian.sh'), ctx.rootfs]);
    ctx.setup['rootfs tarball'] = performance.now() - t;
    rootfsBytes = statSync(ctx.rootfs).size;
    mirror = mirrorOf(ctx.rootfs);

    // dockerd is needed for BuildKit and for verifying every tool's image.
    process.stderr.write('cold bench: private dockerd, docker import …\n');
    ctx.dockerd = await startDockerd();
    ctx.setup['dockerd start'] = ctx.dockerd.startMs;
    t = performance.now();
    await ctx.dockerd.importRootfs(ctx.rootfs, BASE);
    ctx.setup['docker import'] = performance.now() - t;
    if (tools.includes('buildah') || tools.includes('buildah-nolayers')) {
      process.stderr.write('cold bench: private containers/storage, podman import …\n');
      ctx.podman = createPodman({ storageDriver: 'overlay', runtime: 'runc' });
      t = performance.now();
      ctx.buildahBase = (await ctx.podman.importRootfs(ctx.rootfs, BASE)).replace(/^sha256:/, '');
      ctx.setup['podman import'] = performance.now() - t;
    }

    const builders: Builder[] = tools.map((k) => {
      switch (k) {
        case 'obox':
          return oboxBuilder(ctx);
        case 'buildkit':
          return buildkitBuilder(ctx, ctx.dockerd!);
        case 'buildah':
          return buildahBuilder(ctx, ctx.podman!, true);
        case 'buildah-nolayers':
          return buildahBuilder(ctx, ctx.podman!, false);
      }
    });

    const rounds = warmups + runs;
    for (let round = 0; round < rounds; round++) {
      const warmup = round < warmups;
      for (const b of builders) {
        if (failed[b.key]) continue;
        process.stderr.write(`cold bench: ${warmup ? `warm-up ${round + 1}/${warmups}` : `run ${round - warmups + 1}/${runs}`}: ${b.label} …`);
        try {
          const rec = await measure(b, round, warmup);
          records.push(rec);
          process.stderr.write(` ${sec(rec.ms)} s${rec.importMs !== undefined ? ` (+ import ${sec(rec.importMs)} s, not counted)` : ''}\n`);
          if (verified[b.key] === undefined) {
            const out = await b.verify();
            verified[b.key] = out;
            if (!out.split('\n').includes(EXPECTED)) throw new Error(`${b.label}: the image printed ${JSON.stringify(out)}, expected ${JSON.stringify(EXPECTED)}`);
            if (b.probe) {
              process.stderr.write(`cold bench: ${b.key}: timing standard tools on its biggest new layer …\n`);
              probes[b.key] = await b.probe();
            }
          }
          await b.after();
        } catch (e) {
          process.stderr.write(' failed\n');
          const msg = e instanceof Error ? e.message : String(e);
          failed[b.key] = msg.split('\n').slice(0, 30).join('\n');
          process.stderr.write(`cold bench: ${b.label} failed, dropped from the remaining rounds:\n${failed[b.key]}\n`);
          await b.after().catch(() => undefined);
        }
      }
    }
  } finally {
    await ctx.podman?.stop();
    await ctx.dockerd?.stop();
    tmp.cleanup();
  }
  const endLoad = loadWarning();
  if (endLoad && endLoad !== load) notes.push(`at the end: ${endLoad}`);

  // ---- report
  const measured = records.filter((r) => !r.warmup);
  const stats = new Map<ToolKey, Summary>();
  for (const k of tools) {
    const xs = measured.filter((r) => r.tool === k).map((r) => r.ms);
    if (xs.length > 0) stats.set(k, summarize(xs));
  }
  const bk = stats.get('buildkit')?.median;
  const bh = stats.get('buildah')?.median;
  const labelOf: Record<ToolKey, string> = {
    obox: '`obox build`',
    buildkit: 'BuildKit (dockerd 20.10)',
    buildah: '`buildah bud --layers`',
    'buildah-nolayers': '`buildah bud --layers=false`',
  };
  const rows = tools
    .filter((k) => stats.has(k))
    .map((k) => {
      const s = stats.get(k)!;
      return [
        labelOf[k],
        sec(s.median),
        sec(s.min),
        sec(s.max),
        `${(s.max / s.min).toFixed(2)}${s.noisy ? ' ⚠' : ''}`,
        ratio(s.median, bk),
        ratio(s.median, bh),
      ];
    });
  let report = `## Cold multi-stage build over Debian minbase (apt install gcc + compile)${quick ? ' (--quick)' : ''}\n\n${machineLine(machine)}\n\n`;
  report +=
    `${runs} run${runs > 1 ? 's' : ''} per tool after ${warmups} warm-up round${warmups === 1 ? '' : 's'}, tools alternating ` +
    `(${tools.join(' → ')} per round); no build cache, warm page cache; apt downloads from ${mirror ?? 'the base image sources'}.\n\n`;
  report += markdownTable(['tool', 'median s', 'min s', 'max s', 'max/min', '× BuildKit', '× buildah --layers'], rows);

  const obox = stats.get('obox');
  if (obox && bk !== undefined) {
    report += `\nTarget: obox ≤ BuildKit on a cold build — ${(obox.median / bk).toFixed(2)}× BuildKit's median: ${obox.median <= bk ? 'met' : 'not met'}.\n`;
  }

  // Step breakdown: median per phase over the measured runs.
  const phaseRows = tools
    .filter((k) => stats.has(k))
    .map((k) => {
      const ps = measured.filter((r) => r.tool === k).map(phases);
      const med = (p: Phase): number => summarize(ps.map((x) => x[p])).median;
      return [labelOf[k], sec(stats.get(k)!.median), ...PHASES.map((p) => med(p).toFixed(2))];
    });
  report += `\n### Where the time goes (median seconds per phase, from each builder's progress output)\n\n`;
  report += markdownTable(['tool', 'wall', ...PHASES.map((p) => PHASE_LABELS[p])], phaseRows);
  report +=
    '\n"apt RUN: command" ends at the step\'s last output line (apt-get finishing); "rest of step" is the builder\'s ' +
    'own work after it: obox diffs, tars, gzips and digests the upper dir into a stored layer; BuildKit commits an overlay ' +
    'snapshot (no tar); buildah --layers tars the diff into a new storage layer. "outside any step": process start-up, ' +
    'planning, writing the image (obox), client/daemon round trips (BuildKit; its parallel internal steps can make this negative).\n';

  const oboxRuns = measured.filter((r) => r.tool === 'obox');
  report += `\nSet-up, not in the table: ${((rootfsBytes ?? 0) / 1e6).toFixed(0)} MB rootfs tarball; `;
  if (oboxRuns.length > 0) {
    report += `\`obox import\` into each fresh store ${sec(summarize(oboxRuns.map((r) => r.importMs ?? Number.NaN)).median)} s median; `;
  }
  report += `once: ${Object.entries(ctx.setup)
    .map(([k, v]) => `${k} ${sec(v)} s`)
    .join(', ')}.\n`;
  const lastSummary = oboxRuns.at(-1)?.summaryLine;
  if (lastSummary) report += `obox's own summary (last run): \`${lastSummary}\`\n`;
  const probe = probes.obox;
  if (probe) {
    const aptRest = summarize(oboxRuns.map((r) => phases(r).aptRest)).median;
    report +=
      `\nobox's apt step after apt-get finished: ${aptRest.toFixed(2)} s median. The same upper dir ` +
      `(${(probe.bytes / 1e6).toFixed(0)} MB, ${probe.files} entries) through standard tools, once: ` +
      `${Object.entries(probe.ms)
        .map(([k, v]) => `${k} ${sec(v)} s`)
        .join('; ')}.\n`;
  }
  report += `apt's own figure for the package download (apt-get install), measured runs: ${aptFetchSummary(measured)}\n`;
  const loads = measured.map((r) => r.loadavg1);
  if (loads.length > 0) {
    report += `1-min load average when each measured run started: ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} (the builds themselves keep the ${os.availableParallelism()} cores busy; much above that means other work ran alongside).\n`;
  }
  report += `\nVerified once per tool (docker run of the result, expecting \`${EXPECTED}\`): ${
    tools.map((k) => `${k} ${verified[k] !== undefined && verified[k]!.split('\n').includes(EXPECTED) ? 'ok' : 'NOT verified'}`).join(', ')
  }.\n`;
  report += `⚠ = max/min > ${NOISE_LIMIT} across runs. Times: wall clock, spawn to exit of each CLI, after a \`sync\`.\n`;
  for (const [k, msg] of Object.entries(failed)) report += `\n**${k} failed:**\n\n\`\`\`\n${msg}\n\`\`\`\n`;
  for (const n of notes) report += `note: ${n}\n`;
  process.stdout.write(report);

  const json = {
    bench: 'cold-build',
    quick,
    options: { runs, warmups, tools },
    machine,
    notes,
    workload: {
      dir: path.relative(repoRoot, WORKLOAD),
      containerfile: readFileSync(CONTAINERFILE, 'utf8'),
      base: BASE,
      rootfsBytes,
      aptMirror: mirror,
      expectedOutput: EXPECTED,
    },
    method:
      'per round every tool once in a fixed order; before each run: cold state (obox fresh store + import, BuildKit rmi + builder prune -af, buildah rmi of all but the base), then sync; time = wall clock spawn→exit of the CLI',
    setupMs: ctx.setup,
    verified,
    failed,
    commitProbe: probes,
    summary: Object.fromEntries(
      [...stats].map(([k, s]) => [k, { ...s, ratioVsBuildkit: bk ? s.median / bk : null, ratioVsBuildah: bh ? s.median / bh : null }]),
    ),
    phases: Object.fromEntries(tools.map((k) => [k, measured.filter((r) => r.tool === k).map(phases)])),
    runs: records,
  };
  const dir = path.join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'cold-build-latest.json');
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  process.stderr.write(`cold bench: wrote ${path.relative(process.cwd(), file) || file}\n`);
  // A tool that cannot run here is reported above; only obox itself failing fails the benchmark.
  if (failed.obox !== undefined || stats.size === 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`cold bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
