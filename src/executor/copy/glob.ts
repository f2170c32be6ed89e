/**
 * COPY/ADD source wildcards, as BuildKit resolves them (tonistiigi/fsutil copy.ResolveWildcards):
 * Go's `path/filepath.Match` applied per path component — `*` and `?` never match `/`,
 * `[...]` classes with `^` negation and ranges, `\` escapes. Pure.
 *
 * A malformed pattern (unterminated class, trailing `\`) matches nothing, as in BuildKit, which
 * ignores Match's ErrBadPattern.
 */

/** BuildKit's containsWildcards: `*`, `?` or `[` not escaped by `\`. */
export function hasWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

/**
 * BuildKit's splitWildcards on a clean relative path: the leading components without wildcards,
 * and the rest (from the first component with one). `a/b*∕c` → [`a`, `b*∕c`].
 */
export function splitWildcards(relPath: string): { literal: string[]; pattern: string[] } {
  const parts = relPath === '' ? [] : relPath.split('/');
  const i = parts.findIndex(hasWildcards);
  if (i === -1) return { literal: parts, pattern: [] };
  return { literal: parts.slice(0, i), pattern: parts.slice(i) };
}

class BadPattern extends Error {}

/** Go's filepath.Match on Linux. Returns false for a malformed pattern. */
export function goMatch(pattern: string, name: string): boolean {
  try {
    return match(Array.from(pattern), Array.from(name));
  } catch (e) {
    if (e instanceof BadPattern) return false;
    throw e;
  }
}

function match(pattern: string[], name: string[]): boolean {
  let p = pattern;
  let n = name;
  outer: while (p.length > 0) {
    const { star, chunk, rest } = scanChunk(p);
    p = rest;
    if (star && chunk.length === 0) return !n.includes('/');
    const r = matchChunk(chunk, n);
    if (r !== null && (r.length === 0 || p.length > 0)) {
      n = r;
      continue;
    }
    if (star) {
      for (let i = 0; i < n.length && n[i] !== '/'; i++) {
        const t = matchChunk(chunk, n.slice(i + 1));
        if (t !== null) {
          if (p.length === 0 && t.length > 0) continue;
          n = t;
          continue outer;
        }
      }
    }
    // Go checks the rest of the pattern's syntax before answering false.
    while (p.length > 0) {
      const s = scanChunk(p);
      p = s.rest;
      matchChunk(s.chunk, []);
    }
    return false;
  }
  return n.length === 0;
}

function scanChunk(pattern: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let p = pattern;
  let star = false;
  while (p.length > 0 && p[0] === '*') {
    p = p.slice(1);
    star = true;
  }
  let inRange = false;
  let i = 0;
  scan: for (; i < p.length; i++) {
    switch (p[i]) {
      case '\\':
        if (i + 1 < p.length) i++;
        break;
      case '[':
        inRange = true;
        break;
      case ']':
        inRange = false;
        break;
      case '*':
        if (!inRange) break scan;
        break;
    }
  }
  return { star, chunk: p.slice(0, i), rest: p.slice(i) };
}

/** Matches chunk at the start of s: the rest of s, or null. Throws BadPattern. */
function matchChunk(chunkIn: string[], sIn: string[]): string[] | null {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const c = chunk[0] as string;
    if (c === '[') {
      let r = '';
      if (!failed) {
        r = s[0] as string;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk.length > 0 && chunk[0] === '^') {
        negated = true;
        chunk = chunk.slice(1);
      }
      let matched = false;
      let nrange = 0;
      for (;;) {
        if (chunk.length > 0 && chunk[0] === ']' && nrange > 0) {
          chunk = chunk.slice(1);
          break;
        }
        const lo = getEsc(chunk);
        chunk = lo.rest;
        let hi = lo.ch;
        if (chunk[0] === '-') {
          const h = getEsc(chunk.slice(1));
          chunk = h.rest;
          hi = h.ch;
        }
        const rc = r === '' ? 0 : (r.codePointAt(0) as number);
        if ((lo.ch.codePointAt(0) as number) <= rc && rc <= (hi.codePointAt(0) as number)) matched = true;
        nrange++;
      }
      if (matched === negated) failed = true;
    } else if (c === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    } else {
      let lit = c;
      if (c === '\\') {
        chunk = chunk.slice(1);
        if (chunk.length === 0) throw new BadPattern();
        lit = chunk[0] as string;
      }
      if (!failed) {
        if (lit !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  return failed ? null : s;
}

function getEsc(chunkIn: string[]): { ch: string; rest: string[] } {
  let chunk = chunkIn;
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') throw new BadPattern();
  if (chunk[0] === '\\') {
    chunk = chunk.slice(1);
    if (chunk.length === 0) throw new BadPattern();
  }
  const ch = chunk[0] as string;
  const rest = chunk.slice(1);
  if (rest.length === 0) throw new BadPattern();
  return { ch, rest };
}
