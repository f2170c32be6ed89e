/**
 * Test helpers: Containerfile text → typed instructions, and error text as a user sees it.
 */
import { parseContainerfile } from '../../src/containerfile/parser.js';
import { isOboxError } from '../../src/errors.js';
import { parseInstructions, type ContainerfileInstructions, type Instruction } from '../../src/instructions/index.js';

export function parse(text: string, file = 'Containerfile'): ContainerfileInstructions {
  return parseInstructions(parseContainerfile(text, file));
}

/** The instructions of the first stage after `FROM scratch` (the text is put under a FROM). */
export function inStage(text: string): Instruction[] {
  return parse(`FROM scratch\n${text}`).stages[0]!.instructions;
}

/** The one instruction `text` (under a FROM). */
export function one(text: string): Instruction {
  const list = inStage(text);
  if (list.length !== 1) throw new Error(`expected one instruction, got ${list.length}`);
  return list[0]!;
}

/** Drops location and source text, for comparing the meaning of instructions. */
export function meaning(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(meaning);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'location' || k === 'original' || k === 'keyword' || v === undefined) continue;
    out[k] = meaning(v);
  }
  return out;
}

/** What `fn` throws; fails if it does not throw. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

/** What `fn` throws, as the user sees it (describe()); fails if it does not throw an OboxError. */
export function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isOboxError(e)) return e.describe();
    throw e;
  }
  throw new Error('expected an error');
}
