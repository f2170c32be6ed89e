/**
 * The metadata a copied entry gets, as BuildKit's copier computes it (fsutil copyFileInfo and
 * copyXAttrs), shared by the writer and the digest so they cannot disagree:
 *
 * - Owner: `--chown` if given; else the source's for a root filesystem (`--from`), and 0:0 for
 *   the build context, heredocs and downloads (BuildKit's context transfer resets owners).
 * - Mode: `--chmod` if given (not for symlinks), else the source's, setuid/setgid/sticky kept.
 * - Times: the source's atime and mtime, or `timestamp` for everything when set (BuildKit's
 *   SOURCE_DATE_EPOCH / WithCreatedTime).
 * - Extended attributes: security.capability and user.* (the ones a layer carries; see
 *   layer/xattrs.ts), never overlay's own nor the host's security.selinux labels. BuildKit copies
 *   every xattr and ignores failures; the others would be dropped when the layer is written anyway.
 */
import type { BigIntStats } from 'node:fs';
import { chmodSync, lchownSync, lutimesSync } from 'node:fs';
import { hostFs, type Xattr } from '../../layer/index.js';
import { selectXattrs } from '../../layer/xattrs.js';
import type { ModeChange } from './chmod.js';
import type { Owner } from './chown.js';
import { errnoOf } from './errors.js';
import type { EntryKind } from './summary.js';

export interface MetadataRules {
  /** `--chown`, resolved. */
  owner?: Owner | undefined;
  /** `--chmod`, parsed. */
  mode?: ModeChange | undefined;
  /** Whether sources keep their owners when there is no --chown. */
  keepOwners: boolean;
  /** Seconds; when set, every copied entry gets it as atime and mtime. */
  timestamp?: number | undefined;
}

export interface EntryMetadata {
  type: EntryKind;
  uid: number;
  gid: number;
  /** 0o7777 bits the entry ends with (a symlink's are not set). */
  mode: number;
  atime: number;
  mtime: number;
  xattrs: Xattr[];
}

const BEST_EFFORT_XATTR = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP']);

export function typeOf(st: BigIntStats): EntryKind | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined; // sockets: not copied
}

function seconds(ns: bigint): number {
  return Number(ns) / 1e9;
}

/** The xattrs of a source entry that a copy carries (none on a filesystem without xattrs). */
export async function sourceXattrs(host: string): Promise<Xattr[]> {
  try {
    return selectXattrs(await hostFs.lgetxattrs(Buffer.from(host)));
  } catch (e) {
    if (BEST_EFFORT_XATTR.has(errnoOf(e) ?? '')) return [];
    throw e;
  }
}

/** What `st` (the source entry at `host`) becomes under `rules`. */
export async function metadataFor(host: string, st: BigIntStats, type: EntryKind, rules: MetadataRules): Promise<EntryMetadata> {
  const own = rules.owner ?? (rules.keepOwners ? { uid: Number(st.uid), gid: Number(st.gid) } : { uid: 0, gid: 0 });
  const srcMode = Number(st.mode) & 0o7777;
  const mode = type === 'symlink' ? srcMode : rules.mode ? rules.mode.apply(srcMode, type === 'dir') : srcMode;
  const atime = rules.timestamp ?? seconds(st.atimeNs);
  const mtime = rules.timestamp ?? seconds(st.mtimeNs);
  return { type, uid: own.uid, gid: own.gid, mode, atime, mtime, xattrs: await sourceXattrs(host) };
}

/** Applies metadata to a written entry: owner first (it clears setuid bits and capabilities), then mode, xattrs, times. */
export async function applyMetadata(target: string, m: EntryMetadata): Promise<void> {
  // Synchronous: three syscalls of microseconds each, per copied entry (see readSmallFile).
  lchownSync(target, m.uid, m.gid);
  if (m.type !== 'symlink') chmodSync(target, m.mode);
  for (const x of m.xattrs) {
    try {
      await hostFs.lsetxattr(Buffer.from(target), x.name, x.value);
    } catch (e) {
      if (!BEST_EFFORT_XATTR.has(errnoOf(e) ?? '')) throw e;
    }
  }
  lutimesSync(target, m.atime, m.mtime);
}

/** The record fields metadata contributes. */
export function xattrStrings(xattrs: readonly Xattr[]): string[] {
  return xattrs.map((x) => `${x.name}=${x.value.toString('hex')}`).sort();
}
