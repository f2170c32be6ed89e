/**
 * Resolving a COPY/ADD request into the list of things it copies, before anything is written:
 * sources cleaned to their tree (`../x` stays inside, as BuildKit's NormalizePath keeps it),
 * wildcards expanded per component (a wildcard matching nothing is skipped, as BuildKit's
 * AllowEmptyWildcard does), symlinks named as sources followed, `--parents` pivots split,
 * heredocs and downloads staged as files. Path sources come first and heredocs after them, in
 * BuildKit's order.
 */
import { promises as fsp, type BigIntStats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCodes } from '../../errors.js';
import { goClean } from '../../context/pattern.js';
import { parseChmod, type ModeChange } from './chmod.js';
import { resolveChown, type Owner } from './chown.js';
import { normalizeDest, type DestPath } from './dest.js';
import { download, parseChecksum, redactUrl } from './download.js';
import { CopyError, isNotFound } from './errors.js';
import { goMatch, hasWildcards, splitWildcards } from './glob.js';
import { excludeFilter, includeFilter, type PathFilter } from './patterns.js';
import { isGitSource, isHttpSource } from './remote.js';
import { hostPath, listDir, lstatIn, resolveIn, type SourceTree } from './source-tree.js';
import type { CopyOptions, CopyRequest } from './types.js';

/** One thing a COPY copies: a file, or a directory whose contents it copies. */
export interface PlannedSource {
  /** Index among the request's sources. */
  index: number;
  /** The source as written. */
  written: string;
  /** Where it is read: the request's tree, or a staging tree for heredocs and downloads. */
  tree: SourceTree;
  /** Its path in the tree, symlinks followed. */
  rel: string;
  st: BigIntStats;
  /** The name it gets inside an existing destination directory: the matched name, unresolved. */
  name: string;
  /** Names it in digest records: the matched path, `<<NAME`, or the URL. */
  key: string;
  /** `--parents`: which paths below it are copied. */
  include?: PathFilter | undefined;
  /** ADD: an archive here is unpacked instead of copied. */
  unpack: boolean;
}

export interface CopyPlan {
  readonly request: CopyRequest;
  readonly dest: DestPath;
  readonly items: readonly PlannedSource[];
  readonly owner: Owner | undefined;
  readonly mode: ModeChange | undefined;
  readonly exclude: PathFilter | undefined;
  /** True when a wildcard matched nothing (for emptyWildcard: 'error'). */
  readonly emptyWildcards: readonly string[];
  /** Removes staged heredoc and download files. Idempotent. */
  dispose(): Promise<void>;
}

function fail(code: (typeof ErrorCodes)[keyof typeof ErrorCodes], message: string, written?: string, index?: number, hint?: string): CopyError {
  return new CopyError(code, message, { source: written, sourceIndex: index, hint });
}

/** A clean path relative to the tree's root: `/a/../b/` → `b`, `../../x` → `x`, `.` → ''. */
function treeRel(p: string): string {
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
  return fail(ErrorCodes.notFound, `${what}: not found in the ${tree.label}`, written, index, hint);
}

/** Matches of a wildcard path, as paths relative to the tree; null when its fixed part is missing. */
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

interface Staging {
  dirFor(index: number): Promise<string>;
  tree(dir: string): SourceTree;
  dispose(): Promise<void>;
}

function staging(tempDir: string | undefined): Staging {
  let root: Promise<string> | undefined;
  let disposed = false;
  return {
    async dirFor(index) {
      root ??= fsp.mkdtemp(path.join(tempDir ?? os.tmpdir(), 'obox-copy-'));
      const dir = path.join(await root, `s${index}`);
      await fsp.mkdir(dir, { mode: 0o700 });
      return dir;
    },
    tree: (dir) => ({ root: dir, label: 'staging directory', keepOwners: false, ignoreFile: undefined, visible: async () => true }),
    async dispose() {
      if (disposed || root === undefined) return;
      disposed = true;
      await fsp.rm(await root, { recursive: true, force: true });
    },
  };
}

function validate(req: CopyRequest): void {
  const paths = req.sources.flatMap((s, index) => (s.kind === 'path' ? [{ path: s.path, index }] : []));
  const kw = req.kind.toUpperCase();
  for (const { path: p, index } of paths) {
    if (req.kind === 'copy' && isGitSource(p)) throw fail(ErrorCodes.semantic, `source can't be a git ref for COPY`, p, index, 'use ADD for git repositories');
    if (req.kind === 'copy' && isHttpSource(p)) throw fail(ErrorCodes.semantic, `source can't be a URL for COPY`, p, index, 'use ADD to download a URL');
    if (req.kind === 'add' && isGitSource(p)) {
      throw fail(ErrorCodes.semantic, `ADD of a git repository is not supported yet: ${p}`, p, index, 'clone it in a RUN step, or download an archive of it with ADD https://…/archive.tar.gz');
    }
  }
  if (req.checksum !== undefined) {
    if (req.kind !== 'add') throw fail(ErrorCodes.semantic, `checksum can't be specified for ${kw}`);
    if (paths.length !== 1) throw fail(ErrorCodes.semantic, 'checksum can\'t be specified for multiple sources');
    if (!isHttpSource(paths[0]?.path ?? '')) throw fail(ErrorCodes.semantic, 'checksum requires HTTP(S) or Git sources', paths[0]?.path, paths[0]?.index);
  }
}

