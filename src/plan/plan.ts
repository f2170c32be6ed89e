/**
 * Build args + stages → the build plan: global (meta) ARGs, each stage's expanded FROM (base image,
 * earlier stage or scratch) and platform, the stage graph, `--target` pruning, and the build args
 * nobody consumed. Pure: no I/O. Base-image contents (their ENV) come later, through
 * `evaluateStage` in scope.ts.
 */
import { ContainerfileError, ErrorCodes, OboxError } from '../errors.js';
import { didYouMean, errorAt, errorAtFlag, findStage, stageDisplayName, type ArgInstruction, type ContainerfileInstructions, type SourceInfo, type Stage } from '../instructions/index.js';
import { PLATFORM_ARG_NAMES, isProxyArg, platformArgs } from './args.js';
import { Expander } from './expander.js';
import { checkCycles, checkDefinedBefore, neededStages, stageEdges, type StageDependency } from './graph.js';
import { hostPlatform, parsePlatform, PlatformError, type Platform } from './platform.js';
import { walkStage, type ScopeInputs, type StageBase, type StageEvaluation } from './scope.js';

export interface PlanOptions {
  /** `--build-arg NAME=value`. */
  buildArgs?: ReadonlyMap<string, string>;
  /** `--target`: a stage name (case-insensitive) or index. Default: the last stage. */
  target?: string;
  /** The platform obox runs on. Default: the host. */
  buildPlatform?: Platform;
  /** The platform to build for. Default: the build platform. */
  targetPlatform?: Platform;
}

export type PlannedBase =
  | { kind: 'image'; ref: string }
  | { kind: 'scratch' }
  | { kind: 'stage'; index: number };

export interface PlannedStage {
  index: number;
  /** The `AS` name (lowercased), or undefined. */
  name: string | undefined;
  /** `name`, or `stage-N`. */
  displayName: string;
  stage: Stage;
  base: PlannedBase;
  /** FROM --platform expanded, else inherited from a stage base, else the target platform. */
  platform: Platform;
  /** Global args the FROM line read (image and --platform), name → value: part of its cache key. */
  fromArgsRead: ReadonlyMap<string, string>;
  dependencies: StageDependency[];
  /** Images used by COPY --from or a mount's from= that are not stages. */
  externalImages: string[];
}

export interface PlanWarning {
  message: string;
  /** Where, when it is about one line. */
  line?: number;
}

export interface BuildPlan extends ScopeInputs {
  source: SourceInfo;
  /** Every stage in file order, needed or not. */
  allStages: PlannedStage[];
  /** The stages to build, dependencies first; the target is last. */
  stages: PlannedStage[];
  target: PlannedStage;
  buildPlatform: Platform;
  targetPlatform: Platform;
  /** Build args no ARG in the built stages (or meta ARG) declared, sorted: docker warns about these. */
  unusedBuildArgs: string[];
  warnings: PlanWarning[];
}

/** Meta ARGs (before the first FROM) on top of the automatic platform args: the global scope. */
function globalScope(metaArgs: readonly ArgInstruction[], start: ReadonlyMap<string, string>, buildArgs: ReadonlyMap<string, string>, source: SourceInfo): Map<string, string> {
  const globals = new Map(start);
  for (const instruction of metaArgs) {
    for (const { name, defaultValue } of instruction.args) {
      const value = buildArgs.get(name) ?? (defaultValue === undefined ? undefined : new Expander(source, instruction.location, globals).word(defaultValue));
      if (value !== undefined) globals.set(name, value);
    }
  }
  return globals;
}

interface ResolvedFrom {
  base: PlannedBase;
  platform: Platform | undefined;
  argsRead: Map<string, string>;
  unmatched: Set<string>;
}

/** An earlier stage by name (BuildKit only looks back, and FROM takes no index), scratch, or an image. */
function baseOf(image: string, earlier: readonly Stage[]): PlannedBase {
  const stage = /^\d+$/.test(image) ? undefined : findStage(earlier, image);
  if (stage) return { kind: 'stage', index: stage.index };
  if (image.toLowerCase() === 'scratch') return { kind: 'scratch' };
  return { kind: 'image', ref: image };
}

/** Expands a stage's FROM with the global args and decides what it builds on. */
function resolveFrom(stage: Stage, stages: readonly Stage[], globals: ReadonlyMap<string, string>, source: SourceInfo, host: Platform): ResolvedFrom {
  const from = stage.from;
  const x = new Expander(source, from.location, globals);
  const image = x.word(from.image);
  if (image === '') {
    throw errorAt(source, from.location.argsPos, `base name (${from.image}) should not be blank`, {
      hint: 'the FROM line expanded to nothing: give the ARG it uses a default or pass --build-arg',
    });
  }
  let platform: Platform | undefined;
  if (from.platform !== undefined) {
    const text = x.word(from.platform);
    if (text === '') {
      throw errorAtFlag(source, from.location, 'platform', `empty platform value from expression ${from.platform}`, { hint: 'pass a platform such as linux/amd64' });
    }
    try {
      platform = parsePlatform(text, host);
    } catch (e) {
      if (e instanceof PlatformError) throw errorAtFlag(source, from.location, 'platform', `failed to parse platform ${from.platform}: ${e.message}`, { cause: e });
      throw e;
    }
  }
  const base = baseOf(image, stages.slice(0, stage.index));
  const argsRead = new Map<string, string>();
  for (const name of x.matched) argsRead.set(name, globals.get(name)!);
  return { base, platform, argsRead, unmatched: x.unmatched };
}

