/**
 * The harness's report, from its run records: one markdown table (every workload and measurement,
 * obox beside each peer with the obox/peer ratio), the one-file-step-over-a-small-vs-big-base
 * table, and the verdicts against the targets. Pure: no I/O, so it is tested on made-up records.
 */
import type { HarnessArgs, Phase, RunCounts, ToolKey } from './args.js';
import type { CacheCount } from './build-steps.js';
import { machineLine, type MachineInfo } from './machine.js';
import { fmtBytes, markdownTable, NOISE_RULE, summarize, type Summary } from './stats.js';

export type ExportFormat = 'docker' | 'oci';

export interface RunRecord {
  workload: string;
  tool: ToolKey;
  phase: Phase;
  /** export: the format; ontop: 'small' or 'big' (the base under the step). */
  variant?: string;
  round: number;
  warmup: boolean;
  /** Wall time, spawn to exit of the measured command. */
  ms: number;
  /** Peak summed RSS of the command's process tree (and the daemon's, for BuildKit). */
  peakRssBytes?: number;
  /** The daemon tree's RSS just before the command (BuildKit). */
  daemonRssBeforeBytes?: number;
  cache?: CacheCount;
  /** RUN/COPY/ADD steps that were not cache hits, when some were (no-op, one-file, on-top). */
  missed?: string[];
  /** ontop: from the header line of the step on top to exit. */
  topStepMs?: number;
  /** ontop: the step times' resolution when the builder reports them rounded (BuildKit: 100 ms). */
  topStepResolutionMs?: number;
  /** cold: the tool's storage before (cold state) and after the build, bytes on disk. */
  storeBeforeBytes?: number;
  storeAfterBytes?: number;
  /** cold, obox: the base import into the fresh store (not in ms). */
  importMs?: number;
  /** export: bytes written. */
  outputBytes?: number;
  loadavg1: number;
  /** cold: every step as the builder reported it: [label, seconds, cached]. */
  steps?: Array<[string, number, boolean]>;
}

export interface ExportInfo {
  /** The command, e.g. `podman save --format oci-archive`. */
  label: string;
  /** How the archive's layers are stored. */
  layers: 'gzip' | 'uncompressed' | 'mixed' | 'unknown';
}

export interface ReportInput {
  tools: readonly ToolKey[];
  workloads: readonly string[];
  runs: readonly RunRecord[];
  /** workload → tool → format → what was written. */
  exports: Record<string, Partial<Record<ToolKey, Partial<Record<ExportFormat, ExportInfo>>>>>;
  /** workload → its on-top variant labels (small, big), for the workloads that have one. */
  onTop: Record<string, { small: string; big: string }>;
}

export const TOOL_LABELS: Record<ToolKey, string> = { obox: 'obox', buildkit: 'BuildKit', buildah: 'buildah' };
const PEERS = ['buildkit', 'buildah'] as const;

// ---------------------------------------------------------------------------------------------
// Formatting.

export function fmtSeconds(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  const s = ms / 1000;
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
}

/** `1.23 s (1.10–1.40)`, ⚠ after the median when noisy; one run: just the time. */
export function fmtTime(s: Summary): string {
  if (s.n === 0) return '–';
  if (s.n === 1) return fmtSeconds(s.median);
  const num = (ms: number): string => fmtSeconds(ms).replace(/ s$/, '');
  return `${fmtSeconds(s.median)}${s.noisy ? ' ⚠' : ''} (${num(s.min)}–${num(s.max)})`;
}

/** obox/peer: `0.85×`, ⚠ when either side is noisy. */
export function fmtRatioOf(a: Summary | number | undefined, b: Summary | number | undefined): string {
  const va = typeof a === 'number' ? a : a?.median;
  const vb = typeof b === 'number' ? b : b?.median;
  if (va === undefined || vb === undefined || !Number.isFinite(va) || !Number.isFinite(vb) || vb <= 0) return '–';
  const noisy = (typeof a === 'object' && a.noisy) || (typeof b === 'object' && b.noisy);
  return `${(va / vb).toFixed(2)}×${noisy ? ' ⚠' : ''}`;
}

function fmtCache(cs: readonly CacheCount[]): string {
  if (cs.length === 0) return '';
  const cached = cs.map((c) => c.cached);
  const steps = Math.max(...cs.map((c) => c.steps));
  const lo = Math.min(...cached);
  const hi = Math.max(...cached);
  return `${lo === hi ? lo : `${lo}–${hi}`}/${steps} cached`;
}

