/**
 * The canonical text of an instruction's meaning, for its build-cache key: JSON with object keys
 * sorted (UTF-16 code unit order, which is stable), `undefined` fields left out, and everything
 * that only says *where* or *how it was spelled* dropped:
 *
 *   location, startLine, endLine, keywordPos, argsPos  (positions: moving a line keeps its key)
 *   original                                           (the line as written: layout and comments)
 *   keyword                                            (`copy` vs `COPY`: same meaning)
 *
 * Pass the instruction *after* expansion (StepContext.expanded), so a variable's value, not its
 * name, is what the key sees. The same meaning always gives the same text, in any process.
 */
import type { Instruction } from './types.js';

/** Fields that never take part in an instruction's meaning, at any depth. */
const POSITIONAL = new Set(['location', 'original', 'keyword', 'startLine', 'endLine', 'keywordPos', 'argsPos']);

/** `instruction` as canonical JSON text (see the module comment). */
export function canonicalInstruction(instruction: Instruction): string {
  return canonicalText(instruction);
}

/** Canonical JSON of a plain value tree, positional fields dropped. Exported for tests. */
export function canonicalText(value: unknown): string {
  return encode(value, '$');
}

function encode(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical instruction: ${path} is not a finite number`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonical instruction: ${path} has unsupported type ${typeof value}`);
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => (v === undefined ? 'null' : encode(v, `${path}[${i}]`))).join(',')}]`;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) throw new TypeError(`canonical instruction: ${path} is not a plain object`);
  const parts: string[] = [];
  for (const key of Object.keys(value).sort()) {
    if (POSITIONAL.has(key)) continue;
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${encode(v, `${path}.${key}`)}`);
  }
  return `{${parts.join(',')}}`;
}
