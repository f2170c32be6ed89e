/**
 * Test helpers for plans: text → plan, and a stage's steps with their environments.
 */
import { parseContainerfile } from '../../src/containerfile/parser.js';
import { parseInstructions } from '../../src/instructions/index.js';
import { evaluateStage, planBuild, type BuildPlan, type PlanOptions, type StageScope, type StepContext } from '../../src/plan/index.js';
import type { Platform } from '../../src/plan/index.js';

export const AMD64: Platform = { os: 'linux', architecture: 'amd64', variant: '' };
export const ARM64: Platform = { os: 'linux', architecture: 'arm64', variant: '' };

/** Plans `text` on a fixed linux/amd64 host unless options say otherwise. */
export function plan(text: string, options: PlanOptions = {}): BuildPlan {
  return planBuild(parseInstructions(parseContainerfile(text, 'Containerfile')), { buildPlatform: AMD64, ...options });
}

export function args(record: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(record));
}

/**
 * Every planned stage walked in order, stages building on their parent's final scope and images
 * on `imageEnv` (default: PATH only). Returns the steps by stage display name.
 */
export function walk(p: BuildPlan, imageEnv: readonly string[] = ['PATH=/usr/bin:/bin']): Map<string, StepContext[]> {
  const finals = new Map<number, StageScope>();
  const out = new Map<string, StepContext[]>();
  for (const stage of p.stages) {
    const base = stage.base.kind === 'stage' ? { parent: finals.get(stage.base.index)! } : { imageEnv: stage.base.kind === 'scratch' ? [] : imageEnv };
    const evaluation = evaluateStage(p, stage, base);
    finals.set(stage.index, evaluation.final);
    out.set(stage.displayName, evaluation.steps);
  }
  return out;
}

/** The steps of the target stage. */
export function targetSteps(text: string, options: PlanOptions = {}, imageEnv?: readonly string[]): StepContext[] {
  const p = plan(text, options);
  return walk(p, imageEnv).get(p.target.displayName)!;
}

export function obj(m: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries(m);
}