// ---------------------------------------------------------------------------------------------
// Selecting runs.

export interface Selector {
  workload: string;
  tool: ToolKey;
  phase: Phase;
  variant?: string;
}

export function select(runs: readonly RunRecord[], q: Selector, warmup = false): RunRecord[] {
  return runs.filter(
    (r) => r.workload === q.workload && r.tool === q.tool && r.phase === q.phase && (q.variant === undefined || r.variant === q.variant) && r.warmup === warmup,
  );
}

export function timeSummary(runs: readonly RunRecord[], q: Selector, pick: (r: RunRecord) => number | undefined = (r) => r.ms): Summary {
  return summarize(
    select(runs, q)
      .map(pick)
      .filter((x): x is number => x !== undefined && Number.isFinite(x)),
  );
}

// ---------------------------------------------------------------------------------------------
// The main table.

interface Row {
  measure: string;
  cells: Partial<Record<ToolKey, string>>;
  /** Values whose obox/peer ratio the row shows. */
  values: Partial<Record<ToolKey, Summary | number>>;
}

function timeRow(input: ReportInput, w: string, measure: string, phase: Phase, variant?: string, withCache = false): Row {
  const row: Row = { measure, cells: {}, values: {} };
  for (const t of input.tools) {
    const q: Selector = { workload: w, tool: t, phase, ...(variant !== undefined ? { variant } : {}) };
    const s = timeSummary(input.runs, q);
    if (s.n === 0) continue;
    const cache = withCache ? fmtCache(select(input.runs, q).flatMap((r) => (r.cache ? [r.cache] : []))) : '';
    row.cells[t] = `${fmtTime(s)}${cache ? ` · ${cache}` : ''}`;
    row.values[t] = s;
  }
  return row;
}

function countOf(input: ReportInput, w: string, phase: Phase, variant?: string): string {
  const ns = input.tools.map((t) => select(input.runs, { workload: w, tool: t, phase, ...(variant !== undefined ? { variant } : {}) }).length).filter((n) => n > 0);
  if (ns.length === 0) return '';
  const lo = Math.min(...ns);
  const hi = Math.max(...ns);
  return lo === hi ? `${lo}` : `${lo}–${hi}`;
}

function workloadRows(input: ReportInput, w: string): Row[] {
  const rows: Row[] = [];
  const has = (phase: Phase): boolean => input.runs.some((r) => r.workload === w && r.phase === phase && !r.warmup);
  if (has('cold')) rows.push(timeRow(input, w, `cold build (${countOf(input, w, 'cold')})`, 'cold'));
  if (has('noop')) rows.push(timeRow(input, w, `no-op rebuild (${countOf(input, w, 'noop')})`, 'noop', undefined, true));
  if (has('onefile')) rows.push(timeRow(input, w, `one-file rebuild (${countOf(input, w, 'onefile')})`, 'onefile', undefined, true));
  if (has('export')) {
    for (const format of ['docker', 'oci'] as const) {
      const name = format === 'docker' ? 'docker-archive' : 'OCI archive';
      const first: Row = { measure: `save ${name}: first save`, cells: {}, values: {} };
      const size: Row = { measure: `${name} size`, cells: {}, values: {} };
      for (const t of input.tools) {
        const q: Selector = { workload: w, tool: t, phase: 'export', variant: format };
        const warm = select(input.runs, q, true)[0];
        if (warm) {
          first.cells[t] = fmtSeconds(warm.ms);
          first.values[t] = warm.ms;
        }
        const last = [...select(input.runs, q), ...select(input.runs, q, true)].find((r) => r.outputBytes !== undefined);
        const info = input.exports[w]?.[t]?.[format];
        if (last?.outputBytes !== undefined) {
          size.cells[t] = `${fmtBytes(last.outputBytes)}${info ? ` (${info.layers} layers)` : ''}`;
          size.values[t] = last.outputBytes;
        }
      }
      const timed = timeRow(input, w, `save ${name} (${countOf(input, w, 'export', format)})`, 'export', format);
      if (Object.keys(timed.cells).length === 0) continue;
      rows.push(first, timed, size);
      if (format === 'docker') rows.push(peakRow(input, w, 'peak memory, save docker-archive (max)', { phase: 'export', variant: format }));
    }
  }
  if (has('cold')) {
    const store: Row = { measure: 'storage growth, cold build', cells: {}, values: {} };
    for (const t of input.tools) {
      const last = select(input.runs, { workload: w, tool: t, phase: 'cold' }).at(-1);
      if (last?.storeAfterBytes !== undefined && last.storeBeforeBytes !== undefined) {
        const growth = last.storeAfterBytes - last.storeBeforeBytes;
        store.cells[t] = `+${fmtBytes(growth)} (${fmtBytes(last.storeAfterBytes)} in all)`;
        store.values[t] = growth;
      }
    }
    rows.push(peakRow(input, w, 'peak memory, cold build (max)', { phase: 'cold' }), store);
  }
  return rows;
}

