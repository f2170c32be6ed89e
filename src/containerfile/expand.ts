/**
 * Word expansion exactly as BuildKit's shell lexer does it (frontend/dockerfile/shell):
 * variables, the ${...} operators, quotes and escapes. Conformance: ../shared/conformance/buildkit-shell.
 *
 * What BuildKit does, and so what this does (including the parts that differ from a POSIX shell):
 * - `$NAME`, `${NAME}`; a name is letters, digits and `_` (Unicode letters and digits count); a name that
 *   starts with a digit is all the digits that follow (`$12x` reads `12`); `@ * # ? - $ ! 0` are one-character
 *   special names. None of the positional or special names is ever set unless the environment sets it.
 *   `$` not followed by a name is a literal `$`.
 * - `${V:-w} ${V-w} ${V:+w} ${V+w} ${V:?msg} ${V?msg}`; `${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r}`.
 *   Patterns know `*`, `?` and the escapes `\*`, `\?`, `\\` (`\}` and `\/` stand for `}` and `/`); every other
 *   character, `[` included, is literal (BuildKit has no bracket expressions). `*` and `?` never match a
 *   newline (they are Go regexp `.`). Quotes inside a pattern are removed before it is read, so `"*"` is
 *   still a wildcard. In `${V//p/r}` the replacement is a Go regexp template: `$0` / `${0}` is the match,
 *   `$$` is `$`, other `$names` are empty. Escapes in `r` are kept (`${V//a/\/}` puts `\/`).
 * - Single quotes keep everything literally. Inside double quotes the escape character escapes only `"`,
 *   `$` and itself; before anything else it stays, and at the very end it is dropped. Outside quotes the
 *   escape character makes the next character literal, and is dropped at the end of the word.
 * - Inside `${V-w}`, `${V+w}`, `${V?w}` escapes are always removed, even with `rawEscapes`; inside
 *   `#`, `%` and `/` operands they are always kept (they are part of the pattern).
 * - `skipUnsetEnv`: a reference to an unset variable is written back as `$NAME`, `${NAME}` or
 *   `${NAME<op><expanded word>}` (for `//` BuildKit writes a single `/`).
 * - `expandWords` splits on whitespace as Go's unicode.IsSpace defines it; a word that is only `""` or `''`
 *   vanishes. The result of an unquoted `${V:-"a b"}` is split although it was quoted inside.
 * - A U+FEFF at the very start of the word is dropped (Go's text/scanner does that).
 *
 * One deliberate difference: newer BuildKit shares one buffer between nested lexer calls when splitting
 * words, so `ab${X:-c}d` splits to `cd` there; this keeps the word (`abcd`), as BuildKit did before.
 *
 * The matcher for patterns is a leftmost-first NFA simulation (the semantics of Go's regexp, which BuildKit
 * uses), linear in the value times the pattern, never a backtracking regexp. Nesting of `${...}` is limited
 * to {@link MAX_NESTING} levels, and pattern matching to a fixed amount of work per word; both throw
 * {@link ExpansionError} rather than hang or overflow the stack.
 */

export type Env = ReadonlyMap<string, string>;

export interface ExpandOptions {
  /** The Containerfile's escape character. Default `\`. */
  escape?: '\\' | '`';
  /** Keep quote characters in the output (used for heredoc detection). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output (used for heredoc detection). */
  rawEscapes?: boolean;
  /** Leave `$VAR` text as written when VAR is unset instead of expanding to empty. */
  skipUnsetEnv?: boolean;
}

export interface ExpandResult {
  value: string;
  /** Variables that were referenced and set. */
  matched: Set<string>;
  /** Variables that were referenced but not set. */
  unmatched: Set<string>;
}

export interface ExpandWordsResult {
  words: string[];
  matched: Set<string>;
  unmatched: Set<string>;
}

/** How deeply `${...}` may nest inside the word of another `${...}` before expansion gives up. */
export const MAX_NESTING = 1000;

/** Pattern-matching work allowed per expanded word (NFA thread steps), far beyond any real Containerfile. */
export const MAX_PATTERN_STEPS = 50_000_000;

/** Longest `#`, `%` or `/` pattern accepted, in pattern elements. */
export const MAX_PATTERN_TOKENS = 1_000_000;

/**
 * Expansion failed: bad syntax (`${}`, `${a:b}`, unterminated quotes or braces), `${V?msg}` / `${V:?msg}`
 * with V unset (or empty), an invalid pattern, or input beyond the limits.
 */
