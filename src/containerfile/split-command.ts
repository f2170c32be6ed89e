/**
 * Splits a logical line into keyword, `--flags` and the rest, as BuildKit's splitCommand and
 * extractBuilderFlags do: flags are the leading words that start with `--`; quotes inside a flag
 * word are removed and a backslash escapes the next character; a lone `--` ends the flags.
 */
import type { Flag } from './nodes.js';
import { isSpace } from './lines.js';

export interface SplitCommand {
  keywordText: string;
  /** Offset of the keyword in the line. */
  keywordOffset: number;
  flags: Flag[];
  /** Everything after the flags, trimmed. */
  rest: string;
  /** Offset of `rest` in the line. */
  restOffset: number;
}

export function splitCommand(line: string): SplitCommand {
  let start = 0;
  while (start < line.length && isSpace(line[start])) start++;
  let end = start;
  while (end < line.length && !isSpace(line[end])) end++;
  const keywordText = line.slice(start, end);
  let flags: Flag[] = [];
  let restOffset = end;
  if (end < line.length) {
    const extracted = extractFlags(line, end);
    flags = extracted.flags;
    restOffset = extracted.restOffset;
  }
  // Trim the rest on both sides, keeping track of where it starts.
  while (restOffset < line.length && isSpace(line[restOffset])) restOffset++;
  let restEnd = line.length;
  while (restEnd > restOffset && isSpace(line[restEnd - 1])) restEnd--;
  return { keywordText, keywordOffset: start, flags, rest: line.slice(restOffset, restEnd), restOffset };
}

function toFlag(word: string): Flag {
  const body = word.slice(2);
  const eq = body.indexOf('=');
  return eq === -1
    ? { raw: word, name: body, value: undefined }
    : { raw: word, name: body.slice(0, eq), value: body.slice(eq + 1) };
}

function extractFlags(line: string, from: number): { flags: Flag[]; restOffset: number } {
  const words: string[] = [];
  let pos = from;
  for (;;) {
    while (pos < line.length && isSpace(line[pos])) pos++;
    if (pos >= line.length) return { flags: words.map(toFlag), restOffset: line.length };
    if (line[pos] !== '-' || line[pos + 1] !== '-') return { flags: words.map(toFlag), restOffset: pos };
    // Read one flag word.
    let word = '';
    let blankOK = false;
    let quote: string | undefined;
    while (pos < line.length) {
      const ch = line[pos]!;
      if (quote === undefined) {
        if (isSpace(ch)) break;
        if (ch === '"' || ch === "'") {
          quote = ch;
          blankOK = true;
          pos++;
          continue;
        }
      } else if (ch === quote) {
        quote = undefined;
        pos++;
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === line.length) {
          pos++;
          continue;
        }
        pos++;
        word += line[pos];
        pos++;
        continue;
      }
      word += ch;
      pos++;
    }
    if (word === '--') {
      return { flags: words.map(toFlag), restOffset: pos };
    }
    if (blankOK || word.length > 0) words.push(word);
  }
}
