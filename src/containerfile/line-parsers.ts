/**
 * Shapes an instruction's arguments by keyword, the way BuildKit's line parsers do:
 * exec (JSON) form with fallback to shell form on invalid JSON, whitespace-split words,
 * quote-aware words, key/value pairs for ENV and LABEL, and the HEALTHCHECK type word.
 */
import type { KeyValue, NodeArgs } from './nodes.js';
import { isSpace } from './lines.js';

export class ArgsError extends Error {
  constructor(
    message: string,
    /** Offset within the arguments text where the problem is. */
    readonly offset: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Keywords whose argument text is one string (or JSON for the first three). */
export type ArgsShape = 'maybeJSON' | 'maybeJSONToList' | 'nameOrNameVal' | 'nameVal' | 'words' | 'string' | 'healthcheck' | 'onbuild' | 'unknown';

const SHAPE_TABLE: Readonly<Record<string, ArgsShape>> = {
  add: 'maybeJSONToList',
  arg: 'nameOrNameVal',
  cmd: 'maybeJSON',
  copy: 'maybeJSONToList',
  entrypoint: 'maybeJSON',
  env: 'nameVal',
  expose: 'words',
  from: 'words',
  healthcheck: 'healthcheck',
  label: 'nameVal',
  maintainer: 'string',
  onbuild: 'onbuild',
  run: 'maybeJSON',
  shell: 'maybeJSON',
  stopsignal: 'string',
  user: 'string',
  volume: 'maybeJSONToList',
  workdir: 'string',
};

/** A Map, not the object: keywords come from user input (`__proto__` is a keyword too). */
export const SHAPES: ReadonlyMap<string, ArgsShape> = new Map(Object.entries(SHAPE_TABLE));

const WHITESPACE = /[\t\v\f\r ]+/;

export function splitWhitespace(rest: string): string[] {
  return rest === '' ? [] : rest.split(WHITESPACE);
}

/**
 * Words separated by unquoted whitespace; quotes and escapes are kept (expansion removes them later).
 * An escape character at the very end is dropped.
 */
export function parseWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let blankOK = false;
  let quote: string | undefined;
  const chars = Array.from(rest);
  for (let i = 0; i < chars.length; i++) {
    let ch = chars[i]!;
    if (!inWord) {
      if (isSpace(ch)) continue;
      inWord = true;
    }
    if (quote === undefined) {
      if (isSpace(ch)) {
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        inWord = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
      }
      if (ch === escape) {
        if (i + 1 === chars.length) continue;
        word += ch;
        ch = chars[++i]!;
      }
      word += ch;
      continue;
    }
    // Inside quotes.
    if (ch === quote) {
      quote = undefined;
    } else if (ch === escape && quote !== "'") {
      if (i + 1 === chars.length) {
        quote = undefined;
        continue;
      }
      word += ch;
      ch = chars[++i]!;
    }
    word += ch;
  }
  if (inWord && (blankOK || word.length > 0)) words.push(word);
  return words;
}

type JsonResult = { ok: true; items: string[] } | { ok: false; notStrings: boolean };

/** Exec form: a JSON array of strings. An array with a non-string element is an error, as in BuildKit. */
export function parseJSONArray(rest: string): JsonResult {
  let i = 0;
  while (i < rest.length && isSpace(rest[i])) i++;
  if (rest[i] !== '[') return { ok: false, notStrings: false };
  let value: unknown;
  try {
    value = JSON.parse(rest.slice(i));
  } catch {
    return { ok: false, notStrings: false };
  }
  if (!Array.isArray(value)) return { ok: false, notStrings: false };
  if (!value.every((v): v is string => typeof v === 'string')) return { ok: false, notStrings: true };
  return { ok: true, items: value };
}

const NOT_STRINGS = 'when using JSON array syntax, arrays must be comprised of strings only';

function maybeJSON(rest: string): NodeArgs {
  if (rest === '') return { kind: 'none' };
  const json = parseJSONArray(rest);
  if (json.ok) return { kind: 'json', items: json.items };
  if (json.notStrings) throw new ArgsError(NOT_STRINGS, 0, 'quote every element, e.g. ["sh", "-c", "echo hi"]');
  return { kind: 'string', text: rest };
}

function maybeJSONToList(rest: string): NodeArgs {
  const json = parseJSONArray(rest);
  if (json.ok) return { kind: 'json', items: json.items };
  if (json.notStrings) throw new ArgsError(NOT_STRINGS, 0, 'quote every element, e.g. ["src", "/dest/"]');
  const words = splitWhitespace(rest);
  return words.length === 0 ? { kind: 'none' } : { kind: 'words', words };
}

function nameVal(rest: string, keyword: string, escape: string): NodeArgs {
  const words = parseWords(rest, escape);
  if (words.length === 0) return { kind: 'none' };
  if (!words[0]!.includes('=')) {
    // Legacy form: KEY name value
    const m = WHITESPACE.exec(rest);
    if (!m) {
      throw new ArgsError(`${keyword.toUpperCase()} must have two arguments`, 0, `write ${keyword.toUpperCase()} name=value`);
    }
    const key = rest.slice(0, m.index);
    const value = rest.slice(m.index + m[0].length);
    return { kind: 'pairs', pairs: [{ key, value, hasEquals: false }] };
  }
  const pairs: KeyValue[] = [];
  let searchFrom = 0;
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq === -1) {
      const at = Math.max(0, rest.indexOf(word, searchFrom));
      throw new ArgsError(`Syntax error - can't find = in "${word}". Must be of the form: name=value`, at, 'quote values that contain spaces: name="a value"');
    }
    searchFrom = rest.indexOf(word, searchFrom) + word.length;
    pairs.push({ key: word.slice(0, eq), value: word.slice(eq + 1), hasEquals: true });
  }
  return { kind: 'pairs', pairs };
}

function healthcheck(rest: string): NodeArgs {
  let sep = 0;
  while (sep < rest.length && !isSpace(rest[sep])) sep++;
  if (sep === 0) return { kind: 'none' };
  let next = sep;
  while (next < rest.length && isSpace(rest[next])) next++;
  const command = maybeJSON(rest.slice(next));
  return {
    kind: 'healthcheck',
    type: rest.slice(0, sep),
    command: command.kind === 'json' || command.kind === 'string' ? command : undefined,
  };
}

/** Shapes the arguments of every keyword except ONBUILD (which the parser recurses into). */
export function shapeArgs(keyword: string, rest: string, escape: string): NodeArgs {
  const shape = SHAPES.get(keyword) ?? 'unknown';
  switch (shape) {
    case 'maybeJSON':
      return maybeJSON(rest);
    case 'maybeJSONToList':
      return maybeJSONToList(rest);
    case 'nameOrNameVal': {
      const words = parseWords(rest, escape);
      return words.length === 0 ? { kind: 'none' } : { kind: 'words', words };
    }
    case 'nameVal':
      return nameVal(rest, keyword, escape);
    case 'words': {
      const words = splitWhitespace(rest);
      return words.length === 0 ? { kind: 'none' } : { kind: 'words', words };
    }
    case 'string':
      return rest === '' ? { kind: 'none' } : { kind: 'string', text: rest };
    case 'healthcheck':
      return healthcheck(rest);
    case 'onbuild':
    case 'unknown':
      return rest === '' ? { kind: 'none' } : { kind: 'string', text: rest };
  }
}
