/**
 * One .dockerignore pattern, compiled the way moby/patternmatcher compiles it (Linux, `/` separator).
 *
 * patternmatcher turns a cleaned pattern into one of four match kinds:
 * - exact:  no glob characters at all → string equality;
 * - prefix: literal text then a trailing `**` (`dir/**`) → starts-with;
 * - suffix: a leading `**` followed by literal text (`**∕foo`, `**foo`) → ends-with
 *           (and `**∕foo` also matches `foo` itself);
 * - regexp: everything else, through a Go regular expression it builds by hand:
 *           `*` → `[^/]*`, `?` → `[^/]`, a middle `**` (with its slash) → an optional
 *           "any text ending in a slash" group, a trailing `**` → `.*`,
 *           `\x` → `\x`, `[`/`]` passed through as-is, `.+()|{}$` escaped.
 *
 * Because `[...]` and `\x` go into the regexp untouched, their meaning is Go regexp syntax (not
 * filepath.Match syntax): `[^a]` is a negated class that can match `/`, `[!a]` is the set {!, a},
 * `\d` is a digit. This module generates the same Go regexp text and translates it to an
 * equivalent JavaScript RegExp, so obox and Docker agree on every pattern, including odd ones.
 *
 * Before compiling, Docker checks the pattern with Go's filepath.Match syntax rules (unterminated
 * `[`, empty class, trailing `\`, `-` misuse); `validateGlobSyntax` repeats that check.
 *
 * This module is pure: no I/O.
 */

/** A pattern Docker would refuse. `reason` is a short human description. */
export class PatternSyntaxError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.name = 'PatternSyntaxError';
    this.reason = reason;
  }
}

export type MatchKind = 'exact' | 'prefix' | 'suffix' | 'regexp';

export interface CompiledPattern {
  /** The cleaned pattern text, without any leading `!`. */
  readonly pattern: string;
  readonly kind: MatchKind;
  /** The Go regexp patternmatcher would build (only for kind `regexp`), for diagnostics. */
  readonly goRegexp: string | undefined;
  /** Whether `path` (slash-separated, relative, clean) matches this pattern by itself (no parents). */
  matches(path: string): boolean;
}

// ---------------------------------------------------------------------------------------------
// Go string helpers

/** Go's unicode.IsSpace set, which strings.TrimSpace uses (note: includes U+0085, excludes U+FEFF). */
const GO_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const TRIM_RE = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, 'g');

/** Go's strings.TrimSpace. */
export function goTrimSpace(s: string): string {
  return s.replace(TRIM_RE, '');
}

/**
 * Go's path/filepath.Clean on Linux: collapse `//`, drop `.` elements, resolve `..` lexically
 * (dropped at the root of an absolute path, kept at the start of a relative one), drop a trailing
 * `/`; an empty result is `.`.
 */
export function goClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = (rooted ? '/' : '') + out.join('/');
  return joined === '' ? '.' : joined;
}

// ---------------------------------------------------------------------------------------------
// filepath.Match syntax check (what patternmatcher.New runs before accepting a pattern)

/**
 * Throws PatternSyntaxError where Go's `filepath.Match(pattern, ".")` would return ErrBadPattern.
 * Match always parses the whole pattern (it keeps checking syntax after a mismatch), so this is a
 * check of every chunk's syntax.
 */
export function validateGlobSyntax(pattern: string): void {
  const cps = Array.from(pattern);
  let i = 0;
  while (i < cps.length) {
    // scanChunk: skip leading stars, then read up to the next `*` outside a class.
    while (i < cps.length && cps[i] === '*') i++;
    const start = i;
    let inRange = false;
    for (; i < cps.length; i++) {
      const c = cps[i];
      if (c === '\\') {
        if (i + 1 < cps.length) i++;
      } else if (c === '[') {
        inRange = true;
      } else if (c === ']') {
        inRange = false;
      } else if (c === '*' && !inRange) {
        break;
      }
    }
    checkChunk(cps.slice(start, i));
  }
}

