/**
 * Stages: the instructions split at each FROM, with the meta ARGs (those before the first FROM)
 * kept apart, and stage lookup by name or index.
 */
import type { ParsedContainerfile, ParseWarning } from '../containerfile/nodes.js';
import { parseInstruction } from './parse.js';
import { errorAtKeyword, errorAtWord, sourceOf, type SourceInfo } from './source.js';
import type { ArgInstruction, FromInstruction, Instruction } from './types.js';

export interface Stage {
  /** 0-based position in the file. */
  index: number;
  /** The `AS` name, lowercased; undefined for an unnamed stage. */
  name: string | undefined;
  from: FromInstruction;
  /** The stage's instructions after its FROM. */
  instructions: Instruction[];
}

export interface ContainerfileInstructions {
  source: SourceInfo;
  /** ARGs before the first FROM: usable in FROM lines, and in stages that redeclare them. */
  metaArgs: ArgInstruction[];
  stages: Stage[];
  /** Warnings from the parser, passed on. */
  warnings: ParseWarning[];
}

/** `build` for a named stage, `stage-0` otherwise (BuildKit's display name). */
export function stageDisplayName(stage: Pick<Stage, 'index' | 'name'>): string {
  return stage.name ?? `stage-${stage.index}`;
}

/** Splits typed instructions into meta ARGs and stages. */
export function splitStages(instructions: readonly Instruction[], source: SourceInfo): { metaArgs: ArgInstruction[]; stages: Stage[] } {
  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  const byName = new Map<string, Stage>();
  for (const instruction of instructions) {
    if (instruction.kind === 'from') {
      const stage: Stage = { index: stages.length, name: instruction.stageName, from: instruction, instructions: [] };
      if (stage.name !== undefined) {
        const earlier = byName.get(stage.name);
        if (earlier) {
          const written = instruction.original.trim().split(/\s+/).pop()!;
          throw errorAtWord(source, instruction.location, written, `duplicate stage name ${JSON.stringify(stage.name)}`, {
            hint: `a stage with that name starts on line ${earlier.from.location.startLine}; stage names must be unique`,
          });
        }
        byName.set(stage.name, stage);
      }
      stages.push(stage);
      continue;
    }
    const current = stages[stages.length - 1];
    if (current) {
      current.instructions.push(instruction);
    } else if (instruction.kind === 'arg') {
      metaArgs.push(instruction);
    } else {
      throw errorAtKeyword(source, instruction.location, instruction.keyword, 'no build stage in current context', {
        hint: `only ARG may come before the first FROM; move this ${instruction.keyword.toUpperCase()} after a FROM`,
      });
    }
  }
  return { metaArgs, stages };
}

/** The whole file: every node typed, then split into stages. Throws ContainerfileError. */
export function parseInstructions(parsed: ParsedContainerfile): ContainerfileInstructions {
  const source = sourceOf(parsed);
  const instructions = parsed.nodes.map((node) => parseInstruction(node, source));
  return { source, ...splitStages(instructions, source), warnings: parsed.warnings };
}

/**
 * A stage by name (case-insensitive) or by decimal index. Undefined when there is none.
 * Names start with a letter, so the two never collide.
 */
export function findStage(stages: readonly Stage[], ref: string): Stage | undefined {
  if (/^\d+$/.test(ref)) return stages[Number(ref)];
  const name = ref.toLowerCase();
  return stages.find((s) => s.name === name);
}