/** The largest peak memory over the measured runs, with the daemon's size before the run (BuildKit). */
function peakRow(input: ReportInput, w: string, measure: string, q: { phase: Phase; variant?: string }): Row {
  const row: Row = { measure, cells: {}, values: {} };
  for (const t of input.tools) {
    const runs = select(input.runs, { workload: w, tool: t, ...q });
    const peaks = runs.map((r) => r.peakRssBytes).filter((x): x is number => x !== undefined);
    if (peaks.length === 0) continue;
    const peak = Math.max(...peaks);
    const daemon = runs.map((r) => r.daemonRssBeforeBytes).filter((x): x is number => x !== undefined);
    row.cells[t] = `${fmtBytes(peak)}${daemon.length > 0 ? ` (daemon idle ${fmtBytes(Math.max(...daemon))})` : ''}`;
    row.values[t] = peak;
  }
  return row;
}

export function mainTable(input: ReportInput): string {
  const peers = PEERS.filter((p) => input.tools.includes(p));
  const header = [
    'workload',
    'measure',
    ...input.tools.map((t) => TOOL_LABELS[t]),
    ...(input.tools.includes('obox') ? peers.map((p) => `obox/${TOOL_LABELS[p]}`) : []),
  ];
  const body: string[][] = [];
  for (const w of input.workloads) {
    for (const row of workloadRows(input, w)) {
      body.push([
        w,
        row.measure,
        ...input.tools.map((t) => row.cells[t] ?? '–'),
        ...(input.tools.includes('obox') ? peers.map((p) => fmtRatioOf(row.values.obox, row.values[p])) : []),
      ]);
    }
  }
  return markdownTable(header, body);
}

// ---------------------------------------------------------------------------------------------
// The step on top of a small vs a big layer.

export function onTopTable(input: ReportInput, w: string): string | undefined {
  const labels = input.onTop[w];
  if (!labels) return undefined;
  const rows: string[][] = [];
  for (const t of input.tools) {
    const q = (variant: string): Selector => ({ workload: w, tool: t, phase: 'ontop', variant });
    const e2e = { small: timeSummary(input.runs, q('small')), big: timeSummary(input.runs, q('big')) };
    const top = { small: timeSummary(input.runs, q('small'), (r) => r.topStepMs), big: timeSummary(input.runs, q('big'), (r) => r.topStepMs) };
    if (e2e.small.n === 0 && e2e.big.n === 0) continue;
    const resolution = select(input.runs, q('big')).find((r) => r.topStepResolutionMs !== undefined)?.topStepResolutionMs;
    const belowResolution = resolution !== undefined && Math.max(top.small.median, top.big.median) < 2 * resolution;
    rows.push([
      TOOL_LABELS[t],
      fmtTime(e2e.small),
      fmtTime(e2e.big),
      fmtRatioOf(e2e.big, e2e.small),
      fmtTime(top.small),
      fmtTime(top.big),
      belowResolution ? `– (below its ${resolution} ms resolution)` : fmtRatioOf(top.big, top.small),
    ]);
  }
  if (rows.length === 0) return undefined;
  const { small, big } = labels;
  return markdownTable(
    ['tool', `one-file rebuild over ${small}`, `over ${big}`, `${big} / ${small}`, `step on top + finish, ${small}`, `${big}`, `${big} / ${small}`],
    rows,
  );
}

// ---------------------------------------------------------------------------------------------
// Verdicts.

export type VerdictState = 'met' | 'not met' | 'not measured';