/** The syntax half of Go's matchChunk. */
function checkChunk(chunk: string[]): void {
  let i = 0;
  while (i < chunk.length) {
    const c = chunk[i];
    if (c === '[') {
      i++;
      if (chunk[i] === '^') i++;
      let nrange = 0;
      for (;;) {
        if (i < chunk.length && chunk[i] === ']' && nrange > 0) {
          i++;
          break;
        }
        i = classChar(chunk, i, nrange === 0 ? 'first' : 'item');
        if (chunk[i] === '-') i = classChar(chunk, i + 1, 'rangeEnd');
        nrange++;
      }
    } else if (c === '\\') {
      i++;
      if (i >= chunk.length) throw new PatternSyntaxError('trailing "\\" escapes nothing');
      i++;
    } else {
      i++;
    }
  }
}

const UNTERMINATED = 'unterminated character class: missing "]"';

/** Go's getEsc: one (possibly escaped) character of a class; something must follow it. */
function classChar(chunk: string[], i: number, role: 'first' | 'item' | 'rangeEnd'): number {
  const c = chunk[i];
  if (c === undefined) throw new PatternSyntaxError(UNTERMINATED);
  if (c === '-') {
    throw new PatternSyntaxError(
      role === 'rangeEnd' ? 'bad character range: "-" cannot end a range' : 'unescaped "-" in character class (write "\\-" for a literal dash)',
    );
  }
  if (c === ']') {
    throw new PatternSyntaxError(
      role === 'first' ? 'empty character class "[]" (write "\\]" for a literal "]")' : 'bad character range: missing the character after "-"',
    );
  }
  if (c === '\\') {
    i++;
    if (i >= chunk.length) throw new PatternSyntaxError(UNTERMINATED);
  }
  i++;
  if (i >= chunk.length) throw new PatternSyntaxError(UNTERMINATED);
  return i;
}

// ---------------------------------------------------------------------------------------------
// patternmatcher's compile