export class ExpansionError extends Error {
  /** 0-based offset (in UTF-16 code units, i.e. a JS string index) in the word where the problem starts. */
  readonly column: number;
  /** The problem alone, without the `failed to process "WORD"` prefix of `message`. */
  readonly reason: string;

  constructor(reason: string, column: number, word: string) {
    super(`failed to process ${quoteForMessage(word)}: ${reason}`);
    this.name = 'ExpansionError';
    this.reason = reason;
    this.column = column;
  }
}

/** Expands one word; no splitting (BuildKit `ProcessWordWithMatches`). Throws {@link ExpansionError}. */
export function expandWord(word: string, env: Env, options: ExpandOptions = {}): ExpandResult {
  const ex = new Expander(word, env, options);
  const value = ex.run(null);
  return { value, matched: ex.matched, unmatched: ex.unmatched };
}

/**
 * Expands and splits into shell words (BuildKit `ProcessWords`): unquoted whitespace separates words,
 * whitespace in unquoted expansion results too; quoted text and escaped characters never split.
 * Throws {@link ExpansionError}.
 */
export function expandWords(word: string, env: Env, options: ExpandOptions = {}): ExpandWordsResult {
  const ex = new Expander(word, env, options);
  const acc = new WordsAccumulator();
  ex.run(acc);
  return { words: acc.finish(), matched: ex.matched, unmatched: ex.unmatched };
}

// ---------------------------------------------------------------------------------------------------------
// Internals

const EOF = -1;
const CH_DOLLAR = 0x24; // $
const CH_SQUOTE = 0x27; // '
const CH_DQUOTE = 0x22; // "
const CH_LBRACE = 0x7b; // {
const CH_RBRACE = 0x7d; // }
const CH_COLON = 0x3a; // :
const CH_SLASH = 0x2f; // /
const CH_BACKSLASH = 0x5c; // \
const CH_STAR = 0x2a; // *
const CH_QUESTION = 0x3f; // ?
const CH_HASH = 0x23; // #
const CH_PERCENT = 0x25; // %
const CH_PLUS = 0x2b; // +
const CH_MINUS = 0x2d; // -
const CH_UNDERSCORE = 0x5f; // _
const CH_NEWLINE = 0x0a;
const CH_BOM = 0xfeff;

/** Thrown inside the expander; turned into an {@link ExpansionError} at the top. */
class Failure {
  constructor(
    readonly reason: string,
    readonly column: number,
  ) {}
}

function quoteForMessage(word: string): string {
  const shown = word.length > 200 ? `${word.slice(0, 200)}…` : word;
  return JSON.stringify(shown);
}

/** Go's unicode.IsSpace: Latin-1 spaces plus the White_Space property. */
const SPACE_RUN = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;
const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;

function isDigit(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x30 && cp <= 0x39;
  return DIGIT.test(String.fromCodePoint(cp));
}

