/**
 * Physical lines of a Containerfile and the logical lines built from them.
 * A logical line keeps a map from its character offsets back to (line, column) in the file,
 * so every later error can point at the exact spot.
 */
import type { Position } from './nodes.js';

export interface PhysicalLine {
  /** 1-based line number. */
  number: number;
  /** The line with its line ending. */
  raw: string;
  /** The line without `\r` and `\n` at the end. */
  text: string;
}

const BOM = '\ufeff';

/** Splits text into lines, keeping line endings (the last line may have none). Strips a leading BOM. */
export function splitPhysicalLines(source: string): PhysicalLine[] {
  const text = source.startsWith(BOM) ? source.slice(BOM.length) : source;
  const lines: PhysicalLine[] = [];
  let start = 0;
  let number = 1;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    const end = nl === -1 ? text.length : nl + 1;
    const raw = text.slice(start, end);
    lines.push({ number, raw, text: trimNewline(raw) });
    start = end;
    number++;
  }
  return lines;
}

/** Removes trailing `\r` and `\n` characters, as BuildKit's trimNewline does. */
export function trimNewline(s: string): string {
  let end = s.length;
  while (end > 0 && (s[end - 1] === '\n' || s[end - 1] === '\r')) end--;
  return s.slice(0, end);
}

/** Go's unicode.IsSpace for the characters that can appear in a line. */
export function isSpace(ch: string | undefined): boolean {
  if (ch === undefined) return false;
  switch (ch) {
    case ' ':
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case '\u0085':
    case '\u00a0':
      return true;
    default:
      return /\s/u.test(ch);
  }
}

export function trimLeadingSpace(s: string): string {
  let i = 0;
  while (i < s.length && isSpace(s[i])) i++;
  return s.slice(i);
}

export function trimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isSpace(s[start])) start++;
  while (end > start && isSpace(s[end - 1])) end--;
  return s.slice(start, end);
}

interface Segment {
  offset: number;
  line: number;
  column: number;
}

/** A logical line: text joined from one or more physical lines, with a position map. */
export class LogicalLine {
  private text_ = '';
  private readonly segments: Segment[] = [];

  get text(): string {
    return this.text_;
  }

  /** Appends text that starts at (line, column) of the file. */
  append(text: string, line: number, column: number): void {
    if (text.length === 0) return;
    this.segments.push({ offset: this.text_.length, line, column });
    this.text_ += text;
  }

  /** The file position of the character at `offset` (clamped to the line). */
  positionAt(offset: number): Position {
    if (this.segments.length === 0) return { line: 1, column: 1 };
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segments[mid]!.offset <= offset) lo = mid;
      else hi = mid - 1;
    }
    const seg = this.segments[lo]!;
    return { line: seg.line, column: seg.column + Math.max(0, offset - seg.offset) };
  }
}