/** Characters patternmatcher escapes when building its regexp (regexp-special, glob-ordinary). */
const GO_ESCAPED = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/** Compile one cleaned pattern (no leading `!`). Throws PatternSyntaxError. */
export function compilePattern(pattern: string): CompiledPattern {
  validateGlobSyntax(pattern);

  const cps = Array.from(pattern);
  let re = '^';
  let kind: MatchKind = 'exact';
  let i = 0;
  for (let iter = 0; i < cps.length; iter++) {
    const ch = cps[i++] as string;
    if (ch === '*') {
      if (cps[i] === '*') {
        i++;
        if (cps[i] === '/') i++; // treat `**/` as `**`
        if (i >= cps.length) {
          // A trailing `**` matches everything below, like .gitignore.
          if (kind === 'exact') kind = 'prefix';
          else {
            re += '.*';
            kind = 'regexp';
          }
        } else {
          // `**` in the middle: any number of directories, even zero.
          re += '(.*/)?';
          kind = 'regexp';
        }
        if (iter === 0) kind = 'suffix';
      } else {
        re += '[^/]*';
        kind = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      kind = 'regexp';
    } else if (GO_ESCAPED.has(ch)) {
      re += '\\' + ch;
    } else if (ch === '\\') {
      if (i < cps.length) {
        re += '\\' + (cps[i++] as string);
        kind = 'regexp';
      } else {
        re += '\\';
      }
    } else if (ch === '[' || ch === ']') {
      re += ch;
      kind = 'regexp';
    } else {
      re += ch;
    }
  }

  switch (kind) {
    case 'exact':
      return { pattern, kind, goRegexp: undefined, matches: (p) => p === pattern };
    case 'prefix': {
      const prefix = pattern.slice(0, -2);
      return { pattern, kind, goRegexp: undefined, matches: (p) => p.startsWith(prefix) };
    }
    case 'suffix': {
      const suffix = pattern.slice(2);
      const bare = suffix.startsWith('/') ? suffix.slice(1) : undefined;
      return { pattern, kind, goRegexp: undefined, matches: (p) => p.endsWith(suffix) || p === bare };
    }
    case 'regexp': {
      re += '$';
      const js = goRegexpToJs(re);
      return { pattern, kind, goRegexp: re, matches: (p) => js.test(p) };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Go RE2 (Perl flags, as regexp.Compile uses) → JavaScript RegExp with the `u` flag

/** Go's POSIX classes, as code point ranges. */
const POSIX: Record<string, Array<[number, number]>> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

/** Go's Perl classes: `\s` is only [\t\n\f\r ] in Go (JS's `\s` is wider). */
const PERL: Record<string, Array<[number, number]>> = {
  d: [[0x30, 0x39]],
  s: [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]],
  w: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
};

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };

function cp(n: number): string {
  return `\\u{${n.toString(16)}}`;
}

function rangesToClassBody(ranges: ReadonlyArray<readonly [number, number]>, negate: boolean): string {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  let list: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = list[list.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else list.push([lo, hi]);
  }
  if (negate) {
    const comp: Array<[number, number]> = [];
    let next = 0;
    for (const [lo, hi] of list) {
      if (lo > next) comp.push([next, lo - 1]);
      next = hi + 1;
    }
    if (next <= 0x10ffff) comp.push([next, 0x10ffff]);
    list = comp;
  }
  return list.map(([lo, hi]) => (lo === hi ? cp(lo) : `${cp(lo)}-${cp(hi)}`)).join('');
}

function isAsciiPunct(c: string): boolean {
  const n = c.codePointAt(0) ?? 0;
  return n < 0x80 && !/[0-9A-Za-z]/.test(c);
}

/** Go's one-letter `\pN` / `\PN` (general category) → a JS `\p{N}` atom. */
function unicodeClass(name: string, negate: boolean): string {
  if (!/^[CLMNPSZ]$/.test(name)) throw new PatternSyntaxError(`invalid Unicode class escape "\\p${name}"`);
  return `\\${negate ? 'P' : 'p'}{${name}}`;
}

/**
 * Translate the regexp text compile() built into a JS RegExp. Only constructs that text can
 * contain need handling: the generated `^ $ ( ) . * ?`, literal runes, `\x` escapes and classes
 * from the user's `[...]` and `\`.
 */
function goRegexpToJs(src: string): RegExp {
  const s = Array.from(src);
  let out = '';
  let i = 0;

  /** Parses a Go escape at s[i] === '\\' (outside or inside a class). */
  const escape = (inClass: boolean): { atom: string; ranges?: Array<[number, number]> } => {
    i++; // the backslash
    const c = s[i++];
    if (c === undefined) throw new PatternSyntaxError('trailing backslash escapes nothing');
    if (isAsciiPunct(c)) return { atom: cp(c.codePointAt(0) ?? 0), ranges: [[c.codePointAt(0) ?? 0, c.codePointAt(0) ?? 0]] };
    const simple = SIMPLE_ESCAPES[c];
    if (simple !== undefined) return { atom: cp(simple), ranges: [[simple, simple]] };
    const lower = c.toLowerCase();
    const perl = PERL[lower];
    if (perl) {
      const negate = c !== lower;
      return { atom: `[${rangesToClassBody(perl, negate)}]`, ranges: negate ? complement(perl) : perl };
    }
    // patternmatcher escapes `{` and `}`, so the braced forms `\p{Greek}` and `\x{41}` never reach
    // Go intact (and fail there); only `\pL` and `\x41` work.
    if (c === 'p' || c === 'P') {
      const atom = unicodeClass(s[i++] ?? '', c === 'P');
      return { atom: inClass ? atom : `[${atom}]` };
    }
    if (c === 'x') {
      const hex = s.slice(i, i + 2).join('');
      i += 2;
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new PatternSyntaxError('invalid \\x escape (want two hex digits)');
      const n = parseInt(hex, 16);
      return { atom: cp(n), ranges: [[n, n]] };
    }
    if (c >= '0' && c <= '7') {
      // `\0` and `\1`–`\7` followed by an octal digit: octal, up to three digits. A lone `\1` is a
      // backreference, which Go refuses.
      const isOct = (x: string | undefined): boolean => x !== undefined && x >= '0' && x <= '7';
      if (c !== '0' && !isOct(s[i])) throw new PatternSyntaxError(`invalid escape sequence "\\${c}"`);
      let n = Number(c);
      for (let k = 1; k < 3 && isOct(s[i]); k++) n = n * 8 + Number(s[i++]);
      return { atom: cp(n), ranges: [[n, n]] };
    }
    if (!inClass) {
      if (c === 'A') return { atom: '^' };
      if (c === 'z') return { atom: '$' };
      if (c === 'b' || c === 'B') return { atom: `\\${c}` };
      if (c === 'Q') {
        let lit = '';
        while (i < s.length && !(s[i] === '\\' && s[i + 1] === 'E')) lit += cp(s[i++]?.codePointAt(0) ?? 0);
        if (i < s.length) i += 2;
        return { atom: lit === '' ? '' : `(?:${lit})` };
      }
    }
    throw new PatternSyntaxError(`invalid escape sequence "\\${c}"`);
  };

  const parseClass = (): string => {
    i++; // `[`
    let negate = false;
    if (s[i] === '^') {
      negate = true;
      i++;
    }
    const ranges: Array<[number, number]> = [];
    const atoms: string[] = [];
    let first = true;
    for (;;) {
      const c = s[i];
      if (c === undefined) throw new PatternSyntaxError('unterminated character class: missing "]"');
      if (c === ']' && !first) {
        i++;
        break;
      }
      first = false;
      if (c === '[' && s[i + 1] === ':') {
        const rest = s.slice(i + 2).join('');
        const end = rest.indexOf(':]');
        if (end >= 0) {
          let name = rest.slice(0, end);
          const neg = name.startsWith('^');
          if (neg) name = name.slice(1);
          const posix = POSIX[name];
          if (!posix) throw new PatternSyntaxError(`unknown character class "[:${rest.slice(0, end)}:]"`);
          ranges.push(...(neg ? complement(posix) : posix));
          i += 2 + Array.from(rest.slice(0, end)).length + 2;
          continue;
        }
      }
      let lo: number;
      if (c === '\\') {
        const e = escape(true);
        if (!e.ranges) {
          atoms.push(e.atom);
          continue;
        }
        if (e.ranges.length !== 1 || e.ranges[0]?.[0] !== e.ranges[0]?.[1]) {
          ranges.push(...e.ranges);
          continue;
        }
        lo = e.ranges[0]?.[0] ?? 0;
      } else {
        lo = c.codePointAt(0) ?? 0;
        i++;
      }
      let hi = lo;
      if (s[i] === '-' && s[i + 1] !== undefined && s[i + 1] !== ']') {
        i++;
        const h = s[i] as string;
        if (h === '\\') {
          const e = escape(true);
          if (!e.ranges || e.ranges.length !== 1 || e.ranges[0]?.[0] !== e.ranges[0]?.[1]) {
            throw new PatternSyntaxError('invalid character class range');
          }
          hi = e.ranges[0]?.[0] ?? 0;
        } else {
          hi = h.codePointAt(0) ?? 0;
          i++;
        }
        if (hi < lo) throw new PatternSyntaxError(`invalid character class range "${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}"`);
      }
      ranges.push([lo, hi]);
    }
    if (atoms.length === 0) {
      const body = rangesToClassBody(ranges, negate);
      return body === '' ? '[]' : `[${body}]`;
    }
    return `[${negate ? '^' : ''}${rangesToClassBody(ranges, false)}${atoms.join('')}]`;
  };

  while (i < s.length) {
    const c = s[i] as string;
    switch (c) {
      case '(':
        out += '(?:';
        i++;
        break;
      case '^':
      case '$':
      case ')':
      case '*':
      case '?':
        out += c;
        i++;
        break;
      case '.':
        out += '[^\\n]';
        i++;
        break;
      case '[':
        out += parseClass();
        break;
      case '\\':
        out += escape(false).atom;
        break;
      default:
        out += cp(c.codePointAt(0) ?? 0);
        i++;
    }
  }
  // Consecutive `**/` groups match the same paths as one; collapsing them keeps JavaScript's
  // backtracking engine from going polynomial on `**/**/**/x` (Go's engine is linear).
  const anyDirs = '(?:[^\\n]*\\u{2f})?';
  while (out.includes(anyDirs + anyDirs)) out = out.split(anyDirs + anyDirs).join(anyDirs);
  try {
    return new RegExp(out, 'u');
  } catch (e) {
    throw new PatternSyntaxError(`not a valid pattern (${e instanceof Error ? e.message : String(e)})`);
  }
}

function complement(ranges: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}
