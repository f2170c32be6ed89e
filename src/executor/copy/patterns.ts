/**
 * `--exclude` patterns and the include pattern `--parents` builds, with the syntax and matching
 * of .dockerignore (moby/patternmatcher, which fsutil's copier uses for both): relative to the
 * copied source, `*` within a component, `**` across them, `!` to re-include, and a pattern that
 * matches a directory covers everything below it.
 */
import { ErrorCodes } from '../../errors.js';
import { IgnoreFileError, IgnoreMatcher, type IgnoreLine, type MatchState } from '../../context/ignore.js';
import { CopyError } from './errors.js';

/** A compiled pattern list, evaluated top-down with the parent's state (as the copier walks). */
export interface PathFilter {
  /** Whether the list is empty (then nothing matches). */
  readonly empty: boolean;
  /** The state of the copied source's root (nothing matched yet). */
  readonly root: MatchState;
  evaluate(rel: string, parent: MatchState): MatchState;
  /** Whether rel (or a parent of it) matches, evaluated from scratch. */
  test(rel: string): boolean;
  /** Whether the walk must go into directory rel: something below it could still be copied. */
  enter(rel: string, state: MatchState): boolean;
}

function compile(patterns: readonly string[], flag: string): IgnoreMatcher {
  const lines: IgnoreLine[] = patterns.map((p, i) => ({ pattern: p, line: i + 1, text: p }));
  try {
    return IgnoreMatcher.compile(lines, flag);
  } catch (e) {
    if (e instanceof IgnoreFileError) {
      throw new CopyError(ErrorCodes.semantic, `invalid ${flag} pattern ${JSON.stringify(e.pattern)}: ${e.message.replace(/^.*?invalid pattern "[^"]*": /, '')}`, {
        hint: e.hint,
        cause: e,
      });
    }
    throw e;
  }
}

/** Literal leading segments of a pattern (no glob characters), as IgnoreMatcher computes them. */
function literalHead(pattern: string): { head: string; full: boolean } {
  const segs = pattern.split('/');
  let k = 0;
  while (k < segs.length && !/[*?[\]\\^]/.test(segs[k] ?? '')) k++;
  return { head: segs.slice(0, k).join('/'), full: k === segs.length };
}

/** `--exclude`: a path is left out when the list matches it (`!` rules re-include). */
export function excludeFilter(patterns: readonly string[]): PathFilter {
  const m = compile(patterns, '--exclude');
  return {
    empty: m.rules.length === 0,
    root: m.root,
    evaluate: (rel, parent) => m.evaluate(rel, parent),
    test: (rel) => m.matches(rel),
    // An excluded directory must still be entered when a `!` rule could re-include below it.
    enter: (rel, state) => !state.excluded || !m.canSkipDir(rel, state),
  };
}

/**
 * `--parents`' include pattern: a path is copied when the pattern matches it or one of its
 * parents (`excluded` in the returned state means "included" here).
 */
export function includeFilter(patterns: readonly string[]): PathFilter {
  const m = compile(patterns, '--parents');
  const heads = m.rules.map((r) => literalHead(r.pattern));
  return {
    empty: m.rules.length === 0,
    root: m.root,
    evaluate: (rel, parent) => m.evaluate(rel, parent),
    test: (rel) => m.matches(rel),
    enter(rel, state) {
      if (state.excluded) return true; // included: everything below is too
      const dirSlash = `${rel}/`;
      return heads.some(({ head, full }) => {
        if (head === '') return true;
        if (full) return head.startsWith(dirSlash);
        const h = `${head}/`;
        return h.startsWith(dirSlash) || dirSlash.startsWith(h);
      });
    },
  };
}
