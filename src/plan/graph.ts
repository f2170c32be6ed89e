/**
 * The stage graph, as BuildKit builds it (dockerfile2llb toCommand, detectRunMount,
 * validateCircularDependency, allReachableStages):
 * - `FROM <earlier stage name>` makes the stage build on that stage;
 * - `COPY --from=<name|index>` and `RUN --mount=…,from=<name>` (bind and cache mounts) depend on
 *   the named stage; any other `--from`/`from=` value is an image reference;
 * - a cycle anywhere is an error; a needed stage may only use stages defined before it;
 * - `--target` keeps just the stages the target needs.
 */
import { ErrorCodes, type ContainerfileError } from '../errors.js';
import {
  errorAtFlag,
  errorAtKeyword,
  findStage,
  isLiteralWord,
  stageDisplayName,
  type CopyInstruction,
  type ErrorOptions,
  type InstructionLocation,
  type RunInstruction,
  type SourceInfo,
  type Stage,
} from '../instructions/index.js';

export type DependencyKind = 'from' | 'copy' | 'mount';

export interface StageDependency {
  /** Index of the stage depended on. */
  stage: number;
  via: DependencyKind;
  /** The FROM, COPY or RUN that creates the dependency. */
  location: InstructionLocation;
  keyword: string;
  /** For `mount`: which `--mount` (0-based). */
  occurrence?: number;
}

export interface StageEdges {
  dependencies: StageDependency[];
  /** Images named by COPY --from or a mount's from= (not stages), in order, without repeats. */
  externalImages: string[];
}

function copyDependency(c: CopyInstruction, stages: readonly Stage[], source: SourceInfo): number | string {
  const from = c.from!;
  if (!isLiteralWord(from, source.escape)) {
    throw errorAtFlag(source, c.location, 'from', 'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround', {
      hint: 'add `FROM ${VAR} AS alias` and use COPY --from=alias',
    });
  }
  if (/^[+-]?\d+$/.test(from)) {
    const index = Number(from);
    if (index < 0 || index >= stages.length) {
      throw errorAtFlag(source, c.location, 'from', `invalid stage index ${index}`, {
        code: ErrorCodes.notFound,
        hint: stages.length === 1 ? 'the only stage is 0' : `stages are numbered 0 to ${stages.length - 1}`,
      });
    }
    return index;
  }
  return findStage(stages, from)?.index ?? from;
}

/** The type a mount's fields name (last `type=` wins), bind by default. */
function mountType(fields: RunInstruction['mounts'][number]['fields']): string {
  let type = 'bind';
  for (const f of fields) if (f.key === 'type' && f.value !== undefined) type = f.value.toLowerCase();
  return type;
}

/**
 * Dependencies of one stage. `baseStage` is the stage its FROM names, if any (resolved by the
 * plan after expanding the FROM line).
 */
export function stageEdges(stage: Stage, baseStage: number | undefined, stages: readonly Stage[], source: SourceInfo): StageEdges {
  const dependencies: StageDependency[] = [];
  const externalImages: string[] = [];
  const external = (ref: string) => {
    if (!externalImages.includes(ref)) externalImages.push(ref);
  };
  if (baseStage !== undefined) dependencies.push({ stage: baseStage, via: 'from', location: stage.from.location, keyword: stage.from.keyword });

  for (const instruction of stage.instructions) {
    if (instruction.kind === 'copy' && instruction.from !== undefined) {
      const dep = copyDependency(instruction, stages, source);
      if (typeof dep === 'number') dependencies.push({ stage: dep, via: 'copy', location: instruction.location, keyword: instruction.keyword });
      else external(dep);
    } else if (instruction.kind === 'run') {
      instruction.mounts.forEach((mount, occurrence) => {
        const from = mount.fields.filter((f) => f.key === 'from').pop()?.value;
        const type = mountType(mount.fields);
        if (!from || (type !== 'bind' && type !== 'cache' && isLiteralWord(type, source.escape))) return;
        const named = /^\d+$/.test(from) ? undefined : findStage(stages, from);
        if (named) dependencies.push({ stage: named.index, via: 'mount', location: instruction.location, keyword: instruction.keyword, occurrence });
        else external(from);
      });
    }
  }
  return { dependencies, externalImages };
}

/** An error at what creates the dependency: the FROM keyword, COPY's --from, or the --mount. */
function errorAtDependency(source: SourceInfo, dep: StageDependency, message: string, options: ErrorOptions): ContainerfileError {
  if (dep.via === 'from') return errorAtKeyword(source, dep.location, dep.keyword, message, options);
  if (dep.via === 'mount') return errorAtFlag(source, dep.location, 'mount', message, { ...options, occurrence: dep.occurrence });
  return errorAtFlag(source, dep.location, 'from', message, options);
}

/** Throws a located error for the first dependency cycle among all stages. */
export function checkCycles(stages: readonly Stage[], edges: readonly StageEdges[], source: SourceInfo): void {
  const done = new Set<number>();
  const onPath = new Set<number>();
  const visit = (index: number): void => {
    if (done.has(index)) return;
    onPath.add(index);
    for (const dep of edges[index]!.dependencies) {
      if (onPath.has(dep.stage)) {
        const target = stages[dep.stage]!;
        throw errorAtDependency(source, dep, `circular dependency detected on stage: ${stageDisplayName(target)}`, {
          hint:
            dep.stage === index
              ? `stage ${stageDisplayName(target)} cannot use itself`
              : `stage ${stageDisplayName(stages[index]!)} uses ${stageDisplayName(target)}, which already depends on it`,
        });
      }
      visit(dep.stage);
    }
    onPath.delete(index);
    done.add(index);
  };
  for (let i = 0; i < stages.length; i++) visit(i);
}

/** The stages `target` needs (itself included), in file order, which is dependency order. */
export function neededStages(target: number, edges: readonly StageEdges[]): number[] {
  const needed = new Set<number>();
  const visit = (index: number) => {
    if (needed.has(index)) return;
    needed.add(index);
    for (const dep of edges[index]!.dependencies) visit(dep.stage);
  };
  visit(target);
  return [...needed].sort((a, b) => a - b);
}

/** A needed stage may only copy or mount from stages defined before it (BuildKit builds in file order). */
export function checkDefinedBefore(needed: readonly number[], stages: readonly Stage[], edges: readonly StageEdges[], source: SourceInfo): void {
  for (const index of needed) {
    for (const dep of edges[index]!.dependencies) {
      if (dep.stage < index) continue;
      const verb = dep.via === 'mount' ? 'mount from' : 'copy from';
      const message = `cannot ${verb} stage ${JSON.stringify(stageDisplayName(stages[dep.stage]!))}, it needs to be defined before current stage ${JSON.stringify(stageDisplayName(stages[index]!))}`;
      throw errorAtDependency(source, dep, message, { hint: 'move the stage it uses above this one' });
    }
  }
}
