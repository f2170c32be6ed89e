/**
 * Why a step missed the cache, found while building (and by `obox cache why`): its inputs
 * against the same step (same stage, same position) of the last build of this Containerfile.
 */
import { MAX_SOURCE_FILES, type BuildRecord, type SourceFingerprints, type StepRecord } from '../cache/build-records.js';
import { explainMiss, fingerprintOf } from '../cache/explain.js';
import type { BuildPlan, PlannedStage } from '../plan/index.js';
import type { ComputedStepKey } from './step-keys.js';

/** The files a COPY/ADD step copied, as `why` compares them (none past MAX_SOURCE_FILES). */
export function fingerprints(key: ComputedStepKey): SourceFingerprints | undefined {
  if (!key.records || key.records.length > MAX_SOURCE_FILES) return undefined;
  const out: SourceFingerprints = Object.create(null) as SourceFingerprints;
  for (const r of key.records) out[r.path] = fingerprintOf(r);
  return out;
}

export interface MissContext {
  plan: BuildPlan;
  previous: BuildRecord | undefined;
  noCache: boolean;
  stage: PlannedStage;
  /** 1-based step position in the stage. */
  position: number;
  key: ComputedStepKey;
  text: string;
  sources: SourceFingerprints | undefined;
  /** The step before this one in the same stage, as recorded in this build. */
  previousStep: StepRecord | undefined;
  /** Whether the stage looked the step up at all (--no-cache, --no-cache-filter). */
  cacheOn: boolean;
  /** An entry existed but could not be used (its layer was gone). */
  entryFound: boolean;
}

export function missReasons(m: MissContext): string[] {
  if (!m.cacheOn) return [m.noCache ? 'built with --no-cache' : `stage ${m.stage.displayName} is in --no-cache-filter`];
  if (m.entryFound) return ['its cache entry was found but its layer is gone (pruned or removed): rebuilt'];
  const before = m.previous?.steps.find((s) => s.stage === m.stage.displayName && s.step === m.position);
  const previousMissed = m.previousStep && !m.previousStep.hit ? m.previousStep : undefined;
  const base = m.stage.base;
  const parentNote =
    m.key.inputs.parent.kind !== 'step'
      ? undefined
      : previousMissed
        ? `the previous step (line ${previousMissed.line}) missed`
        : m.previousStep
          ? `the previous step (line ${m.previousStep.line}) hit a different cache entry than in the last build`
          : `its base stage ${base.kind === 'stage' ? (m.plan.allStages[base.index]?.displayName ?? '') : ''} changed`;
  const reasons = explainMiss(
    { inputs: m.key.inputs, text: m.text, sources: m.sources },
    before ? { inputs: before.inputs, text: before.text, sources: before.sources } : undefined,
    { parentNote },
  );
  return reasons.length > 0 ? reasons : ['same inputs as the last build, but no cache entry (pruned, or that build failed before this step)'];
}

/** A step as the build record keeps it: its key, inputs, hit or miss, and why it missed. */
export function stepRecord(m: Omit<MissContext, 'sources'> & { hit: boolean; line: number }): StepRecord {
  const sources = fingerprints(m.key);
  return {
    stage: m.stage.displayName,
    step: m.position,
    line: m.line,
    text: m.text,
    key: m.key.key,
    inputs: m.key.inputs,
    hit: m.hit,
    reasons: m.hit ? [] : missReasons({ ...m, sources }),
    ...(sources ? { sources } : {}),
  };
}
