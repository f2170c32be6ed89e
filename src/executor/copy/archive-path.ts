/**
 * Archive member paths inside the extraction directory, with the rules of BuildKit's ADD
 * unpacker (solver/llbsolver/file/unpack_root.go, cleanRootTarPath and resolveRootPath):
 *
 * - A member name is cleaned after dropping leading `/` (so `/etc/x` lands in DEST/etc/x);
 *   a name that still climbs out (`../x`) is refused.
 * - Symlinks already on disk in the parents of a member — planted by an earlier member, or part
 *   of the image — are followed, but only within the extraction directory: an absolute target
 *   restarts at the extraction directory, a relative target that climbs out of it is refused.
 *   The leaf is followed only for directory members (a directory merges into the directory a
 *   symlink names); anything else replaces a symlink at its own path.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';
import { isNotFound } from './errors.js';

const MAX_ROUNDS = 255;

function outside(what: string, original: string): OboxError {
  return new OboxError(ErrorCodes.invalidArchive, `${what} ${JSON.stringify(original)} is outside the extraction directory`);
}

/** Whether a clean relative path stays inside (Go's filepath.IsLocal for clean input). */
function isLocal(rel: string): boolean {
  return rel !== '..' && !rel.startsWith('../') && !rel.startsWith('/');
}

/** A member name → clean relative path ('' for the extraction directory itself). */
export function cleanMemberPath(name: string, what = 'archive path'): string {
  if (name.includes('\0')) throw new OboxError(ErrorCodes.invalidArchive, `${what} ${JSON.stringify(name)} contains a NUL byte`);
  const cleaned = path.posix.normalize(name.replace(/^\/+/, ''));
  const rel = cleaned.replace(/\/+$/, '');
  if (rel === '.' || rel === '') return '';
  if (!isLocal(rel)) throw outside(what, name);
  return rel;
}

/**
 * Resolves a clean member path against what is on disk under `root`, following symlinks in
 * the parents (and in the leaf when `followLeaf`). Missing components are kept as written.
 */
export async function resolveMemberPath(root: string, name: string, followLeaf: boolean): Promise<string> {
  let current = name;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const parts = current.split('/').filter((p) => p !== '' && p !== '.');
    const resolved: string[] = [];
    let followed = false;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      if (i === parts.length - 1 && !followLeaf) {
        resolved.push(part);
        continue;
      }
      const candidate = [...resolved, part].join('/');
      let isLink: boolean;
      try {
        const st = await fsp.lstat(path.join(root, candidate));
        isLink = st.isSymbolicLink();
        if (!isLink && !st.isDirectory() && i < parts.length - 1) {
          throw new OboxError(ErrorCodes.invalidArchive, `cannot unpack ${JSON.stringify(name)}: ${JSON.stringify(candidate)} is not a directory`);
        }
      } catch (e) {
        if (e instanceof OboxError) throw e;
        if (isNotFound(e)) return [...resolved, ...parts.slice(i)].join('/');
        throw e;
      }
      if (!isLink) {
        resolved.push(part);
        continue;
      }
      const target = await fsp.readlink(path.join(root, candidate));
      let next: string;
      if (target.startsWith('/')) {
        next = cleanMemberPath(target, 'symlink target');
      } else {
        next = path.posix.normalize(path.posix.join(path.posix.dirname(candidate), target)).replace(/\/+$/, '');
        if (next === '.') next = '';
        if (next !== '' && !isLocal(next)) {
          throw new OboxError(ErrorCodes.invalidArchive, `archive symlink ${JSON.stringify(candidate)} points outside the extraction directory`);
        }
      }
      const remaining = parts.slice(i + 1).join('/');
      current = [next, remaining].filter((s) => s !== '').join('/');
      followed = true;
      break;
    }
    if (!followed) return resolved.join('/');
  }
  throw new OboxError(ErrorCodes.invalidArchive, `too many symlinks resolving archive path ${JSON.stringify(name)}`);
}
