/**
 * Per-step timings of a build, read back from the builder's own progress output, for benchmarks
 * that want to say where a build spends its time (not only how long it took):
 *  - obox and BuildKit `--progress plain`: `#N [stage i/n] INSTRUCTION` opens step N, `#N 7.364 …`
 *    is a line of its output 7.364 s into the step, `#N DONE 9.8s` closes it, `#N CACHED` marks a
 *    cache hit. Both builders print the same format (obox copies BuildKit's).
 *  - buildah: `[i/n] STEP k/m: INSTRUCTION` (or `STEP k/m:` in a one-stage build) and `[i/n] COMMIT
 *    NAME` open a step; `--> ID` closes it (a committed layer or image), `--> Using cache ID` is a
 *    cache hit; with `--layers=false` a step ends where the next begins. buildah prints no times,
 *    so these come from when each line arrived (TimedLine.t): good to the pipe's latency.
 */
import type { TimedLine } from './proc.js';

export interface StepTiming {
  /** The step as the builder printed it, e.g. `[build 2/5] RUN apt-get …`, `[1/2] STEP 2/5: RUN …`. */
  label: string;
  /** Seconds the step took (the builder's own figure for obox and BuildKit). */
  seconds: number;
  /**
   * Seconds into the step at which its last output line came: for a RUN that prints to the end
   * (apt-get), about when the command finished; the rest of the step is the builder's own work
   * (snapshot, diff, commit).
   */
  lastOutputSeconds?: number;
  /** A cache hit (`#N CACHED`, buildah `--> Using cache`). */
  cached?: boolean;
}

const PLAIN_DONE = /^#(\d+) DONE (\d+(?:\.\d+)?)s\s*$/;
const PLAIN_CACHED = /^#(\d+) CACHED\s*$/;
const PLAIN_OUTPUT = /^#(\d+) (\d+(?:\.\d+)?) /;
const PLAIN_ANY = /^#(\d+) (.*)$/;

/** Steps from obox's or BuildKit's `--progress plain` output, in the order they were opened. */
export function stepsFromPlainProgress(lines: readonly TimedLine[]): StepTiming[] {
  const steps = new Map<number, StepTiming>();
  for (const { text: raw } of lines) {
    const text = raw.replace(/\r$/, '');
    let m = PLAIN_DONE.exec(text);
    if (m) {
      const s = steps.get(Number(m[1]));
      if (s) s.seconds = Number(m[2]);
      continue;
    }
    m = PLAIN_CACHED.exec(text);
    if (m) {
      const s = steps.get(Number(m[1]));
      if (s) s.cached = true;
      continue;
    }
    m = PLAIN_ANY.exec(text);
    if (!m) continue;
    const id = Number(m[1]);
    const existing = steps.get(id);
    if (!existing) {
      // The first line of a step is its header (BuildKit repeats it when output resumes).
      steps.set(id, { label: m[2]!.trim(), seconds: 0 });
      continue;
    }
    const out = PLAIN_OUTPUT.exec(text);
    if (out) existing.lastOutputSeconds = Math.max(existing.lastOutputSeconds ?? 0, Number(out[2]));
  }
  return [...steps.values()];
}

const BUILDAH_START = /^(?:\[\d+\/\d+\] )?(?:STEP \d+\/\d+: |COMMIT\b)/;
const BUILDAH_END = /^--> /;

/** Steps from `buildah bud` output, timed by when its lines arrived. */
export function stepsFromBuildah(lines: readonly TimedLine[]): StepTiming[] {
  const steps: StepTiming[] = [];
  let open: { step: StepTiming; start: number } | undefined;
  const close = (t: number): void => {
    if (!open) return;
    open.step.seconds = (t - open.start) / 1000;
    open = undefined;
  };
  for (const { t, text: raw } of lines) {
    const text = raw.replace(/\r$/, '');
    if (BUILDAH_START.test(text)) {
      close(t);
      open = { step: { label: text.trim(), seconds: 0 }, start: t };
      steps.push(open.step);
    } else if (BUILDAH_END.test(text)) {
      if (open && /^--> Using cache\b/.test(text)) open.step.cached = true;
      close(t);
    } else if (open && text.trim() !== '') {
      open.step.lastOutputSeconds = (t - open.start) / 1000;
    }
  }
  const last = lines.at(-1);
  if (last) close(last.t);
  return steps;
}

/** A step that does work in every builder's output: RUN, COPY or ADD (not FROM, metadata, internals). */
const WORK_STEP = /(?:^\[[^\]]*\] |STEP \d+\/\d+: )(?:RUN|COPY|ADD)\b/;

export function isWorkStep(label: string): boolean {
  return WORK_STEP.test(label);
}

export interface CacheCount {
  /** RUN/COPY/ADD steps the builder reported. */
  steps: number;
  /** Of those, the ones it answered from its cache. */
  cached: number;
}

export function cacheCount(steps: readonly StepTiming[]): CacheCount {
  const work = steps.filter((s) => isWorkStep(s.label));
  return { steps: work.length, cached: work.filter((s) => s.cached === true).length };
}
