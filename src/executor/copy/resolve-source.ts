/**
 * One path source of COPY/ADD → the files and directories it names in its tree, as BuildKit
 * resolves them (dockerfile2llb dispatchCopy, fsutil copy.ResolveWildcards):
 *
 * - The path is cleaned relative to the tree's root: `../../x` is `x`, it never leaves the tree.
 * - Wildcards are expanded per component with Go's filepath.Match, in name order; a directory
 *   is descended into only for a later component. Matching nothing is not an error (BuildKit's
 *   AllowEmptyWildcard), but the wildcard's fixed leading directory must exist.
 * - Each match (or the plain path) is followed if it is a symlink, inside the tree; a match that
 *   does not exist (a dangling symlink, an ignored file) is an error naming the source.
 * - `--exclude` also drops wildcard matches themselves (the Dockerfile reference's
 *   `COPY --exclude=*.txt hom* /mydir/`), matched relative to the wildcard's fixed part.
 * - `--parents`: `a/./b/c` copies `b/c` from the pivot `a` keeping `b/`; without `/./` the
 *   pivot is the root. The rest is an include pattern (.dockerignore syntax); without wildcards
 *   the path must exist.
 */
import { promises as fsp, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { ErrorCodes } from '../../errors.js';
import { goClean } from '../../context/pattern.js';
import { CopyError } from './errors.js';
import { goMatch, hasWildcards, splitWildcards } from './glob.js';
import { includeFilter, type PathFilter } from './patterns.js';
import { hostPath, listDir, lstatIn, resolveIn, type SourceTree } from './source-tree.js';

export interface ResolvedMatch {
  /** Path in the tree, symlinks followed. */
  rel: string;
  st: BigIntStats;
  /** The matched name, before following (what it is called inside a destination directory). */
  name: string;
  /** The matched path, before following ('.' for the root). */
  key: string;
  include?: PathFilter | undefined;
}

export interface PathSourceResult {
  matches: ResolvedMatch[];
  /** A wildcard matched nothing. */
  empty: boolean;
}

/** A clean path relative to the tree's root: `/a/../b/` → `b`, `../../x` → `x`, `.` → ''. */
export function treeRel(p: string): string {
  const c = goClean(`/${p}`);
  return c === '/' ? '' : c.slice(1);
}

async function notFound(tree: SourceTree, rel: string, written: string, index: number): Promise<CopyError> {
  let hint: string | undefined;
  if (tree.ignoreFile !== undefined && rel !== '') {
    const onDisk = await fsp.lstat(hostPath(tree, rel)).then(
      () => true,
      () => false,
    );
    if (onDisk) hint = `${rel} is excluded by ${tree.ignoreFile}, so COPY and ADD cannot see it`;
  }
  const what = rel === treeRel(written) ? JSON.stringify(written) : `${JSON.stringify(written)} (${rel})`;
  return new CopyError(ErrorCodes.notFound, `${what}: not found in the ${tree.label}`, { source: written, sourceIndex: index, hint });
}

/** Matches of a wildcard path, relative to the tree; null when its fixed part is missing. */
async function expandWildcards(tree: SourceTree, literal: string[], pattern: string[]): Promise<{ base: string; matches: string[] } | null> {
  const base = await resolveIn(tree, literal.join('/'), true);
  const st = await lstatIn(tree, base);
  if (st === null) return null;
  const matches: string[] = [];
  if (!st.isDirectory()) return { base, matches };
  const visit = async (dir: string, i: number): Promise<void> => {
    for (const d of await listDir(tree, dir)) {
      if (!goMatch(pattern[i] as string, d.name)) continue;
      if (i === pattern.length - 1) matches.push(d.rel);
      else if (d.st.isDirectory()) await visit(d.rel, i + 1);
    }
  };
  await visit(base, 0);
  return { base, matches };
}

/** `--parents`: the pivot to copy from and the include filter below it; checks a plain path exists. */
async function splitParents(tree: SourceTree, written: string, index: number): Promise<{ pivot: string; include: PathFilter }> {
  const cut = written.indexOf('/./');
  const pattern = treeRel(cut === -1 ? written : written.slice(cut + 3));
  const pivot = cut === -1 ? '/' : written.slice(0, cut);
  const pivotRel = treeRel(pivot);
  if (!hasWildcards(pivotRel) && !hasWildcards(pattern)) {
    const required = await resolveIn(tree, [pivotRel, pattern].filter((x) => x !== '').join('/'), false);
    if ((await lstatIn(tree, required)) === null) throw await notFound(tree, required, written, index);
  }
  return { pivot, include: includeFilter(pattern === '' ? [] : [pattern]) };
}

export interface PathSourceOptions {
  parents: boolean;
  exclude: PathFilter | undefined;
}

/** Resolves one path source (`written`, the `index`th source) in `tree`. Throws CopyError. */
export async function resolvePathSource(tree: SourceTree, written: string, index: number, opts: PathSourceOptions): Promise<PathSourceResult> {
  const { pivot, include } = opts.parents ? await splitParents(tree, written, index) : { pivot: written, include: undefined };
  const rel = treeRel(pivot);
  const { literal, pattern } = splitWildcards(rel);
  let paths = [rel];
  let empty = false;
  if (pattern.length > 0) {
    const found = await expandWildcards(tree, literal, pattern);
    if (found === null) throw await notFound(tree, literal.join('/'), written, index);
    const excluded = (m: string) => opts.exclude !== undefined && !include && opts.exclude.test(path.posix.relative(found.base, m));
    paths = found.matches.filter((m) => !excluded(m));
    empty = paths.length === 0;
  }
  const matches: ResolvedMatch[] = [];
  for (const m of paths) {
    const resolved = await resolveIn(tree, m, true);
    const st = await lstatIn(tree, resolved);
    if (st === null) throw await notFound(tree, resolved, written, index);
    matches.push({ rel: resolved, st, name: path.posix.basename(m), key: m === '' ? '.' : m, include });
  }
  return { matches, empty };
}
