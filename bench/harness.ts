/**
 * The benchmark harness: obox beside BuildKit and buildah on the same machine, the same workloads,
 * one run, ratios. It reports; it never fails on timing.
 *
 *   npm run bench                                  every workload, full counts
 *   npm run bench -- --workload NAME --quick       one workload, few runs (validation)
 *   npm run bench -- --help                        every option (bench/lib/args.ts)
 *
 * Peers, each with private storage, started here and removed at the end or on Ctrl-C
 * (bench/lib/tools.ts): a private dockerd 20.10 for BuildKit (also runs every tool's image to check
 * it), private containers/storage for buildah (and podman, for import and save). Bases: the busybox
 * rootfs (native-scripts/make-rootfs-busybox.sh) and Debian bookworm minbase
 * (native-scripts/make-rootfs-debian.sh, cached per day), imported into each tool from the same
 * tarball (obox import, docker import, podman import). Workloads: bench/lib/workloads.ts and
 * bench/workloads/NAME/Containerfile.
 *
 * Per workload, in order, every phase alternating tools run by run (A B C A B C …):
 *  1. cold: before each build every cache is emptied (obox: a fresh store + import, not timed;
 *     BuildKit: every image but the bases removed + `docker builder prune -af`; buildah: every
 *     image but the bases removed); a RUN/COPY/ADD step answered from a cache makes it an error.
 *     Warm-up builds first (not in the statistics). The image of each tool's first build is run
 *     with docker and must print the workload's line. Storage size before/after each build.
 *  2. noop: the same build again, nothing changed; the progress output says how many steps came
 *     from the cache.
 *  3. onefile: a line appended to one context file (new content every time), then the build.
 *  4. ontop (big-layer): the same one-file rebuild with the big layer under it at 10 MiB and at
 *     500 MiB (--build-arg MB), alternating, to show whether committing the step on top depends on
 *     what lies under it.
 *  5. export: the last image saved as a docker-archive and as an OCI archive (obox save, docker
 *     save, podman save), output deleted and `sync` before each run.
 *  Then each tool's last image is run again and must print the line for the context as last built.
 * Each measured command: `sync` first (not timed), wall time from spawn to exit, peak memory of
 * its process tree (bench/lib/mem.ts; BuildKit: with dockerd's tree).
 *
 * Output: a markdown report on stdout (bench/lib/report.ts), bench/results/latest.json (machine,
 * tool versions, options, every run).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { repoRoot } from '../test/helpers/cli.js';
import { DOCKER_CLI, startDockerd, type Dockerd } from '../test/helpers/dockerd.js';
import { createPodman, type Podman } from '../test/helpers/podman.js';
import { hasTool, isRoot } from '../test/helpers/requirements.js';
import { archiveLayers } from './lib/archive.js';
import { parseHarnessArgs, runCounts, USAGE, UsageError, type HarnessArgs, type Phase, type RunCounts, type ToolKey } from './lib/args.js';
import { cacheCount, isWorkStep, type StepTiming } from './lib/build-steps.js';
import { busyboxTar } from './lib/gen.js';
import { loadWarning, machineInfo } from './lib/machine.js';
import { TreeSampler } from './lib/mem.js';
import { checkDist, OBOX_BIN } from './lib/obox.js';
import { run, sh, syncAll, type RunResult } from './lib/proc.js';
import { renderReport, verdicts, type ExportFormat, type ExportInfo, type ReportInput, type ResultsFile, type RunRecord, type Verification } from './lib/report.js';
import { benchTempDir } from './lib/tmp.js';
import { buildahTool, buildkitTool, oboxTool, type BuildSpec, type Tool } from './lib/tools.js';
import { BASE_IMAGES, makeContext, touch, WORKLOAD_DIR, WORKLOADS, type BaseKey, type Workload } from './lib/workloads.js';

/** Debian package of each command the harness runs. */
const APT_PACKAGE: Record<string, string> = {
  dockerd: 'docker.io',
  [DOCKER_CLI]: 'docker.io',
  containerd: 'containerd',
  runc: 'runc',
  buildah: 'buildah',
  podman: 'podman',
  mmdebstrap: 'mmdebstrap',
  '/bin/busybox': 'busybox-static',
  du: 'coreutils',
  tar: 'tar',
};

