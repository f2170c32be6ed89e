/**
 * Heredoc markers on an instruction line (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`) and reading their
 * bodies. Detection follows BuildKit: the line is split into shell words keeping quotes and escapes;
 * each word of the form `[fd]<<[-]NAME` opens a heredoc; if any part of NAME was quoted, the body is
 * not expanded.
 */
import { expandWords, type Env } from './expand.js';

const HEREDOC_WORD = /^(\d*)<<(-?)([^<]*)$/;
const NO_ENV: Env = new Map();

export interface HeredocMarker {
  name: string;
  expand: boolean;
  chomp: boolean;
  fileDescriptor: number;
}

function countQuotes(s: string): number {
  let n = 0;
  for (const ch of s) if (ch === '"' || ch === "'") n++;
  return n;
}

/** Parses one word as a heredoc marker; undefined when it is not one. */
export function parseHeredocMarker(word: string): HeredocMarker | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m) return undefined;
  const rest = m[3]!;
  if (rest.length === 0) return undefined;
  const plain = expandWords(rest, NO_ENV, { skipUnsetEnv: true }).words;
  if (plain.length !== 1) return undefined;
  const raw = expandWords(rest, NO_ENV, { skipUnsetEnv: true, rawQuotes: true }).words;
  const name = plain[0]!;
  return {
    name,
    expand: raw.length === 1 && countQuotes(name) === countQuotes(raw[0]!),
    chomp: m[2] === '-',
    fileDescriptor: m[1] ? Number.parseInt(m[1], 10) : 0,
  };
}

/** All heredoc markers on an instruction line, in order. A line the lexer cannot split has none. */
export function heredocMarkersInLine(line: string): HeredocMarker[] {
  // Every marker word contains `<<`; most lines have none, and lexing them is the costly part.
  if (!line.includes('<<')) return [];
  let words: string[];
  try {
    words = expandWords(line, NO_ENV, { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }).words;
  } catch {
    return [];
  }
  const markers: HeredocMarker[] = [];
  for (const word of words) {
    const marker = parseHeredocMarker(word);
    if (marker) markers.push(marker);
  }
  return markers;
}

/** `<<-` bodies: leading tabs removed from every line. */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, '');
}