/**
 * Resolves every source of the request (downloading URLs). Call dispose() on the result when
 * done. Throws CopyError for a missing source, a bad flag value, or a failed download.
 */
export async function planCopy(req: CopyRequest, opts: CopyOptions = {}): Promise<CopyPlan> {
  validate(req);
  const mode = req.chmod !== undefined ? parseChmod(req.chmod) : undefined;
  const exclude = req.excludes && req.excludes.length > 0 ? excludeFilter(req.excludes) : undefined;
  const owner = req.chown !== undefined ? await resolveChown(req.chown, opts.userRoot) : undefined;
  const dest = normalizeDest(req.dest, req.workdir);
  const stage = staging(opts.tempDir);
  const items: PlannedSource[] = [];
  const empty: string[] = [];
  const tree = req.tree;
  const unpackLocal = req.kind === 'add' && req.unpack !== false;

  try {
    for (const [index, s] of req.sources.entries()) {
      if (s.kind !== 'path') continue;
      const written = s.path;
      if (isHttpSource(written)) {
        const dir = await stage.dirFor(index);
        const got = await download(written, {
          dir,
          checksum: req.checksum !== undefined ? parseChecksum(req.checksum) : undefined,
          fetch: opts.fetch,
          signal: opts.signal,
        });
        const st = await fsp.lstat(got.file, { bigint: true });
        items.push({ index, written, tree: stage.tree(dir), rel: got.name, st, name: got.name, key: redactUrl(written), unpack: req.unpack === true });
        continue;
      }

      let pivot = written;
      let include: PathFilter | undefined;
      if (req.kind === 'copy' && req.parents) {
        const cut = written.indexOf('/./');
        const pattern = treeRel(cut === -1 ? written : written.slice(cut + 3));
        pivot = cut === -1 ? '/' : written.slice(0, cut);
        include = includeFilter(pattern === '' ? [] : [pattern]);
        const pivotRel = treeRel(pivot);
        if (!hasWildcards(pivotRel) && !hasWildcards(pattern)) {
          const required = await resolveIn(tree, [pivotRel, pattern].filter((x) => x !== '').join('/'), false);
          if ((await lstatIn(tree, required)) === null) throw await notFound(tree, required, written, index);
        }
      }

      const rel = treeRel(pivot);
      const { literal, pattern } = splitWildcards(rel);
      let matches: string[];
      if (pattern.length === 0) {
        matches = [rel];
      } else {
        const found = await expandWildcards(tree, literal, pattern);
        if (found === null) throw await notFound(tree, literal.join('/'), written, index);
        matches = found.matches.filter((m) => !(exclude && !include && exclude.test(path.posix.relative(found.base, m))));
        if (matches.length === 0) empty.push(written);
      }
      for (const m of matches) {
        const resolved = await resolveIn(tree, m, true);
        const st = await lstatIn(tree, resolved);
        if (st === null) throw await notFound(tree, resolved, written, index);
        items.push({ index, written, tree, rel: resolved, st, name: path.posix.basename(m), key: m === '' ? '.' : m, include, unpack: unpackLocal });
      }
    }

    for (const [index, s] of req.sources.entries()) {
      if (s.kind !== 'heredoc') continue;
      const name = s.name;
      if (name === '' || name === '.' || name === '..' || name.includes('/')) {
        throw fail(ErrorCodes.semantic, `heredoc name ${JSON.stringify(name)} cannot be used as a file name`, `<<${name}`, index);
      }
      const dir = await stage.dirFor(index);
      const file = path.join(dir, name);
      await fsp.writeFile(file, s.content, { mode: 0o644, flag: 'wx' });
      await fsp.chmod(file, 0o644);
      const st = await fsp.lstat(file, { bigint: true });
      items.push({ index, written: `<<${name}`, tree: stage.tree(dir), rel: name, st, name, key: `<<${name}`, unpack: false });
    }

    if (items.length === 0 && empty.length > 0 && opts.emptyWildcard === 'error') {
      throw fail(ErrorCodes.notFound, 'no source files were specified', empty[0], req.sources.findIndex((s) => s.kind === 'path' && s.path === empty[0]), `no file matches ${empty.map((e) => JSON.stringify(e)).join(', ')}`);
    }
  } catch (e) {
    await stage.dispose();
    if (e instanceof CopyError || !isNotFound(e)) throw e;
    throw new CopyError(ErrorCodes.notFound, (e as Error).message, { cause: e });
  }

  return { request: req, dest, items, owner, mode, exclude, emptyWildcards: empty, dispose: () => stage.dispose() };
}
