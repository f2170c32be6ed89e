/**
 * Typed errors. Library code throws these; only src/cli maps them to exit codes and prints them.
 * Every error has a stable `code` a caller can switch on.
 */

export const ErrorCodes = {
  /** Containerfile syntax error: the text cannot be read as a Containerfile. */
  syntax: 'E_SYNTAX',
  /** Containerfile semantic error: readable, but means nothing valid (unknown stage, bad flag value). */
  semantic: 'E_SEMANTIC',
  /** A file, image or stage the user named does not exist. */
  notFound: 'E_NOT_FOUND',
  /** Bad command-line usage that commander itself did not catch. */
  usage: 'E_USAGE',
  /** An archive or blob that is malformed, hostile, or does not match its digest. */
  invalidArchive: 'E_INVALID_ARCHIVE',
  /** A build step failed (a RUN exited non-zero). */
  stepFailed: 'E_STEP_FAILED',
  /** The machine lacks something obox needs (runc, overlay, permission, disk space). */
  environment: 'E_ENVIRONMENT',
  /** The store is inconsistent or locked. */
  store: 'E_STORE',
  /** Interrupted by SIGINT/SIGTERM. */
  interrupted: 'E_INTERRUPTED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface OboxErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class OboxError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: OboxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OboxError';
    this.code = code;
    this.hint = options.hint;
  }

  /** The text a user sees: the message, then the hint if any. No stack. */
  describe(): string {
    return this.hint ? `${this.message}\nhint: ${this.hint}` : this.message;
  }
}

/** Where in a Containerfile something is: 1-based line and column. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
  /** How many characters the caret underline spans (at least 1). */
  length?: number;
  /** The text of that line, for the caret display. */
  lineText?: string;
}

/** An error at a place in a Containerfile: rendered as FILE:LINE:COL, the line, a caret, a hint. */
export class ContainerfileError extends OboxError {
  readonly location: SourceLocation;

  constructor(
    code: typeof ErrorCodes.syntax | typeof ErrorCodes.semantic | typeof ErrorCodes.notFound | typeof ErrorCodes.stepFailed | typeof ErrorCodes.invalidArchive,
    message: string,
    location: SourceLocation,
    options: OboxErrorOptions = {},
  ) {
    super(code, message, options);
    this.name = 'ContainerfileError';
    this.location = location;
  }

  override describe(): string {
    const { file, line, column, lineText } = this.location;
    const out = [`${file}:${line}:${column}: ${this.message}`];
    if (lineText !== undefined) {
      const shown = lineText.length > 200 ? showWindow(lineText, column) : { text: lineText, column };
      const gutter = String(line);
      const pad = ' '.repeat(gutter.length);
      const span = Math.max(1, Math.min(this.location.length ?? 1, shown.text.length - shown.column + 2));
      out.push(` ${gutter} | ${visibleTabs(shown.text)}`);
      out.push(` ${pad} | ${' '.repeat(Math.max(0, shown.column - 1))}${'^'.repeat(span)}`);
    }
    if (this.detail) out.push(this.detail);
    if (this.hint) out.push(`hint: ${this.hint}`);
    return out.join('\n');
  }

  /** Extra text shown under the caret (e.g. the last lines a failed RUN printed). */
  detail: string | undefined;
}

function visibleTabs(text: string): string {
  // Tabs render at unknown widths; one space each keeps the caret under the right character.
  return text.replace(/[\t\r]/g, ' ').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
}

/** For very long lines, show 80 characters either side of the column. */
function showWindow(text: string, column: number): { text: string; column: number } {
  const start = Math.max(0, column - 81);
  const end = Math.min(text.length, column + 80);
  const prefix = start > 0 ? '…' : '';
  const suffix = end < text.length ? '…' : '';
  return { text: prefix + text.slice(start, end) + suffix, column: column - start + prefix.length };
}

export function isOboxError(e: unknown): e is OboxError {
  return e instanceof OboxError;
}