function missingMessage(cmds: readonly string[]): string {
  const pkgs = [...new Set(cmds.map((c) => APT_PACKAGE[c] ?? c))];
  return `missing ${cmds.join(', ')}: apt-get install ${pkgs.join(' ')} (native-scripts/install-deps.sh installs everything the benchmarks need)`;
}

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

/**
 * Bytes on disk under DIR (one file system; 0 when it does not exist). A file vanishing while du
 * walks (a daemon's temp file) makes du exit 1 but still print the total: that total is used.
 */
function diskUsage(dir: string): number | undefined {
  try {
    statSync(dir);
  } catch {
    return 0;
  }
  const r = spawnSync('du', ['-sx', '--block-size=1', dir], { encoding: 'utf8', timeout: 600_000 });
  const n = Number(r.stdout?.split('\t')[0]);
  return r.stdout && Number.isFinite(n) ? n : undefined;
}

function fileSize(p: string): number | undefined {
  try {
    return statSync(p).size;
  } catch {
    return undefined;
  }
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

const TOP_STEP = /^(?:#\d+ \[[^\]]*\] |(?:\[\d+\/\d+\] )?STEP \d+\/\d+: )COPY\b/;

/**
 * The step that copies TOUCHED and everything after it (the commit, writing the image), in ms. obox
 * and buildah print progress as it happens: from the step's header line to the exit. BuildKit's
 * client prints in batches, so its lines arrive late: its own reported durations (0.1 s steps) of
 * that step and every later one (`exporting to image`) instead.
 */
function stepOnTopMs(t: Tool, m: Measured & { steps: StepTiming[] }, touched: string): number | undefined {
  if (t.progressClock === 'reported') {
    const i = m.steps.findIndex((s) => /\bCOPY\b/.test(s.label) && s.label.includes(touched));
    return i < 0 ? undefined : Math.round(m.steps.slice(i).reduce((a, s) => a + s.seconds, 0) * 1000);
  }
  const header = m.r.lines.find((l) => TOP_STEP.test(l.text) && l.text.includes(touched));
  return header ? Math.round((m.r.ms - header.t) * 10) / 10 : undefined;
}

/** The RUN/COPY/ADD steps that ran, when others came from the cache (at most 10, labels cut short). */
function missedSteps(steps: readonly StepTiming[]): { missed?: string[] } {
  const work = steps.filter((s) => isWorkStep(s.label));
  const missed = work.filter((s) => s.cached !== true);
  if (missed.length === 0 || missed.length === work.length) return {};
  return { missed: missed.slice(0, 10).map((s) => s.label.slice(0, 80)) };
}

interface Harness {
  args: HarnessArgs;
  scratch: string;
  tools: Tool[];
  baseTars: Partial<Record<BaseKey, string>>;
  records: RunRecord[];
  exports: ReportInput['exports'];
  verified: Record<string, Partial<Record<ToolKey, Verification[]>>>;
  failed: Record<string, Partial<Record<ToolKey, string>>>;
  notes: string[];
  counts: Record<string, RunCounts>;
}

interface Measured {
  r: RunResult;
  peakRssBytes: number;
  daemonRssBeforeBytes: number | undefined;
}

/**
 * Runs a measured command: `sync` (untimed), then the command with its process tree sampled. Peak
 * memory: the sampled tree's largest sum, or the largest single process's own peak (GNU time's
 * maxrss, or VmHWM sampling without it) when that is larger — a command shorter than the sampling
 * interval is seen only by the latter.
 */
async function measured(t: Tool, scratch: string, file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  syncAll();
  const sampler = new TreeSampler(t.daemonPids());
  let r: RunResult;
  try {
    r = await run(file, args, { env, timeoutMs: 40 * 60_000, rss: true, scratch, onSpawn: (pid) => sampler.start(pid) });
  } catch (e) {
    sampler.stop();
    throw e;
  }
  const mem = sampler.stop();
  return { r, peakRssBytes: Math.max(mem.peakBytes, r.peakRss ?? 0), daemonRssBeforeBytes: mem.extraBeforeBytes };
}

class WorkloadRun {
  private readonly ctx = new Map<ToolKey, string>();
  private readonly touches = new Map<ToolKey, number>();
  /** What each tool's last build of the main tag must print. */
  private readonly expected = new Map<ToolKey, string>();
  readonly counts: RunCounts;

  constructor(
    private readonly h: Harness,
    private readonly w: Workload,
  ) {
    this.counts = runCounts(h.args, w.coldRuns);
  }

  private active(): Tool[] {
    return this.h.tools.filter((t) => this.h.failed[this.w.name]?.[t.key] === undefined);
  }

  private fail(t: Tool, e: unknown): void {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n').slice(0, 40).join('\n');
    (this.h.failed[this.w.name] ??= {})[t.key] = msg;
    log(`${this.w.name}: ${t.label} failed, dropped from this workload:\n${msg}`);
  }

  private spec(t: Tool, buildArgs: Record<string, string>, tag = t.tag(`bench-${this.w.name}`)): BuildSpec {
    const context = this.ctx.get(t.key)!;
    return { context, containerfile: path.join(context, 'Containerfile'), tag, buildArgs };
  }

  private record(t: Tool, phase: Phase, round: number, warmup: boolean, m: Measured, extra: Partial<RunRecord> = {}): RunRecord {
    const rec: RunRecord = {
      workload: this.w.name,
      tool: t.key,
      phase,
      round,
      warmup,
      ms: Math.round(m.r.ms * 10) / 10,
      peakRssBytes: m.peakRssBytes,
      ...(m.daemonRssBeforeBytes !== undefined ? { daemonRssBeforeBytes: m.daemonRssBeforeBytes } : {}),
      loadavg1: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
      ...extra,
    };
    this.h.records.push(rec);
    return rec;
  }

  private async build(t: Tool, spec: BuildSpec): Promise<Measured & { steps: ReturnType<Tool['steps']> }> {
    const c = t.build(spec);
    const m = await measured(t, this.h.scratch, c.file, c.args, c.env);
    const steps = t.steps(m.r.lines);
    if (steps.length === 0) throw new Error(`${t.label}: no steps found in its progress output\n${m.r.stderr.slice(-2000)}`);
    return { ...m, steps };
  }

  private async verify(t: Tool, when: Verification['when']): Promise<void> {
    const expected = this.expected.get(t.key);
    if (expected === undefined) return;
    const output = await t.runImage(t.tag(`bench-${this.w.name}`), path.join(this.h.scratch, 'verify'));
    const ok = output.split('\n').includes(expected);
    ((this.h.verified[this.w.name] ??= {})[t.key] ??= []).push({ when, expected, output, ok });
    log(`${this.w.name}: ${t.label} image (${when}) printed ${JSON.stringify(output)}${ok ? '' : ` — expected ${JSON.stringify(expected)}`}`);
    if (!ok && when === 'cold') throw new Error(`${t.label}: the image printed ${JSON.stringify(output)}, expected ${JSON.stringify(expected)}`);
  }

  private progress(phase: string, i: number, warmups: number, runs: number, t: Tool): string {
    const what = i < warmups ? `warm-up ${i + 1}/${warmups}` : `run ${i - warmups + 1}/${runs}`;
    return `${this.w.name}: ${phase} ${what}: ${t.label}`;
  }

  async run(): Promise<void> {
    const { w, h } = this;
    const phases = h.args.phases;
    log(`${w.name}: ${w.summary}`);
    for (const t of h.tools) {
      const dir = path.join(h.scratch, 'ctx', w.name, t.key);
      makeContext(w, dir);
      this.ctx.set(t.key, dir);
      this.touches.set(t.key, 0);
    }
    const base = { tar: h.baseTars[w.base]!, name: BASE_IMAGES[w.base] };
    const c = this.counts;

    // 1. cold
    for (let i = 0; i < c.coldWarmups + c.coldRuns; i++) {
      for (const t of this.active()) {
        try {
          const { importMs } = await t.makeCold(base);
          const before = diskUsage(t.storeDir());
          const m = await this.build(t, this.spec(t, w.buildArgs));
          const cache = cacheCount(m.steps);
          if (cache.cached > 0) {
            const hits = m.steps.filter((s) => s.cached).map((s) => s.label);
            throw new Error(`${t.label}: not a cold build, cache hits in: ${hits.join('; ')}`);
          }
          const after = diskUsage(t.storeDir());
          const rec = this.record(t, 'cold', i, i < c.coldWarmups, m, {
            cache,
            ...(before !== undefined ? { storeBeforeBytes: before } : {}),
            ...(after !== undefined ? { storeAfterBytes: after } : {}),
            ...(importMs !== undefined ? { importMs: Math.round(importMs) } : {}),
            steps: m.steps.map((s) => [s.label.slice(0, 100), s.seconds, s.cached === true]),
          });
          log(`${this.progress('cold', i, c.coldWarmups, c.coldRuns, t)} ${secs(rec.ms)}${importMs !== undefined ? ` (+ import ${secs(importMs)}, not counted)` : ''}`);
          this.expected.set(t.key, w.expected(this.ctx.get(t.key)!, w.buildArgs));
          if (!h.verified[w.name]?.[t.key]?.length) await this.verify(t, 'cold');
        } catch (e) {
          this.fail(t, e);
        }
      }
    }

    // 2. no-op rebuild, 3. one-file rebuild
    for (const phase of ['noop', 'onefile'] as const) {
      if (!phases.includes(phase)) continue;
      for (let i = 0; i < c.warmups + c.runs; i++) {
        for (const t of this.active()) {
          try {
            if (phase === 'onefile') {
              const n = this.touches.get(t.key)! + 1;
              this.touches.set(t.key, n);
              touch(w, this.ctx.get(t.key)!, n);
            }
            const m = await this.build(t, this.spec(t, w.buildArgs));
            const cache = cacheCount(m.steps);
            const rec = this.record(t, phase, i, i < c.warmups, m, { cache, ...missedSteps(m.steps) });
            log(`${this.progress(phase, i, c.warmups, c.runs, t)} ${secs(rec.ms)}, ${cache.cached}/${cache.steps} steps cached`);
            this.expected.set(t.key, w.expected(this.ctx.get(t.key)!, w.buildArgs));
          } catch (e) {
            this.fail(t, e);
          }
        }
      }
    }

    // 4. the one-file step over a small vs a big layer
    if (w.onTop && phases.includes('ontop')) {
      const top = w.onTop;
      const argsFor = (size: 'small' | 'big'): Record<string, string> => ({ ...w.buildArgs, [top.arg]: top[size] });
      const tagFor = (t: Tool, size: 'small' | 'big'): string => (size === 'big' ? t.tag(`bench-${w.name}`) : t.tag(`bench-${w.name}-${top.small}`));
      for (const t of this.active()) {
        try {
          log(`${w.name}: ontop: ${t.label}: first build with ${top.arg}=${top.small} (set-up, not measured)`);
          await this.build(t, this.spec(t, argsFor('small'), tagFor(t, 'small')));
        } catch (e) {
          this.fail(t, e);
        }
      }
      for (let i = 0; i < c.warmups + c.runs; i++) {
        for (const t of this.active()) {
          try {
            for (const size of i % 2 === 0 ? (['small', 'big'] as const) : (['big', 'small'] as const)) {
              const n = this.touches.get(t.key)! + 1;
              this.touches.set(t.key, n);
              touch(w, this.ctx.get(t.key)!, n);
              const m = await this.build(t, this.spec(t, argsFor(size), tagFor(t, size)));
              const topStepMs = stepOnTopMs(t, m, w.touched);
              const rec = this.record(t, 'ontop', i, i < c.warmups, m, {
                variant: size,
                cache: cacheCount(m.steps),
                ...missedSteps(m.steps),
                ...(topStepMs !== undefined ? { topStepMs } : {}),
                ...(t.progressClock === 'reported' ? { topStepResolutionMs: 100 } : {}),
              });
              log(`${this.progress('ontop', i, c.warmups, c.runs, t)} over ${top.label(top[size])}: ${secs(rec.ms)}, step on top ${topStepMs !== undefined ? secs(topStepMs) : 'not found'}`);
              if (size === 'big') this.expected.set(t.key, w.expected(this.ctx.get(t.key)!, argsFor('big')));
            }
          } catch (e) {
            this.fail(t, e);
          }
        }
      }
    }

    // 5. export
    if (phases.includes('export')) {
      const dir = path.join(h.scratch, 'export');
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < c.warmups + c.runs; i++) {
        for (const t of this.active()) {
          try {
            for (const x of t.exports(t.tag(`bench-${w.name}`), dir)) {
              rmSync(x.output, { force: true });
              const m = await measured(t, h.scratch, x.command.file, x.command.args, x.command.env);
              const bytes = fileSize(x.output);
              if (bytes === undefined) throw new Error(`${x.label} wrote no ${x.output}`);
              const rec = this.record(t, 'export', i, i < c.warmups, m, { variant: x.format, outputBytes: bytes });
              const info = ((h.exports[w.name] ??= {})[t.key] ??= {}) as Partial<Record<ExportFormat, ExportInfo>>;
              info[x.format] ??= { label: x.label, layers: archiveLayers(x.output, x.format) };
              log(`${this.progress(`export ${x.format}`, i, c.warmups, c.runs, t)} ${secs(rec.ms)}, ${(bytes / 1048576).toFixed(1)} MiB`);
              rmSync(x.output, { force: true });
            }
          } catch (e) {
            this.fail(t, e);
          }
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }

    // The last image, as last built, once more.
    if (phases.some((p) => p !== 'cold')) {
      for (const t of this.active()) {
        try {
          await this.verify(t, 'final');
        } catch (e) {
          this.fail(t, e);
        }
      }
    }
    for (const t of h.tools) {
      await t.clean().catch((e: unknown) => h.notes.push(`${w.name}: cleaning ${t.label} after the workload: ${String(e).split('\n')[0]}`));
      rmSync(this.ctx.get(t.key)!, { recursive: true, force: true });
    }
  }
}

// ---------------------------------------------------------------------------------------------

function gitDescribe(): string {
  try {
    const head = execFileSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown';
  }
}

const README_BEGIN = '<!-- bench:begin (npm run bench -- --readme writes this part) -->';
const README_END = '<!-- bench:end -->';

/** Puts the report between the README's bench markers (its Benchmarks section). */
function updateReadme(res: ResultsFile): void {
  const file = path.join(repoRoot, 'README.md');
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(README_BEGIN);
  const b = text.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${README_BEGIN} … ${README_END} markers`);
  writeFileSync(file, `${text.slice(0, a + README_BEGIN.length)}\n\n${renderReport(res, 3)}\n${text.slice(b)}`);
  log('wrote the report into README.md');
}

async function main(): Promise<void> {
  let args: HarnessArgs;
  try {
    args = parseHarnessArgs(process.argv.slice(2), WORKLOADS.map((w) => w.name));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bench: ${e.message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (args.from) {
    const res = JSON.parse(readFileSync(args.from, 'utf8')) as ResultsFile;
    if (res.bench !== 'harness' || res.schema !== 1) throw new Error(`${args.from} is not a results file of this harness`);
    process.stdout.write(renderReport(res));
    if (args.readme) updateReadme(res);
    return;
  }
  const t0 = performance.now();
  if (!isRoot()) throw new Error('the benchmark needs root (overlayfs, runc, dockerd, buildah)');
  const notes: string[] = [];
  const distWarning = checkDist();
  if (distWarning) notes.push(distWarning);
  const workloads = args.workloads.map((n) => WORKLOADS.find((w) => w.name === n)!);
  const bases = [...new Set(workloads.map((w) => w.base))];

  // Nothing is installed from here: say what is missing, and which package has it.
  const need = (cmds: string[]): string[] => cmds.filter((c) => !hasTool(c));
  const core = need(['dockerd', 'containerd', 'runc', DOCKER_CLI, 'du', 'tar', ...(bases.includes('debian') ? ['mmdebstrap'] : [])]);
  if (bases.includes('busybox') && !hasTool('/bin/busybox')) core.push('/bin/busybox');
  if (core.length > 0) throw new Error(`${missingMessage(core)}; dockerd runs BuildKit and checks every tool's image`);
  if (args.tools.includes('buildah')) {
    const m = need(['buildah', 'podman']);
    if (m.length > 0) {
      notes.push(`buildah skipped: ${missingMessage(m)}`);
      args.tools = args.tools.filter((t) => t !== 'buildah');
    }
  }
  const load = loadWarning();
  if (load) notes.push(`at the start: ${load}`);
  const machine = machineInfo({
    obox: [process.execPath, [OBOX_BIN, '--version']],
    dockerd: ['dockerd', ['--version']],
    'docker client': [DOCKER_CLI, ['--version']],
    containerd: ['containerd', ['--version']],
    buildah: ['buildah', ['--version']],
    podman: ['podman', ['--version']],
    runc: ['runc', ['--version']],
    mmdebstrap: ['mmdebstrap', ['--version']],
  });

  const tmp = benchTempDir('harness');
  let dockerd: Dockerd | undefined;
  let podman: Podman | undefined;
  const setupMs: Record<string, number> = {};
  const timed = async <T>(label: string, fn: () => Promise<T> | T): Promise<T> => {
    log(`${label} …`);
    const s = performance.now();
    const v = await fn();
    setupMs[label] = Math.round(performance.now() - s);
    return v;
  };
  const h: Harness = {
    args,
    scratch: tmp.dir,
    tools: [],
    baseTars: {},
    records: [],
    exports: {},
    verified: {},
    failed: {},
    notes,
    counts: {},
  };
  const dockerBaseIds = new Set<string>();
  const buildahBaseIds = new Set<string>();
  const baseBytes: Partial<Record<BaseKey, number>> = {};
  try {
    dockerd = await timed('start a private dockerd', () => startDockerd());
    if (args.tools.includes('buildah')) {
      podman = await timed('private containers/storage for buildah and podman', () => createPodman({ storageDriver: 'overlay', runtime: 'runc' }));
    }
    for (const b of bases) {
      const tar =
        b === 'busybox'
          ? await timed('busybox rootfs tarball', () => busyboxTar(tmp.dir))
          : await timed('Debian bookworm minbase rootfs (mmdebstrap, cached per day)', () => {
              const out = path.join(tmp.dir, 'debian-minbase.tar');
              sh('bash', [path.join(repoRoot, 'native-scripts', 'make-rootfs-debian.sh'), out]);
              return out;
            });
      h.baseTars[b] = tar;
      baseBytes[b] = fileSize(tar);
      const d = dockerd;
      dockerBaseIds.add((await timed(`docker import ${b}`, () => d.importRootfs(tar, BASE_IMAGES[b]))).replace(/^sha256:/, ''));
      if (podman) {
        const p = podman;
        buildahBaseIds.add((await timed(`podman import ${b}`, () => p.importRootfs(tar, BASE_IMAGES[b]))).replace(/^sha256:/, ''));
      }
    }
    for (const k of args.tools) {
      if (k === 'obox') h.tools.push(oboxTool(tmp.dir, dockerd));
      if (k === 'buildkit') h.tools.push(buildkitTool(dockerd, () => dockerBaseIds));
      if (k === 'buildah' && podman) h.tools.push(buildahTool(podman, dockerd, () => buildahBaseIds));
    }
    for (const w of workloads) {
      const wr = new WorkloadRun(h, w);
      h.counts[w.name] = wr.counts;
      await wr.run();
    }
  } finally {
    log('stopping dockerd and removing every store, context and temp dir …');
    await podman?.stop().catch((e: unknown) => notes.push(`stopping podman storage: ${String(e)}`));
    await dockerd?.stop().catch((e: unknown) => notes.push(`stopping dockerd: ${String(e)}`));
    tmp.cleanup();
  }
  const endLoad = loadWarning();
  if (endLoad) notes.push(`at the end: ${endLoad}`);
  const elapsedMs = performance.now() - t0;

  const input: ReportInput = {
    tools: args.tools,
    workloads: args.workloads,
    runs: h.records,
    exports: h.exports,
    onTop: Object.fromEntries(workloads.filter((w) => w.onTop).map((w) => [w.name, { small: w.onTop!.label(w.onTop!.small), big: w.onTop!.label(w.onTop!.big) }])),
  };
  const res: ResultsFile = {
    bench: 'harness',
    schema: 1,
    quick: args.quick,
    options: args,
    counts: h.counts,
    elapsedMs: Math.round(elapsedMs),
    machine,
    obox: { commit: gitDescribe(), distWarning: distWarning ?? null },
    notes,
    setupMs,
    tools: Object.fromEntries(h.tools.map((t) => [t.key, { label: t.label, build: t.buildLabel }])),
    workloads: Object.fromEntries(
      workloads.map((w) => [
        w.name,
        {
          summary: w.summary,
          base: BASE_IMAGES[w.base],
          touched: w.touched,
          buildArgs: w.buildArgs,
          containerfile: readFileSync(path.join(WORKLOAD_DIR, w.name, 'Containerfile'), 'utf8'),
        },
      ]),
    ),
    verified: h.verified,
    failed: h.failed,
    exports: h.exports,
    onTop: input.onTop,
    verdicts: verdicts(input),
    runs: h.records,
  };
  process.stdout.write(renderReport(res));
  const file = args.out ? path.resolve(args.out) : path.join(repoRoot, 'bench', 'results', 'latest.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(res, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), file) || file} after ${(elapsedMs / 60_000).toFixed(1)} min`);
  if (args.readme) updateReadme(res);
  // Timing never fails the run; obox failing to build does.
  if (Object.values(h.failed).some((f) => f.obox !== undefined) || h.records.length === 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
