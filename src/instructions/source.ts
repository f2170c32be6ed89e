/**
 * The file an instruction came from, and located errors pointing into it (file:line:col, the line,
 * a caret, a hint).
 */
import { ContainerfileError, ErrorCodes, type ErrorCode } from '../errors.js';
import type { ParsedContainerfile, Position } from '../containerfile/nodes.js';
import type { InstructionLocation } from './types.js';

export interface SourceInfo {
  /** Display name for messages. */
  file: string;
  /** Physical lines, for carets. */
  lines: readonly string[];
  escape: '\\' | '`';
}

export function sourceOf(parsed: ParsedContainerfile): SourceInfo {
  return { file: parsed.file, lines: parsed.lines, escape: parsed.escape };
}

type LocatedCode = typeof ErrorCodes.syntax | typeof ErrorCodes.semantic | typeof ErrorCodes.notFound;

export interface ErrorOptions {
  hint?: string;
  /** Caret width. */
  length?: number;
  /** Default: semantic. */
  code?: Extract<ErrorCode, LocatedCode>;
  cause?: unknown;
}

export function errorAt(source: SourceInfo, pos: Position, message: string, options: ErrorOptions = {}): ContainerfileError {
  return new ContainerfileError(
    options.code ?? ErrorCodes.semantic,
    message,
    { file: source.file, line: pos.line, column: pos.column, length: options.length, lineText: source.lines[pos.line - 1] ?? '' },
    { hint: options.hint, cause: options.cause },
  );
}

/** An error on an instruction's keyword. */
export function errorAtKeyword(source: SourceInfo, loc: InstructionLocation, keyword: string, message: string, options: ErrorOptions = {}): ContainerfileError {
  return errorAt(source, loc.keywordPos, message, { length: keyword.length, ...options });
}

/** An error on an instruction's arguments. */
export function errorAtArgs(source: SourceInfo, loc: InstructionLocation, message: string, options: ErrorOptions = {}): ContainerfileError {
  return errorAt(source, loc.argsPos, message, options);
}

/**
 * Where `needle` is written in the instruction's lines, searching from `from` (default: the
 * keyword), as a whole whitespace-separated word or word prefix (`boundaryAfter` lists what may
 * follow it), or anywhere with `anywhere`. Undefined when it cannot be found (e.g. it was written with quotes or escapes).
 */
export function findInInstruction(
  source: SourceInfo,
  loc: InstructionLocation,
  needle: string,
  options: { from?: Position; occurrence?: number; boundaryAfter?: string; anywhere?: boolean } = {},
): { pos: Position; length: number } | undefined {
  const from = options.from ?? loc.keywordPos;
  let skip = options.occurrence ?? 0;
  const boundary = (ch: string | undefined, extra: string) => options.anywhere === true || ch === undefined || /\s/.test(ch) || extra.includes(ch);
  for (let line = from.line; line <= loc.endLine; line++) {
    const text = source.lines[line - 1] ?? '';
    let at = line === from.line ? from.column - 1 : 0;
    while ((at = text.indexOf(needle, at)) !== -1) {
      if (boundary(text[at - 1], '') && boundary(text[at + needle.length], options.boundaryAfter ?? '') && skip-- === 0) {
        let end = at;
        while (end < text.length && !/\s/.test(text[end]!)) end++;
        return { pos: { line, column: at + 1 }, length: end - at };
      }
      at++;
    }
  }
  return undefined;
}

/** Where `--name` is written (the node keeps flag values, not their positions); the keyword when not found. */
export function flagPosition(source: SourceInfo, loc: InstructionLocation, name: string, occurrence = 0): { pos: Position; length: number } {
  return findInInstruction(source, loc, `--${name}`, { occurrence, boundaryAfter: '=' }) ?? { pos: loc.keywordPos, length: 1 };
}

/** An error on one word of the arguments (found by its text), else on the arguments. */
export function errorAtWord(source: SourceInfo, loc: InstructionLocation, word: string, message: string, options: ErrorOptions = {}): ContainerfileError {
  const found = findInInstruction(source, loc, word, { from: loc.argsPos });
  return found ? errorAt(source, found.pos, message, { length: word.length, ...options }) : errorAtArgs(source, loc, message, options);
}

/** An error on one flag of an instruction (`occurrence`: which one, for repeated flags). */
export function errorAtFlag(
  source: SourceInfo,
  loc: InstructionLocation,
  flagName: string,
  message: string,
  options: ErrorOptions & { occurrence?: number } = {},
): ContainerfileError {
  const { pos, length } = flagPosition(source, loc, flagName, options.occurrence);
  return errorAt(source, pos, message, { length, ...options });
}
