/**
 * What one COPY source puts in the destination, as a stream of entries in creation order:
 * the copier writes them and the digest hashes them, so both see exactly the same set.
 *
 * A file (or symlink, device) source is one entry with rel ''. A directory source contributes
 * its contents (never itself: BuildKit copies directory contents), depth first, names sorted;
 * symlinks inside it are entries, never followed. `--exclude` and `--parents`' include pattern
 * filter the walk the way fsutil's copier does: a directory that is not itself copied is entered
 * when something below it still could be, and is created (with its source metadata) only once
 * something below it is copied.
 */
import type { BigIntStats } from 'node:fs';
import type { MatchState } from '../../context/ignore.js';
import type { PathFilter } from './patterns.js';
import { hostPath, joinRel, listDir, type SourceTree } from './source-tree.js';

export interface SourceEntry {
  /** Relative to the copied source ('' for a non-directory source itself). */
  rel: string;
  /** The host path to read. */
  host: string;
  st: BigIntStats;
}

export interface WalkFilters {
  exclude?: PathFilter | undefined;
  include?: PathFilter | undefined;
}

interface Pending {
  entry: SourceEntry;
  emitted: boolean;
}

/** The entries of the source at `rootRel` (already resolved, lstat `st`) in `tree`. */
export async function* walkSource(tree: SourceTree, rootRel: string, st: BigIntStats, filters: WalkFilters = {}): AsyncGenerator<SourceEntry> {
  if (!st.isDirectory()) {
    yield { rel: '', host: hostPath(tree, rootRel), st };
    return;
  }
  const include = filters.include && !filters.include.empty ? filters.include : undefined;
  const exclude = filters.exclude && !filters.exclude.empty ? filters.exclude : undefined;
  const noMatch: MatchState = { excluded: false, ruleHits: [] };
  const stack: Pending[] = [];

  async function* flush(): AsyncGenerator<SourceEntry> {
    for (const p of stack) {
      if (!p.emitted) {
        p.emitted = true;
        yield p.entry;
      }
    }
  }

  async function* visit(dirRel: string, inc: MatchState, exc: MatchState): AsyncGenerator<SourceEntry> {
    for (const d of await listDir(tree, joinRel(rootRel, dirRel))) {
      const rel = joinRel(dirRel, d.name);
      const incState = include ? include.evaluate(rel, inc) : noMatch;
      const excState = exclude ? exclude.evaluate(rel, exc) : noMatch;
      const copied = (!include || incState.excluded) && !excState.excluded;
      const entry: SourceEntry = { rel, host: hostPath(tree, d.rel), st: d.st };
      if (!d.st.isDirectory()) {
        if (copied) {
          yield* flush();
          yield entry;
        }
        continue;
      }
      if (copied) {
        yield* flush();
        yield entry;
      } else {
        const enter = (!include || include.enter(rel, incState)) && (!exclude || exclude.enter(rel, excState));
        if (!enter) continue;
      }
      stack.push({ entry, emitted: copied });
      yield* visit(rel, incState, excState);
      stack.pop();
    }
  }

  yield* visit('', include?.root ?? noMatch, exclude?.root ?? noMatch);
}
