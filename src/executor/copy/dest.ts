/**
 * The destination side: the container path a COPY writes to, and where each source lands,
 * following BuildKit (dockerfile2llb pathRelativeToWorkingDir, fsutil copy.Copy and
 * prepareTargetDir). Every path is resolved inside the destination root filesystem with
 * resolveInRoot/mkdirAllInRoot, so a symlink in the image (`/app -> /etc`, `-> ../../..`) is
 * followed the way the container would see it and never leads a write outside the root.
 */
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { ErrorCodes } from '../../errors.js';
import { mkdirAllInRoot, resolveInRoot } from '../run/index.js';
import type { Owner } from './chown.js';
import { CopyError, isNotFound } from './errors.js';

export interface DestPath {
  /** Absolute, clean container path. */
  path: string;
  /** Written as a directory: ends in `/` or `/.`, or is `.` (or empty) relative to WORKDIR. */
  dirLike: boolean;
  /** As written. */
  written: string;
}

/** The destination relative to the working directory, keeping a trailing slash's meaning. */
export function normalizeDest(dest: string, workdir = '/'): DestPath {
  const dirLike = dest === '' || dest === '.' || dest.endsWith('/') || dest.endsWith('/.');
  const base = workdir === '' ? '/' : workdir;
  const joined = dest.startsWith('/') ? dest : path.posix.join(base.startsWith('/') ? base : `/${base}`, dest);
  return { path: path.posix.normalize(joined).replace(/(.)\/+$/, '$1'), dirLike, written: dest };
}

/** The container path of a host path inside root. */
export function containerPathOf(root: string, host: string): string {
  const rel = path.relative(root, host);
  return rel === '' ? '/' : `/${rel.split(path.sep).join('/')}`;
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.lstat(p);
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

/** fsutil's first step: the destination's parent (or the destination itself, when dir-like) exists. */
export async function ensureDestParent(root: string, dest: DestPath, owner: Owner | undefined): Promise<void> {
  const dir = dest.dirLike ? dest.path : path.posix.dirname(dest.path);
  await mkdirChecked(root, dir, owner);
}

/** mkdirAllInRoot, with its "not a directory" failure as a CopyError. */
export async function mkdirChecked(root: string, containerPath: string, owner: Owner | undefined): Promise<string> {
  try {
    return await mkdirAllInRoot(root, containerPath, owner ? { owner } : {});
  } catch (e) {
    if (e instanceof Error && /exists and is not a directory/.test(e.message)) {
      throw new CopyError(ErrorCodes.semantic, e.message, { cause: e });
    }
    throw e;
  }
}

/** The resolved destination: its host path and whether it is an existing directory. */
export async function resolveDest(root: string, dest: DestPath): Promise<{ host: string; existing: Stats | null }> {
  const host = await resolveInRoot(root, dest.path);
  return { host, existing: await lstatOrNull(host) };
}

export interface Target {
  /** Host path the source's entry '' (a file) or contents (a directory) go to. */
  host: string;
  /** The directory to contents-copy into did not exist and was created by this copy. */
  createdDir: boolean;
}

/**
 * Where one source lands (fsutil prepareTargetDir with CopyDirContents): a directory's contents
 * go into the destination (created if missing); a file goes inside the destination if that is an
 * existing directory, else it becomes the destination. Creates what the target needs.
 */
export async function prepareTarget(root: string, dest: DestPath, sourceIsDir: boolean, sourceName: string, owner: Owner | undefined): Promise<Target> {
  const existedBefore = (await resolveDest(root, dest)).existing !== null;
  await ensureDestParent(root, dest, owner);
  const { host, existing } = await resolveDest(root, dest);
  let target = host;
  if (!sourceIsDir && existing?.isDirectory()) target = path.join(host, sourceName === '' ? '.' : sourceName);
  if (sourceIsDir) {
    if (existing === null || !existedBefore) {
      await mkdirChecked(root, containerPathOf(root, target), owner);
      return { host: target, createdDir: true };
    }
    if (!existing.isDirectory()) {
      throw new CopyError(ErrorCodes.semantic, `cannot copy to non-directory: ${containerPathOf(root, target)}`, {
        hint: `${dest.written} exists in the image and is not a directory; a directory's contents can only be copied into a directory`,
      });
    }
    return { host: target, createdDir: false };
  }
  await mkdirChecked(root, containerPathOf(root, path.dirname(target)), owner);
  return { host: target, createdDir: false };
}
