/**
 * Resolving a COPY/ADD request into the list of things it copies, before anything is written:
 * sources cleaned to their tree (`../x` stays inside, as BuildKit's NormalizePath keeps it),
 * wildcards expanded per component (a wildcard matching nothing is skipped, as BuildKit's
 * AllowEmptyWildcard does), symlinks named as sources followed, `--parents` pivots split,
 * heredocs and downloads staged as files. Path sources come first and heredocs after them, in
 * BuildKit's order.
 */
import { promises as fsp, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { ErrorCodes } from '../../errors.js';
import { parseChmod, type ModeChange } from './chmod.js';
import { resolveChown, type Owner } from './chown.js';
import { normalizeDest, type DestPath } from './dest.js';
import { download, parseChecksum, redactUrl } from './download.js';
import { CopyError, isNotFound } from './errors.js';
import { excludeFilter, type PathFilter } from './patterns.js';
import { isGitSource, isHttpSource } from './remote.js';
import { resolvePathSource } from './resolve-source.js';
import type { SourceTree } from './source-tree.js';
import { createStaging, type Staging } from './staging.js';
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

/** ADD <URL>: downloaded into staging, named after the URL, unpacked only with --unpack. */
async function stageDownload(req: CopyRequest, opts: CopyOptions, stage: Staging, url: string, index: number): Promise<PlannedSource> {
  const dir = await stage.dirFor(index);
  const got = await download(url, {
    dir,
    checksum: req.checksum !== undefined ? parseChecksum(req.checksum) : undefined,
    fetch: opts.fetch,
    signal: opts.signal,
  });
  const st = await fsp.lstat(got.file, { bigint: true });
  return { index, written: url, tree: stage.tree(dir), rel: got.name, st, name: got.name, key: redactUrl(url), unpack: req.unpack === true };
}

/** COPY <<NAME: a file NAME with the body, mode 0644 (BuildKit's llb.Mkfile). */
async function stageHeredoc(stage: Staging, name: string, content: string, index: number): Promise<PlannedSource> {
  if (name === '' || name === '.' || name === '..' || name.includes('/')) {
    throw fail(ErrorCodes.semantic, `heredoc name ${JSON.stringify(name)} cannot be used as a file name`, `<<${name}`, index);
  }
  const dir = await stage.dirFor(index);
  const file = path.join(dir, name);
  await fsp.writeFile(file, content, { mode: 0o644, flag: 'wx' });
  await fsp.chmod(file, 0o644);
  const st = await fsp.lstat(file, { bigint: true });
  return { index, written: `<<${name}`, tree: stage.tree(dir), rel: name, st, name, key: `<<${name}`, unpack: false };
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
  const stage = createStaging(opts.tempDir);
  const items: PlannedSource[] = [];
  const empty: string[] = [];
  const unpackLocal = req.kind === 'add' && req.unpack !== false;

  try {
    for (const [index, s] of req.sources.entries()) {
      if (s.kind !== 'path') continue;
      if (isHttpSource(s.path)) {
        items.push(await stageDownload(req, opts, stage, s.path, index));
        continue;
      }
      const r = await resolvePathSource(req.tree, s.path, index, { parents: req.kind === 'copy' && req.parents === true, exclude });
      if (r.empty) empty.push(s.path);
      for (const m of r.matches) items.push({ index, written: s.path, tree: req.tree, ...m, unpack: unpackLocal });
    }

    for (const [index, s] of req.sources.entries()) {
      if (s.kind === 'heredoc') items.push(await stageHeredoc(stage, s.name, s.content, index));
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
