/**
 * Paths inside a root filesystem, resolved the way the container will see them: symlinks are
 * followed, but always relative to the root (an absolute target restarts at the root, ".." stops
 * at it), so nothing an image plants can lead outside. The same rules as
 * github.com/cyphar/filepath-securejoin, which runc uses for mount destinations.
 *
 * Only safe while nothing else changes the tree between resolving and using a path: the RUN
 * container has not started yet when obox reads /etc/passwd or creates the working directory.
 */
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';

const MAX_SYMLINKS = 255;

function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The host path that `containerPath` names inside `root`. Components that do not exist are kept
 * as written (".." after them is applied lexically). The result always lies inside `root`.
 */
export async function resolveInRoot(root: string, containerPath: string): Promise<string> {
  if (containerPath.includes('\0')) {
    throw new OboxError(ErrorCodes.semantic, `path ${JSON.stringify(containerPath)} contains a NUL byte`);
  }
  const base = path.resolve(root);
  const done: string[] = [];
  let pending = components(containerPath);
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const candidate = path.join(base, ...done, part);
    let isLink = false;
    try {
      isLink = (await fsp.lstat(candidate)).isSymbolicLink();
    } catch (e) {
      if (errno(e) !== 'ENOENT' && errno(e) !== 'ENOTDIR') throw e;
    }
    if (!isLink) {
      done.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) {
      throw new OboxError(ErrorCodes.semantic, `too many levels of symbolic links resolving ${containerPath}`);
    }
    const target = await fsp.readlink(candidate);
    if (target.startsWith('/')) done.length = 0;
    pending = [...components(target), ...pending];
  }
  return path.join(base, ...done);
}

/**
 * Reads a regular file inside the root, or returns null when it does not exist (or is not a
 * regular file). The final open refuses to follow a symlink planted after resolution.
 */
export async function readFileInRoot(root: string, containerPath: string, maxBytes = 16 * 1024 * 1024): Promise<string | null> {
  const hostPath = await resolveInRoot(root, containerPath);
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if (['ENOENT', 'ENOTDIR', 'ELOOP', 'EISDIR'].includes(errno(e) ?? '')) return null;
    throw e;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return null;
    if (st.size > maxBytes) {
      throw new OboxError(ErrorCodes.semantic, `${containerPath} in the image is larger than ${maxBytes} bytes`);
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

export interface MkdirOwner {
  uid: number;
  gid: number;
}

/**
 * `mkdir -p` inside the root: creates every missing component (mode 0755 before umask is not
 * applied: the mode is set explicitly) and chowns each one it created to `owner` when given.
 * Returns the host path. Fails when an existing component is not a directory.
 */
export async function mkdirAllInRoot(
  root: string,
  containerPath: string,
  options: { mode?: number; owner?: MkdirOwner } = {},
): Promise<string> {
  const mode = options.mode ?? 0o755;
  const base = path.resolve(root);
  const target = await resolveInRoot(base, containerPath);
  const rel = path.relative(base, target);
  let current = base;
  for (const part of rel === '' ? [] : rel.split(path.sep)) {
    current = path.join(current, part);
    let st;
    try {
      st = await fsp.lstat(current);
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw e;
    }
    if (st) {
      if (!st.isDirectory()) {
        throw new OboxError(
          ErrorCodes.semantic,
          `cannot create directory ${containerPath}: /${path.relative(base, current)} exists and is not a directory`,
        );
      }
      continue;
    }
    await fsp.mkdir(current, { mode });
    await fsp.chmod(current, mode);
    if (options.owner) await fsp.lchown(current, options.owner.uid, options.owner.gid);
  }
  return target;
}
