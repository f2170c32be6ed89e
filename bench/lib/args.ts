/** Command line of the benchmark harness (bench/harness.ts). Pure: no I/O. */

export const TOOL_KEYS = ['obox', 'buildkit', 'buildah'] as const;
export type ToolKey = (typeof TOOL_KEYS)[number];

/**
 * What is measured, in the order it runs for each workload: cold build, no-op rebuild, one-file
 * rebuild, the one-file step over a small vs a big base (workloads that define it), export.
 */
export const PHASES = ['cold', 'noop', 'onefile', 'ontop', 'export'] as const;
export type Phase = (typeof PHASES)[number];

export interface HarnessArgs {
  workloads: string[];
  tools: ToolKey[];
  phases: Phase[];
  quick: boolean;
  /** Measured runs of the fast phases (no-op, one-file, on-top, export); default 5, --quick 2. */
  runs: number | undefined;
  /** Warm-up runs before them; default 1. */
  warmups: number | undefined;
  /** Measured cold builds; default per workload, --quick 1. */
  coldRuns: number | undefined;
  /** Cold warm-up builds; default 1, --quick 0. */
  coldWarmups: number | undefined;
  /** The results file; default bench/results/latest.json. */
  out: string | undefined;
  /** Render this results file instead of running anything. */
  from: string | undefined;
  /** Also put the report into README.md, between its bench markers. */
  readme: boolean;
  help: boolean;
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run bench -- [options]

  --workload NAME[,NAME]   workloads to run (repeatable; default: all)
  --tools T[,T]            obox,buildkit,buildah (default: all three)
  --phases P[,P]           cold,noop,onefile,ontop,export (default: all; noop, onefile, ontop and
                           export need the image a cold build leaves, so cold always runs first)
  --quick                  1 cold build (no warm-up), 1 warm-up + 2 runs of the others
  --runs N                 measured runs of no-op, one-file, on-top and export (default 5)
  --warmups N              warm-up runs before them (default 1)
  --cold-runs N            measured cold builds (default: per workload, 2 or 3)
  --cold-warmups N         cold warm-up builds (default 1)
  --out FILE               results JSON (default bench/results/latest.json)
  --readme                 also write the report into README.md's Benchmarks section
  --from FILE              run nothing: print the report of a results JSON (with --readme:
                           put it into the README)
  -h, --help               this text
`;

function list<T extends string>(what: string, value: string, known: readonly T[]): T[] {
  const out: T[] = [];
  for (const part of value.split(',').map((s) => s.trim())) {
    if (part === '') continue;
    if (!(known as readonly string[]).includes(part)) throw new UsageError(`${what}: unknown ${JSON.stringify(part)} (known: ${known.join(', ')})`);
    if (!out.includes(part as T)) out.push(part as T);
  }
  if (out.length === 0) throw new UsageError(`${what}: none given`);
  return out;
}

function count(name: string, value: string, min: number): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${name} needs a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min) throw new UsageError(`${name} needs a whole number ≥ ${min}, got ${n}`);
  return n;
}

/** Parses ARGV (without node and the script); WORKLOADS are the known workload names, in run order. */
export function parseHarnessArgs(argv: readonly string[], workloads: readonly string[]): HarnessArgs {
  const r: HarnessArgs = {
    workloads: [],
    tools: [...TOOL_KEYS],
    phases: [...PHASES],
    quick: false,
    runs: undefined,
    warmups: undefined,
    coldRuns: undefined,
    coldWarmups: undefined,
    out: undefined,
    from: undefined,
    readme: false,
    help: false,
  };
  const wanted: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      r.help = true;
      continue;
    }
    if (a === '--quick') {
      r.quick = true;
      continue;
    }
    if (a === '--readme') {
      r.readme = true;
      continue;
    }
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const known = ['--workload', '--tools', '--phases', '--runs', '--warmups', '--cold-runs', '--cold-warmups', '--out', '--from'];
    if (!known.includes(name)) throw new UsageError(`unknown option ${name}`);
    let value: string;
    if (eq > 0) value = a.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${name} needs a value`);
      value = next;
      i++;
    }
    switch (name) {
      case '--workload':
        for (const w of list(name, value, workloads)) if (!wanted.includes(w)) wanted.push(w);
        break;
      case '--tools':
        r.tools = list(name, value, TOOL_KEYS);
        break;
      case '--phases':
        r.phases = list(name, value, PHASES);
        break;
      case '--runs':
        r.runs = count(name, value, 1);
        break;
      case '--warmups':
        r.warmups = count(name, value, 0);
        break;
      case '--cold-runs':
        r.coldRuns = count(name, value, 1);
        break;
      case '--cold-warmups':
        r.coldWarmups = count(name, value, 0);
        break;
      case '--out':
      case '--from':
        if (value === '') throw new UsageError(`${name} needs a file name`);
        if (name === '--out') r.out = value;
        else r.from = value;
        break;
    }
  }
  // Run order is the harness's, whatever order they were given in.
  r.workloads = wanted.length === 0 ? [...workloads] : workloads.filter((w) => wanted.includes(w));
  // Everything after a cold build reuses what it left: the cold phase always runs.
  if (!r.phases.includes('cold')) r.phases.unshift('cold');
  r.phases = PHASES.filter((p) => r.phases.includes(p));
  return r;
}

export interface RunCounts {
  coldWarmups: number;
  coldRuns: number;
  warmups: number;
  runs: number;
}

/** How many runs each phase makes for a workload whose full run makes WORKLOAD_COLD_RUNS cold builds. */
export function runCounts(a: HarnessArgs, workloadColdRuns: number): RunCounts {
  return {
    coldWarmups: a.coldWarmups ?? (a.quick ? 0 : 1),
    coldRuns: a.coldRuns ?? (a.quick ? 1 : workloadColdRuns),
    warmups: a.warmups ?? 1,
    runs: a.runs ?? (a.quick ? 2 : 5),
  };
}
