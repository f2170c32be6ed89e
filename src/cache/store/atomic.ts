/**
 * Crash-safe file system primitives. Everything is built in a temp location on the same file
 * system, flushed, then renamed into place, and the parent directory is flushed after the rename:
 * a crash at any point leaves either the old state or the new one (plus, at worst, a stray temp
 * entry in tmp/, which gc removes).
 */
import { randomBytes } from 'node:crypto';
import { constants, lstatSync, readdirSync } from 'node:fs';
import { link, lstat, mkdir, mkdtemp, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';

export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** A unique name for a temp entry: prefix, pid, random. */
export function tempName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * A fresh directory in the store's tmp/, named `PREFIX-PID-XXXXXX`: the pid lets a later obox
 * tell the leftovers of a process that died (SIGKILL, power loss) from a live one's.
 */
export function tempDirIn(tmpDir: string, prefix: string): Promise<string> {
  return mkdtemp(join(tmpDir, `${prefix}-${process.pid}-`));
}

/** Whether something (a dangling symlink included) is at `p`; false on any error. Synchronous: one lstat. */
export function pathExistsSync(p: string): boolean {
  try {
    return lstatSync(p, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/** The names in `dir`; none when it does not exist (or is not a directory). Synchronous: one getdents. */
export function listDirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return [];
    throw e;
  }
}

/** Flush a directory's entries (after creating, renaming or removing something in it). */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write a temp file in `tmpDir`, flushed, and return its path. */
async function writeTemp(tmpDir: string, prefix: string, data: Uint8Array | string): Promise<string> {
  const tmp = join(tmpDir, tempName(prefix));
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  return tmp;
}

function crossDevice(e: unknown, target: string): unknown {
  if (errnoCode(e) !== 'EXDEV') return e;
  return new OboxError(ErrorCodes.store, `cannot move into ${target}: the store's tmp/ is on another file system`, {
    cause: e,
    hint: 'keep the whole store directory on one file system',
  });
}

/** Replace `target` with `data` atomically (write temp, fsync, rename, fsync the directory). */
export async function writeFileAtomic(target: string, data: Uint8Array | string, tmpDir: string): Promise<void> {
  const tmp = await writeTemp(tmpDir, 'file', data);
  try {
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw crossDevice(e, target);
  }
  await fsyncDir(dirname(target));
}

/**
 * Create `target` with `data` only if it does not exist (link(2) never replaces).
 * Returns false when it already existed.
 */
export async function createFileExclusive(target: string, data: Uint8Array | string, tmpDir: string): Promise<boolean> {
  const tmp = await writeTemp(tmpDir, 'file', data);
  try {
    await link(tmp, target);
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') return false;
    throw crossDevice(e, target);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await fsyncDir(dirname(target));
  return true;
}

/** fsync every regular file and directory under `dir` (never opens devices or fifos). */
export async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) await fsyncTree(p);
    else if (entry.isFile()) {
      const fh = await open(p, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
  await fsyncDir(dir);
}

export async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
}

export interface InstallDirOptions {
  /** fsync the built tree before the rename (default true): the directory is complete or absent after a crash. */
  sync?: boolean;
}

/**
 * Build a directory in `tmpDir` with `populate`, then rename it to `target`. If `target` already
 * exists (before or after building — another process won the race), that is success: the built
 * copy is removed and `populate` may not even run. A failed `populate` leaves nothing behind.
 * `populate` receives an empty directory (mode 0700) and sets its final mode itself.
 */
export async function installDir(
  target: string,
  tmpDir: string,
  populate: (dir: string) => Promise<void>,
  options: InstallDirOptions = {},
): Promise<'installed' | 'existed'> {
  if (await exists(target)) return 'existed';
  const built = await tempDirIn(tmpDir, 'dir');
  try {
    await populate(built);
    if (options.sync ?? true) await fsyncTree(built);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(built, target);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        await rm(built, { recursive: true, force: true });
        return 'existed';
      }
      throw crossDevice(e, target);
    }
  } catch (e) {
    await rm(built, { recursive: true, force: true });
    throw e;
  }
  await fsyncDir(dirname(target));
  return 'installed';
}
