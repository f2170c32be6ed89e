/**
 * plan/: pure. Build args + stages → the build plan (global ARGs, stage DAG, --target pruning),
 * and per stage, each instruction's environment, expanded form and the build args it reads.
 */
export { planBuild, evaluateStage, type BuildPlan, type PlannedStage, type PlannedBase, type PlanOptions, type PlanWarning } from './plan.js';
export { beginStage, envList, DEFAULT_PATH, type StageScope, type StageBase, type StepContext, type StageEvaluation, type ScopeInputs } from './scope.js';
export { expandInstruction, type ExpandedInstruction } from './expand-instruction.js';
export { parsePlatform, formatPlatform, hostPlatform, PlatformError, type Platform } from './platform.js';
export { isProxyArg, platformArgs, PLATFORM_ARG_NAMES } from './args.js';
export type { StageDependency, DependencyKind } from './graph.js';