function resolveTarget(stages: readonly Stage[], target: string | undefined): Stage {
  if (target === undefined) return stages[stages.length - 1]!;
  const found = findStage(stages, target);
  if (found) return found;
  const names = stages.flatMap((s) => (s.name === undefined ? [] : [s.name]));
  throw new OboxError(ErrorCodes.notFound, `target stage ${JSON.stringify(target)} could not be found`, {
    hint: didYouMean(target, names) ?? (names.length > 0 ? `stages are: ${names.join(', ')}` : 'no stage is named: name one with FROM image AS name, or use an index'),
  });
}

function unusedBuildArgs(buildArgs: ReadonlyMap<string, string>, metaArgs: readonly ArgInstruction[], built: readonly Stage[]): string[] {
  const declared = new Set<string>(PLATFORM_ARG_NAMES);
  for (const instruction of metaArgs) for (const a of instruction.args) declared.add(a.name);
  for (const stage of built) for (const i of stage.instructions) if (i.kind === 'arg') for (const a of i.args) declared.add(a.name);
  return [...buildArgs.keys()].filter((name) => !declared.has(name) && !isProxyArg(name)).sort();
}

/** Plans a build. Throws ContainerfileError (located) or OboxError (unknown target). */
export function planBuild(file: ContainerfileInstructions, options: PlanOptions = {}): BuildPlan {
  const { source, stages, metaArgs } = file;
  if (stages.length === 0) {
    throw new ContainerfileError(ErrorCodes.semantic, 'Containerfile contains no stages to build', { file: source.file, line: 1, column: 1, lineText: source.lines[0] ?? '' }, { hint: 'add a FROM instruction' });
  }
  const buildArgs = options.buildArgs ?? new Map<string, string>();
  const buildPlatform = options.buildPlatform ?? hostPlatform();
  const targetPlatform = options.targetPlatform ?? buildPlatform;
  const targetStage = resolveTarget(stages, options.target);

  const globalArgs = globalScope(metaArgs, platformArgs(buildPlatform, targetPlatform, targetStage.name ?? '', buildArgs), buildArgs, source);
  const declaredMeta = new Set(metaArgs.flatMap((i) => i.args.map((a) => a.name)));
  const warnings: PlanWarning[] = [];

  const allStages: PlannedStage[] = [];
  for (const stage of stages) {
    const from = resolveFrom(stage, stages, globalArgs, source, buildPlatform);
    for (const name of from.unmatched) {
      if (!declaredMeta.has(name)) warnings.push({ message: `FROM argument '${name}' is not declared`, line: stage.from.location.startLine });
    }
    const edges = stageEdges(stage, from.base.kind === 'stage' ? from.base.index : undefined, stages, source);
    const platform = from.base.kind === 'stage' ? allStages[from.base.index]!.platform : (from.platform ?? targetPlatform);
    allStages.push({
      index: stage.index,
      name: stage.name,
      displayName: stageDisplayName(stage),
      stage,
      base: from.base,
      platform,
      fromArgsRead: from.argsRead,
      ...edges,
    });
  }

  checkCycles(stages, allStages, source);
  const needed = neededStages(targetStage.index, allStages);
  checkDefinedBefore(needed, stages, allStages, source);
  const built = needed.map((i) => allStages[i]!);

  const unused = unusedBuildArgs(buildArgs, metaArgs, built.map((s) => s.stage));
  if (unused.length > 0) warnings.push({ message: `one or more build-args [${unused.join(' ')}] were not consumed` });

  return {
    source,
    allStages,
    stages: built,
    target: allStages[targetStage.index]!,
    buildPlatform,
    targetPlatform,
    globalArgs,
    buildArgs,
    unusedBuildArgs: unused,
    warnings,
  };
}

/**
 * Each instruction of a planned stage with its environment, expanded form and the build args it
 * reads. `base`: the base image's config Env (`{ imageEnv: [...] }`, `[]` for scratch), or the
 * `final` scope of the stage it builds on (`{ parent }`).
 */
export function evaluateStage(plan: BuildPlan, stage: PlannedStage, base: StageBase): StageEvaluation {
  return walkStage(plan, stage.stage, base);
}