export interface Verdict {
  target: string;
  workload: string;
  measured: string;
  verdict: VerdictState;
  /** Why a figure should be read with care (noise, no cache hits). */
  note?: string;
}

export const TARGETS = {
  vsBuildkit: 1.0,
  noopVsBuildah: 0.5,
  flat: 1.2,
  exportVsPodman: 0.35,
} as const;

const FLAT_WORKLOAD = 'big-layer';
const EXPORT_WORKLOAD = 'big-layer';

function ratioVerdict(target: string, workload: string, a: Summary, b: Summary, limit: number, extra?: string): Verdict {
  if (a.n === 0 || b.n === 0 || !(b.median > 0)) return { target, workload, measured: '–', verdict: 'not measured' };
  const r = a.median / b.median;
  const notes: string[] = [];
  if (a.noisy || b.noisy) notes.push('noisy');
  if (extra) notes.push(extra);
  return {
    target,
    workload,
    measured: `${r.toFixed(2)}× (${fmtSeconds(a.median)} vs ${fmtSeconds(b.median)})`,
    verdict: r <= limit ? 'met' : 'not met',
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

function oboxCacheNote(input: ReportInput, w: string, phase: Phase): string | undefined {
  const cs = select(input.runs, { workload: w, tool: 'obox', phase }).flatMap((r) => (r.cache ? [r.cache] : []));
  if (cs.length > 0 && cs.every((c) => c.cached === 0 && c.steps > 0)) return 'obox answered no step from a cache: a full rebuild';
  return undefined;
}

export function verdicts(input: ReportInput): Verdict[] {
  const out: Verdict[] = [];
  const ran = (w: string): boolean => input.workloads.includes(w);
  const has = (t: ToolKey): boolean => input.tools.includes(t);
  if (!has('obox')) return out;
  const sum = (w: string, t: ToolKey, phase: Phase, variant?: string): Summary =>
    timeSummary(input.runs, { workload: w, tool: t, phase, ...(variant !== undefined ? { variant } : {}) });
  // A phase left out of the run (--phases) has no verdict; one a tool failed in is "not measured".
  const phaseRan = (w: string, phase: Phase): boolean => input.runs.some((r) => r.workload === w && r.phase === phase);

  if (has('buildkit')) {
    for (const w of ['small', 'debian-c'].filter(ran)) {
      for (const [phase, name] of [
        ['cold', 'cold build'],
        ['noop', 'no-op rebuild'],
        ['onefile', 'one-file rebuild'],
      ] as const) {
        if (!phaseRan(w, phase)) continue;
        out.push(ratioVerdict(`${name}: obox/BuildKit ≤ ${TARGETS.vsBuildkit.toFixed(1)}`, w, sum(w, 'obox', phase), sum(w, 'buildkit', phase), TARGETS.vsBuildkit, phase === 'cold' ? undefined : oboxCacheNote(input, w, phase)));
      }
    }
  }
  if (has('buildah')) {
    for (const w of input.workloads.filter((x) => phaseRan(x, 'noop'))) {
      out.push(ratioVerdict(`no-op rebuild: obox/buildah ≤ ${TARGETS.noopVsBuildah}`, w, sum(w, 'obox', 'noop'), sum(w, 'buildah', 'noop'), TARGETS.noopVsBuildah, oboxCacheNote(input, w, 'noop')));
    }
  }
  if (ran(FLAT_WORKLOAD) && input.onTop[FLAT_WORKLOAD] && phaseRan(FLAT_WORKLOAD, 'ontop')) {
    const { small, big } = input.onTop[FLAT_WORKLOAD];
    const q = (variant: string): Selector => ({ workload: FLAT_WORKLOAD, tool: 'obox', phase: 'ontop', variant });
    const v = ratioVerdict(
      `one-file rebuild (its commit) flat in the size of the layer under it: obox ${big} / ${small} ≤ ${TARGETS.flat}`,
      FLAT_WORKLOAD,
      timeSummary(input.runs, q('big')),
      timeSummary(input.runs, q('small')),
      TARGETS.flat,
    );
    const step = fmtRatioOf(timeSummary(input.runs, q('big'), (r) => r.topStepMs), timeSummary(input.runs, q('small'), (r) => r.topStepMs));
    out.push({ ...v, ...(v.verdict !== 'not measured' ? { measured: `${v.measured}; the step on top alone ${step}` } : {}) });
  }
  // The export target was set for a ~500 MB image: on small images both tools' start-up is all there is.
  if (has('buildah') && ran(EXPORT_WORKLOAD) && phaseRan(EXPORT_WORKLOAD, 'export')) {
    out.push(
      ratioVerdict(
        `save docker-archive: obox/podman save ≤ ${TARGETS.exportVsPodman}`,
        EXPORT_WORKLOAD,
        sum(EXPORT_WORKLOAD, 'obox', 'export', 'docker'),
        sum(EXPORT_WORKLOAD, 'buildah', 'export', 'docker'),
        TARGETS.exportVsPodman,
      ),
    );
  }
  return out;
}

export function verdictTable(vs: readonly Verdict[]): string {
  return markdownTable(
    ['target', 'workload', 'measured', 'verdict'],
    vs.map((v) => [v.target, v.workload, v.measured, `${v.verdict}${v.note ? ` (${v.note})` : ''}`]),
  );
}

/** The footnotes every report carries: what the cells mean. */
export function legend(): string {
  return [
    `Cells: median (min–max) over the measured runs; ⚠ = noisy, ${NOISE_RULE}; a ratio is ⚠ when either side is.`,
    'Ratios are obox/peer of the medians (below 1: obox faster or smaller).',
    '"n/m cached": of the m RUN/COPY/ADD steps the builder reported, n came from its cache (its own progress output: `CACHED`, `Using cache`).',
    'Export rows: the BuildKit column is `docker save` (docker 20.10 writes no OCI archive), the buildah column `podman save` on the same storage. "first save" is the warm-up run, not in the median: obox compresses a layer the first time it is needed.',
    'Peak memory: the largest sum of RSS over the measured command\'s process tree (client, runc, the build\'s containers), sampled every 50 ms from /proc, or the largest single process\'s own peak (GNU time) when larger; for BuildKit the dockerd tree (dockerd, containerd, its runc and containers) is included, and its size just before the command is given as "daemon idle".',
    'Storage growth: `du` (bytes on disk) of the tool\'s storage after the cold build minus before it (obox: its store, which holds only this workload\'s base; BuildKit: the dockerd data root; buildah: its containers/storage root — both hold every base the run imported).',
  ]
    .map((l) => `- ${l}`)
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// The whole report, from the results file (so a saved run can be rendered again: --from).

export interface Verification {
  when: 'cold' | 'final';
  expected: string;
  output: string;
  ok: boolean;
}

export interface ResultsFile {
  bench: 'harness';
  schema: 1;
  quick: boolean;
  options: HarnessArgs;
  counts: Record<string, RunCounts>;
  elapsedMs: number;
  machine: MachineInfo;
  /** The obox under test: commit, and whether src/ had changes. */
  obox: { commit: string; distWarning: string | null };
  notes: string[];
  setupMs: Record<string, number>;
  tools: Partial<Record<ToolKey, { label: string; build: string }>>;
  workloads: Record<string, { summary: string; base: string; touched: string; buildArgs: Record<string, string>; containerfile: string }>;
  verified: Record<string, Partial<Record<ToolKey, Verification[]>>>;
  failed: Record<string, Partial<Record<ToolKey, string>>>;
  exports: ReportInput['exports'];
  onTop: ReportInput['onTop'];
  verdicts: Verdict[];
  runs: RunRecord[];
}

export function reportInput(res: ResultsFile): ReportInput {
  return { tools: res.options.tools, workloads: res.options.workloads, runs: res.runs, exports: res.exports, onTop: res.onTop };
}

function countsLine(counts: Record<string, RunCounts>): string {
  const groups = new Map<string, string[]>();
  for (const [w, c] of Object.entries(counts)) {
    const k = `${c.coldWarmups} warm-up + ${c.coldRuns} cold build${c.coldRuns === 1 ? '' : 's'}, ${c.warmups} warm-up + ${c.runs} runs of each other measure`;
    groups.set(k, [...(groups.get(k) ?? []), w]);
  }
  return [...groups].map(([k, ws]) => `${ws.join(', ')}: ${k}`).join('; ');
}

/** The report as markdown; LEVEL is its title's heading level (2, or 3 inside the README's section). */
export function renderReport(res: ResultsFile, level = 2): string {
  const input = reportInput(res);
  const m = res.machine;
  const h = (n: number): string => '#'.repeat(level + n);
  let out = `${h(0)} obox vs BuildKit vs buildah${res.quick ? ' (--quick)' : ''}\n\n`;
  out += `${m.date.slice(0, 10)}, ${machineLine(m)}; obox ${res.obox.commit}; ${m.tools.dockerd ?? ''}; ${m.tools.buildah ?? ''}; ${m.tools.podman ?? ''}.\n\n`;
  out +=
    `Runs: ${countsLine(res.counts)}. Tools alternate run by run (${input.tools.map((t) => TOOL_LABELS[t]).join(' → ')}); ` +
    'a `sync` before every measured command; wall time from spawn to exit of the CLI (obox: `bin/obox`, whose launcher answers an exact repeat of an all-cached build itself and starts Node otherwise; ' +
    `BuildKit's daemon is already up). The whole run took ${(res.elapsedMs / 60_000).toFixed(1)} min.\n\n`;
  out += mainTable(input);
  for (const w of input.workloads) {
    const t = onTopTable(input, w);
    const labels = input.onTop[w];
    if (t && labels) {
      out +=
        `\n${h(1)} ${w}: the one-file step over a small vs a big layer\n\n` +
        `The same one-file rebuild with the layer under the changed COPY at ${labels.small} and at ${labels.big} (--build-arg), alternating. ` +
        '"step on top + finish": the changed COPY and everything after it (commit, image): for obox and buildah from the step\'s header line in their progress output to their exit; ' +
        'for BuildKit, whose client prints progress in batches, the sum of its own reported durations of that step and the later ones (0.1 s resolution).\n\n' +
        t;
    }
  }
  const vs = verdicts(input);
  if (vs.length > 0) out += `\n${h(1)} Targets\n\n${verdictTable(vs)}`;
  out += `\n${legend()}\n`;

  const lines: string[] = [];
  for (const w of input.workloads) {
    const v = res.verified[w] ?? {};
    const parts = input.tools.map((t) => {
      const list = v[t] ?? [];
      if (list.length === 0) return `${TOOL_LABELS[t]} not checked`;
      return `${TOOL_LABELS[t]} ${list.map((x) => `${x.when} ${x.ok ? 'ok' : `WRONG (printed ${JSON.stringify(x.output)}, expected ${JSON.stringify(x.expected)})`}`).join(', ')}`;
    });
    const first = Object.values(v).find((l) => l && l.length > 0)?.[0]?.expected;
    lines.push(`${w}: ${parts.join('; ')}${first ? ` — e.g. \`${first}\`` : ''}`);
  }
  out += `\nEach tool's image, run with \`docker run\` after its first cold build and after its last build, printed the line its context calls for:\n${lines.map((l) => `- ${l}`).join('\n')}\n`;

  const cacheNotes: string[] = [];
  for (const w of input.workloads) {
    for (const t of input.tools) {
      const noop = select(input.runs, { workload: w, tool: t, phase: 'noop' }).filter((r) => r.cache);
      const missed = noop.filter((r) => r.cache!.cached < r.cache!.steps);
      if (noop.length > 0 && missed.length > 0) {
        const which = [...new Set(missed.flatMap((r) => r.missed ?? []))].slice(0, 5);
        cacheNotes.push(
          `${w}, ${TOOL_LABELS[t]}: ${missed.length} of ${noop.length} no-op rebuilds ran steps again (${missed.map((r) => `${r.cache!.cached}/${r.cache!.steps} cached`).join(', ')})${which.length > 0 ? `: ${which.map((l) => `\`${l}\``).join(', ')}` : ''}`,
        );
      }
    }
  }
  if (cacheNotes.length > 0) out += `\nNo-op rebuilds that were not all cache hits:\n${cacheNotes.map((l) => `- ${l}`).join('\n')}\n`;
  for (const [w, byTool] of Object.entries(res.failed)) {
    for (const [t, msg] of Object.entries(byTool)) out += `\n**${w}: ${TOOL_LABELS[t as ToolKey]} failed:**\n\n\`\`\`\n${msg}\n\`\`\`\n`;
  }
  if (res.notes.length > 0) out += `\n${res.notes.map((n) => `note: ${n}`).join('\n')}\n`;
  return out;
}
