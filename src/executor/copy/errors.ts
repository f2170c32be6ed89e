/**
 * The error COPY and ADD throw. It carries which source (as written, and its index among the
 * instruction's sources) the problem is about, so the executor can point its caret at that word
 * (instructions' `errorAtWord`) and add file:line:col; the message itself never has a location.
 */
import { OboxError, type ErrorCode, type OboxErrorOptions } from '../../errors.js';

export interface CopyErrorOptions extends OboxErrorOptions {
  /** The source as written in the instruction (after expansion), when the error is about one. */
  source?: string | undefined;
  /** Its index among the instruction's sources. */
  sourceIndex?: number | undefined;
}

export class CopyError extends OboxError {
  readonly source: string | undefined;
  readonly sourceIndex: number | undefined;

  constructor(code: ErrorCode, message: string, options: CopyErrorOptions = {}) {
    super(code, message, options);
    this.name = 'CopyError';
    this.source = options.source;
    this.sourceIndex = options.sourceIndex;
  }
}

/** The errno code of a Node error, if any. */
export function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
}

/** Errors that say something is missing rather than broken. */
export function isNotFound(e: unknown): boolean {
  const code = errnoOf(e);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