function isLetter(cp: number): boolean {
  if (cp < 0x80) return (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  return LETTER.test(String.fromCodePoint(cp));
}

function isSpecialParam(cp: number): boolean {
  switch (cp) {
    case 0x40: // @
    case CH_STAR:
    case CH_HASH:
    case CH_QUESTION:
    case CH_MINUS:
    case CH_DOLLAR:
    case 0x21: // !
    case 0x30: // 0
      return true;
    default:
      return false;
  }
}

/** The code point at `i` (a lone surrogate is its own code point), or EOF past the end. */
function codePointAt(s: string, i: number): number {
  if (i >= s.length) return EOF;
  return s.codePointAt(i)!;
}

function width(cp: number): number {
  return cp > 0xffff ? 2 : 1;
}

function charOf(cp: number): string {
  return cp === EOF ? '' : String.fromCodePoint(cp);
}

/** BuildKit's wordsStruct: builds the shell words of the top-level word. */
class WordsAccumulator {
  private readonly words: string[] = [];
  private word = '';
  private inWord = false;

  /** Text whose whitespace separates words (unquoted text, unquoted expansion results). */
  addString(s: string): void {
    SPACE_RUN.lastIndex = 0;
    let last = 0;
    for (let m = SPACE_RUN.exec(s); m !== null; m = SPACE_RUN.exec(s)) {
      if (m.index > last) this.addRaw(s.slice(last, m.index));
      this.space();
      last = m.index + m[0].length;
    }
    if (last < s.length) this.addRaw(last === 0 ? s : s.slice(last));
  }

  /** Text that never separates (quoted text, escaped characters); may be empty. */
  addRaw(s: string): void {
    this.word += s;
    this.inWord = true;
  }

  private space(): void {
    // As BuildKit: an empty word in progress (from `""`) is not emitted, and stays "in word".
    if (this.inWord && this.word.length !== 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
  }

  finish(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

class Expander {
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();
  private readonly src: string;
  private pos: number;
  private readonly escape: number;
  private readonly rawQuotes: boolean;
  private readonly skipUnsetEnv: boolean;
  private rawEscapes: boolean;
  private depth = 0;
  /** Pattern matching work still allowed. */
  private budget = MAX_PATTERN_STEPS;

  constructor(
    src: string,
    private readonly env: Env,
    options: ExpandOptions,
  ) {
    this.src = src;
    // Go's text/scanner skips a byte-order mark at the start of its input.
    this.pos = src.charCodeAt(0) === CH_BOM ? 1 : 0;
    const escape = options.escape ?? '\\';
    if (escape !== '\\' && escape !== '`') throw new TypeError(`invalid escape character ${JSON.stringify(escape)}`);
    this.escape = escape.charCodeAt(0);
    this.rawQuotes = options.rawQuotes === true;
    this.rawEscapes = options.rawEscapes === true;
    this.skipUnsetEnv = options.skipUnsetEnv === true;
  }

  run(words: WordsAccumulator | null): string {
    try {
      return this.processStopOn(EOF, this.rawEscapes, words);
    } catch (e) {
      if (e instanceof Failure) throw new ExpansionError(e.reason, e.column, this.src);
      if (e instanceof RangeError) {
        // Belt and braces: the nesting limit should keep the stack from overflowing; a result beyond
        // the longest string V8 can hold also lands here.
        const reason = /call stack/i.test(e.message) ? 'expansions nested too deeply' : `expansion result too large (${e.message})`;
        throw new ExpansionError(reason, this.pos, this.src);
      }
      throw e;
    }
  }

  private peek(): number {
    return codePointAt(this.src, this.pos);
  }

  private next(): number {
    const cp = codePointAt(this.src, this.pos);
    if (cp !== EOF) this.pos += width(cp);
    return cp;
  }

  /**
   * Reads up to `stop` (consumed) or the end of the word (stop = EOF). Running out of input while looking
   * for `stop` fails. `rawEscapes` applies inside (BuildKit sets it per call).
   */
  private processStopOn(stop: number, rawEscapes: boolean, words: WordsAccumulator | null): string {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      const src = this.src;
      const esc = this.escape;
      let out = '';
      for (;;) {
        const ch = this.peek();
        if (ch === EOF) break;
        if (stop !== EOF && ch === stop) {
          this.pos++;
          return out;
        }
        if (ch === CH_DOLLAR) {
          const value = this.processDollar();
          out += value;
          words?.addString(value);
          continue;
        }
        if (ch === CH_SQUOTE || ch === CH_DQUOTE) {
          const value = ch === CH_SQUOTE ? this.processSingleQuote() : this.processDoubleQuote();
          out += value;
          words?.addRaw(value);
          continue;
        }
        if (ch === esc) {
          this.pos++;
          if (this.rawEscapes) {
            const e = String.fromCharCode(esc);
            out += e;
            words?.addRaw(e);
          }
          const escaped = this.next();
          if (escaped === EOF) break; // an escape at the end of the word is dropped
          const s = String.fromCodePoint(escaped);
          out += s;
          words?.addRaw(s);
          continue;
        }
        // A run of ordinary characters. Every special character is ASCII, so code units suffice.
        let end = this.pos + 1;
        while (end < src.length) {
          const c = src.charCodeAt(end);
          if (c === CH_DOLLAR || c === CH_SQUOTE || c === CH_DQUOTE || c === esc || c === stop) break;
          end++;
        }
        const run = src.slice(this.pos, end);
        this.pos = end;
        out += run;
        words?.addString(run);
      }
      if (stop !== EOF) {
        throw new Failure(`unexpected end of statement while looking for matching ${charOf(stop)}`, this.pos);
      }
      return out;
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    const start = this.pos;
    this.pos++; // the opening quote
    const close = this.src.indexOf("'", this.pos);
    if (close < 0) {
      this.pos = this.src.length;
      throw new Failure('unexpected end of statement while looking for matching single-quote', start);
    }
    const body = this.src.slice(this.pos, close);
    this.pos = close + 1;
    return this.rawQuotes ? `'${body}'` : body;
  }

  private processDoubleQuote(): string {
    const start = this.pos;
    const src = this.src;
    const esc = this.escape;
    this.pos++; // the opening quote
    let out = this.rawQuotes ? '"' : '';
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) {
        throw new Failure('unexpected end of statement while looking for matching double-quote', start);
      }
      if (ch === CH_DQUOTE) {
        this.pos++;
        if (this.rawQuotes) out += '"';
        return out;
      }
      if (ch === CH_DOLLAR) {
        out += this.processDollar();
        continue;
      }
      if (ch === esc) {
        this.pos++;
        const e = String.fromCharCode(esc);
        if (this.rawEscapes) out += e;
        const n = this.peek();
        if (n === EOF) continue; // dropped; the loop then reports the missing quote
        if (n === CH_DQUOTE || n === CH_DOLLAR || n === esc) {
          this.pos++;
          out += String.fromCharCode(n);
        } else {
          // Not an escape here: the character stays (so with rawEscapes it appears twice, as in BuildKit).
          out += e;
        }
        continue;
      }
      let end = this.pos + 1;
      while (end < src.length) {
        const c = src.charCodeAt(end);
        if (c === CH_DQUOTE || c === CH_DOLLAR || c === esc) break;
        end++;
      }
      out += src.slice(this.pos, end);
      this.pos = end;
    }
  }

  private getEnv(name: string): string | undefined {
    const value = this.env.get(name);
    if (value === undefined) {
      this.unmatched.add(name);
      return undefined;
    }
    this.matched.add(name);
    return value;
  }

  private processName(): string {
    const start = this.pos;
    const first = this.peek();
    if (first === EOF) return '';
    if (isDigit(first)) {
      // A name starting with a digit is all the digits (positional parameters: `$12x` reads `12`).
      for (let cp = this.peek(); cp !== EOF && isDigit(cp); cp = this.peek()) this.pos += width(cp);
      return this.src.slice(start, this.pos);
    }
    if (isSpecialParam(first)) {
      this.pos++;
      return String.fromCharCode(first);
    }
    for (let cp = this.peek(); cp !== EOF; cp = this.peek()) {
      if (!(cp === CH_UNDERSCORE || isLetter(cp) || isDigit(cp))) break;
      this.pos += width(cp);
    }
    return this.src.slice(start, this.pos);
  }

  /** Reads the word of a `${NAME<op>word}` up to `stop`, mapping running out of input as BuildKit does. */
  private nested(stop: number, rawEscapes: boolean, start: number, eofReason: string): string {
    if (this.depth >= MAX_NESTING) {
      throw new Failure(`expansions nested more than ${MAX_NESTING} deep`, start);
    }
    this.depth++;
    try {
      return this.processStopOn(stop, rawEscapes, null);
    } catch (e) {
      if (e instanceof Failure && this.peek() === EOF) throw new Failure(eofReason, start);
      throw e;
    } finally {
      this.depth--;
    }
  }

  private processDollar(): string {
    const start = this.pos;
    this.pos++; // $

    if (this.peek() !== CH_LBRACE) {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getEnv(name);
      if (value === undefined && this.skipUnsetEnv) return `$${name}`;
      return value ?? '';
    }

    this.pos++; // {
    const first = this.peek();
    if (first === EOF) throw new Failure("syntax error: missing '}'", start);
    if (first === CH_LBRACE || first === CH_RBRACE || first === CH_COLON) {
      throw new Failure('syntax error: bad substitution', start);
    }
    const name = this.processName();
    let op = this.next();
    if (op === EOF) throw new Failure("syntax error: missing '}'", start);
    let ops = String.fromCodePoint(op);

    if (op === CH_RBRACE) {
      const value = this.getEnv(name);
      if (value === undefined && this.skipUnsetEnv) return `\${${name}}`;
      return value ?? '';
    }

    if (op === CH_SLASH) return this.processReplace(name, start);

    let nullIsUnset = false;
    if (op === CH_COLON) {
      nullIsUnset = true;
      op = this.next();
      ops += charOf(op);
    } else if (op !== CH_PLUS && op !== CH_MINUS && op !== CH_QUESTION && op !== CH_HASH && op !== CH_PERCENT) {
      throw new Failure(`unsupported modifier (${ops}) in substitution`, start);
    }

    // After `:` BuildKit reads the word whatever the operator is, and only then rejects a bad one.
    const isPattern = op === CH_HASH || op === CH_PERCENT;
    if (nullIsUnset && isPattern) throw new Failure(`unsupported modifier (${ops}) in substitution`, start);
    let word = this.nested(CH_RBRACE, isPattern, start, "syntax error: missing '}'");

    const value = this.getEnv(name);
    if (value === undefined && this.skipUnsetEnv) return `\${${name}${ops}${word}}`;
    const unset = value === undefined || (nullIsUnset && value === '');

    switch (op) {
      case CH_MINUS:
        return unset ? word : value!;
      case CH_PLUS:
        return unset ? '' : word;
      case CH_QUESTION:
        if (value === undefined) throw new Failure(`${name}: ${word || 'is not allowed to be unset'}`, start);
        if (unset) throw new Failure(`${name}: ${word || 'is not allowed to be empty'}`, start);
        return value;
      case CH_HASH:
      case CH_PERCENT: {
        // `#`/`%` remove the shortest match, `##`/`%%` the longest.
        let greedy = false;
        if (word.charCodeAt(0) === op) {
          greedy = true;
          word = word.slice(1);
        }
        const v = value ?? '';
        return op === CH_PERCENT ? this.trimSuffix(word, v, greedy, start) : this.trimPrefix(word, v, greedy, start);
      }
      default:
        throw new Failure(`unsupported modifier (${ops}) in substitution`, start);
    }
  }

  /** `${NAME/pattern/replacement}` and `${NAME//pattern/replacement}`, after the first `/`. */
  private processReplace(name: string, start: number): string {
    const replaceAll = this.peek() === CH_SLASH;
    if (replaceAll) this.pos++;
    const pattern = this.nested(CH_SLASH, true, start, "syntax error: missing '/' in ${}");
    const replacement = this.nested(CH_RBRACE, true, start, "syntax error: missing '}'");

    const value = this.getEnv(name);
    if (value === undefined && this.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
    const v = value ?? '';

    const matcher = this.compile(pattern, true, start);
    if (!replaceAll) {
      const m = matcher.find(v, 0, false);
      return m === null ? v : v.slice(0, m.start) + replacement + v.slice(m.end);
    }
    return replaceAllGo(v, matcher, compileTemplate(replacement));
  }

  private compile(pattern: string, greedy: boolean, start: number): Matcher {
    const tokens = parsePattern(pattern);
    if (typeof tokens === 'string') throw new Failure(`invalid pattern (${pattern}) in substitution: ${tokens}`, start);
    // Go's regexp refuses patterns this large too ("expression too large").
    if (tokens.length > MAX_PATTERN_TOKENS) throw new Failure('pattern in substitution too large', start);
    return new Matcher(tokens, greedy, this, start);
  }

  private trimPrefix(pattern: string, value: string, greedy: boolean, start: number): string {
    const m = this.compile(pattern, greedy, start).find(value, 0, true);
    return m === null ? value : value.slice(m.end);
  }

  private trimSuffix(pattern: string, value: string, greedy: boolean, start: number): string {
    // As BuildKit: reverse the value and the pattern, then remove a prefix, so the shortest match is
    // found from the right.
    const reversed = this.trimPrefix(reversePattern(pattern), reverseString(value), greedy, start);
    return reverseString(reversed);
  }

  /** Charges pattern-matching work against the word's budget. */
  charge(steps: number, start: number): void {
    this.budget -= steps;
    if (this.budget < 0) throw new Failure('pattern matching too expensive (pattern or value too large)', start);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Patterns

const TOK_ANY = -2;
const TOK_STAR = -3;

/**
 * A shell pattern as BuildKit's convertShellPatternToRegex reads it: a list of literal code points, TOK_ANY
 * (`?`) and TOK_STAR (`*`). Returns the error text for an invalid escape.
 */
function parsePattern(pattern: string): number[] | string {
  const tokens: number[] = [];
  let i = pattern.charCodeAt(0) === CH_BOM ? 1 : 0;
  while (i < pattern.length) {
    const cp = pattern.codePointAt(i)!;
    i += width(cp);
    if (cp === CH_STAR) {
      // `**` matches exactly what `*` does; one token keeps the automaton small.
      if (tokens[tokens.length - 1] !== TOK_STAR) tokens.push(TOK_STAR);
      continue;
    }
    if (cp === CH_QUESTION) {
      tokens.push(TOK_ANY);
      continue;
    }
    if (cp === CH_BACKSLASH) {
      const n = codePointAt(pattern, i);
      // `\}` and `\/` are escaped for the ${} syntax: the backslash is not part of the pattern.
      if (n === CH_RBRACE || n === CH_SLASH) continue;
      if (n !== CH_STAR && n !== CH_QUESTION && n !== CH_BACKSLASH) {
        return n === EOF ? "invalid escape '\\' at the end of the pattern" : `invalid escape '\\${charOf(n)}'`;
      }
      i += 1;
      tokens.push(n);
      continue;
    }
    tokens.push(cp);
  }
  return tokens;
}

/** BuildKit's reversePattern: reverses code points, keeping each `\x` escape in front of its character. */
function reversePattern(pattern: string): string {
  const cps = Array.from(pattern);
  const out: string[] = new Array<string>(cps.length);
  const last = cps.length - 1;
  let i = 0;
  while (i <= last) {
    const c = cps[i]!;
    const o = last - i;
    if (c === '\\' && i !== last) {
      out[o - 1] = c;
      out[o] = cps[i + 1]!;
      i += 2;
    } else {
      out[o] = c;
      i++;
    }
  }
  return out.join('');
}

function reverseString(s: string): string {
  return Array.from(s).reverse().join('');
}

interface Match {
  start: number;
  end: number;
}

/**
 * Leftmost-first matching of a token list (Go regexp semantics for `^?(lit|.|.*|.*?)*`), by simulating the
 * automaton with threads kept in priority order (a Pike VM): linear time in value length times pattern size.
 * `*` is a star over "any code point but a newline", greedy or lazy.
 */
class Matcher {
  private readonly m: number;
  /** Per state, the list it was last added to (to add each state once per position). */
  private readonly mark: Int32Array;
  private listId = 0;
  private curStates: Int32Array;
  private curStarts: Int32Array;
  private nextStates: Int32Array;
  private nextStarts: Int32Array;
  private readonly stack: Int32Array;

  constructor(
    private readonly tokens: number[],
    private readonly greedy: boolean,
    private readonly owner: { charge(steps: number, start: number): void },
    private readonly errorColumn: number,
  ) {
    this.m = tokens.length;
    const n = this.m + 1;
    this.mark = new Int32Array(n).fill(-1);
    this.curStates = new Int32Array(n);
    this.curStarts = new Int32Array(n);
    this.nextStates = new Int32Array(n);
    this.nextStarts = new Int32Array(n);
    // Each state is pushed at most twice per closure (as a state and as a "consume star" entry).
    this.stack = new Int32Array(2 * n + 2);
  }

  /**
   * Adds state `s` and everything reachable from it without consuming input, in priority order, to the
   * list (`states`, `starts`) of length `len`; returns the new length. Stack entries >= 0 are states to
   * expand, entries < 0 (-(s+1)) are star states to emit as consuming threads.
   */
  private addThread(states: Int32Array, starts: Int32Array, len: number, id: number, s0: number, start: number): number {
    const { tokens, m, mark, stack } = this;
    let sp = 0;
    stack[sp++] = s0;
    while (sp > 0) {
      const s = stack[--sp]!;
      if (s < 0) {
        states[len] = -s - 1;
        starts[len++] = start;
        continue;
      }
      if (mark[s] === id) continue;
      mark[s] = id;
      if (s < m && tokens[s] === TOK_STAR) {
        if (this.greedy) {
          // Prefer consuming: the star's own thread first, then what follows it.
          states[len] = s;
          starts[len++] = start;
          stack[sp++] = s + 1;
        } else {
          // Prefer skipping: everything after the star first, then the star's thread.
          stack[sp++] = -(s + 1);
          stack[sp++] = s + 1;
        }
        continue;
      }
      states[len] = s;
      starts[len++] = start;
    }
    return len;
  }

  /** The first match starting at or after `from` (exactly at `from` when anchored), or null. */
  find(value: string, from: number, anchored: boolean): Match | null {
    const { tokens, m } = this;
    let id = ++this.listId;
    let curLen = this.addThread(this.curStates, this.curStarts, 0, id, 0, from);
    let found: Match | null = null;
    let pos = from;
    let steps = 0;
    for (;;) {
      if (!anchored && found === null && pos > from) {
        // Unanchored search: a new attempt starting here, with the lowest priority.
        curLen = this.addThread(this.curStates, this.curStarts, curLen, id, 0, pos);
      }
      if (curLen === 0) break;
      const cp = pos < value.length ? value.codePointAt(pos)! : EOF;
      const nextId = ++this.listId;
      let nextLen = 0;
      steps += curLen;
      for (let t = 0; t < curLen; t++) {
        const s = this.curStates[t]!;
        if (s === m) {
          // The best thread has matched; lower-priority threads can only give worse matches.
          found = { start: this.curStarts[t]!, end: pos };
          break;
        }
        if (cp === EOF) continue;
        const tok = tokens[s]!;
        const ok = tok >= 0 ? tok === cp : cp !== CH_NEWLINE;
        if (!ok) continue;
        nextLen = this.addThread(this.nextStates, this.nextStarts, nextLen, nextId, tok === TOK_STAR ? s : s + 1, this.curStarts[t]!);
      }
      if (steps > 1_000_000) {
        this.owner.charge(steps, this.errorColumn);
        steps = 0;
      }
      if (cp === EOF) break;
      pos += width(cp);
      [this.curStates, this.nextStates] = [this.nextStates, this.curStates];
      [this.curStarts, this.nextStarts] = [this.nextStarts, this.curStarts];
      curLen = nextLen;
      id = nextId;
      if (curLen === 0 && (anchored || found !== null)) break;
    }
    this.owner.charge(steps, this.errorColumn);
    return found;
  }
}

/** A `${V//p/r}` replacement as a Go regexp template: literal text, and -1 where the match goes (`$0`). */
type Template = (string | -1)[];

function compileTemplate(template: string): Template {
  const out: Template = [];
  let lit = '';
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf('$', i);
    if (d < 0) break;
    lit += template.slice(i, d);
    i = d + 1;
    if (template.charCodeAt(i) === CH_DOLLAR) {
      lit += '$';
      i++;
      continue;
    }
    const ref = templateRef(template, i);
    if (ref === null) {
      lit += '$'; // malformed: the `$` is literal
      continue;
    }
    i = ref.end;
    if (ref.isWholeMatch) {
      out.push(lit, -1);
      lit = '';
    }
    // Any other group or name does not exist in these patterns: it expands to nothing.
  }
  lit += template.slice(i);
  out.push(lit);
  return out;
}

/** Go regexp's template reference after a `$`: `name` or `{name}`, name made of letters, digits and `_`. */
function templateRef(t: string, i: number): { end: number; isWholeMatch: boolean } | null {
  let j = i;
  const brace = t.charCodeAt(j) === CH_LBRACE;
  if (brace) j++;
  const nameStart = j;
  for (let cp = codePointAt(t, j); cp !== EOF; cp = codePointAt(t, j)) {
    if (!(cp === CH_UNDERSCORE || isLetter(cp) || isDigit(cp))) break;
    j += width(cp);
  }
  if (j === nameStart) return null;
  const name = t.slice(nameStart, j);
  if (brace) {
    if (t.charCodeAt(j) !== CH_RBRACE) return null;
    j++;
  }
  // Group numbers are ASCII digits without leading zeros; only group 0 (the whole match) exists.
  return { end: j, isWholeMatch: name === '0' };
}

function applyTemplate(template: Template, matchText: string): string {
  if (template.length === 1) return template[0] as string;
  let out = '';
  for (const part of template) out += part === -1 ? matchText : part;
  return out;
}

/** Go's Regexp.ReplaceAllString: empty matches right after a match are skipped. */
function replaceAllGo(value: string, matcher: Matcher, template: Template): string {
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  const end = value.length;
  while (searchPos <= end) {
    const m = matcher.find(value, searchPos, false);
    if (m === null) break;
    out += value.slice(lastMatchEnd, m.start);
    if (m.end > lastMatchEnd || m.start === 0) out += applyTemplate(template, value.slice(m.start, m.end));
    lastMatchEnd = m.end;
    const w = searchPos < end ? width(value.codePointAt(searchPos)!) : 0;
    if (searchPos + w > m.end) searchPos += w;
    else if (searchPos + 1 > m.end) searchPos++;
    else searchPos = m.end;
  }
  return out + value.slice(lastMatchEnd);
}
