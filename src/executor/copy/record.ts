/**
 * What the copier (copy.ts, write.ts) and the digest (digest.ts) must decide identically: the
 * record of each walked entry, file hashes, whether ADD unpacks a source, and the metadata rules
 * of a plan.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, promises as fsp, readSync } from 'node:fs';
import { splitDev } from '../../layer/fs.js';
import { isArchive } from './archive.js';
import type { EntryMetadata, MetadataRules } from './metadata.js';
import { xattrStrings } from './metadata.js';
import type { CopyPlan, PlannedSource } from './plan.js';
import { hostPath } from './source-tree.js';
import type { CopyRecord, FileHashMemo } from './summary.js';
import type { SourceEntry } from './walk.js';

export function recordPath(item: PlannedSource, entry: SourceEntry): string {
  return entry.rel === '' ? item.key : `${item.key}/${entry.rel}`;
}

/** The symlink target as a byte string (latin1: one character per byte, exact). */
export async function readLinkBytes(host: string): Promise<Buffer> {
  return fsp.readlink(host, { encoding: 'buffer' });
}

export function makeRecord(
  item: PlannedSource,
  entry: SourceEntry,
  meta: EntryMetadata,
  extra: { content?: string; link?: Buffer; size?: number } = {},
): CopyRecord {
  const dev = meta.type === 'char' || meta.type === 'block' ? splitDev(entry.st.rdev) : { major: 0, minor: 0 };
  return {
    path: recordPath(item, entry),
    type: meta.type,
    mode: meta.mode,
    uid: meta.uid,
    gid: meta.gid,
    size: extra.size ?? (meta.type === 'file' ? Number(entry.st.size) : 0),
    content: extra.content ?? '',
    link: extra.link ? extra.link.toString('latin1') : '',
    devMajor: dev.major,
    devMinor: dev.minor,
    xattrs: xattrStrings(meta.xattrs),
  };
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const CHUNK = 1024 * 1024;

/** Opens a source file for reading, refusing a symlink or anything but a regular file. */
export async function openSourceFile(host: string): Promise<fsp.FileHandle> {
  const fh = await fsp.open(host, READ_FLAGS);
  try {
    if (!(await fh.stat()).isFile()) throw Object.assign(new Error(`${host} is no longer a regular file`), { code: 'EINVAL' });
  } catch (e) {
    await fh.close();
    throw e;
  }
  return fh;
}

/** Files up to this size are read in one synchronous call (see readSmallFile). */
export const SMALL_FILE = 1024 * 1024;

/**
 * A regular file of at most SMALL_FILE bytes read whole, synchronously, with its sha256; null
 * when it is bigger (stream it instead). A build copies and hashes thousands of small files:
 * one open/fstat/read/close in a row costs microseconds, while four thread-pool round trips per
 * file made a 300-file COPY take half a second.
 */
export function readSmallFile(host: string): { data: Buffer; digest: string } | null {
  const fd = openSync(host, READ_FLAGS);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${host} is no longer a regular file`), { code: 'EINVAL' });
    if (st.size > SMALL_FILE) return null;
    const buf = Buffer.allocUnsafe(st.size + 1);
    let size = 0;
    for (;;) {
      const n = readSync(fd, buf, size, buf.length - size, null);
      if (n === 0) break;
      size += n;
      // It grew past SMALL_FILE while being read: the caller streams it instead.
      if (size === buf.length) return null;
    }
    const data = buf.subarray(0, size);
    return { data, digest: `sha256:${createHash('sha256').update(data).digest('hex')}` };
  } finally {
    closeSync(fd);
  }
}

/** Reads a file in chunks, passing each to `sink`; returns its sha256 and size. */
export async function streamFile(host: string, sink?: (chunk: Buffer) => Promise<void>): Promise<{ digest: string; size: number }> {
  const fh = await openSourceFile(host);
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      h.update(chunk);
      size += bytesRead;
      if (sink) await sink(chunk);
    }
  } finally {
    await fh.close();
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

/** The memo key of a file: path and the stat fields git's index trusts. */
export function memoKey(host: string, st: SourceEntry['st']): string {
  return `${host}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** sha256 of a file's content, from the memo when the file is unchanged. */
export async function hashFile(host: string, st: SourceEntry['st'], memo?: FileHashMemo): Promise<string> {
  const key = memoKey(host, st);
  const known = memo?.get(key);
  if (known !== undefined) return known;
  const { digest } = st.size <= BigInt(SMALL_FILE) ? (readSmallFile(host) ?? (await streamFile(host))) : await streamFile(host);
  memo?.set(key, digest);
  return digest;
}

/** Whether ADD unpacks this planned source (a regular file whose content is an archive). */
export async function unpacksAsArchive(plan: CopyPlan, item: PlannedSource): Promise<boolean> {
  if (plan.request.kind !== 'add' || !item.unpack || !item.st.isFile()) return false;
  return isArchive(hostPath(item.tree, item.rel));
}

/** The record of an archive ADD unpacks: its bytes, and the owner override that applies to its members. */
export function archiveRecord(plan: CopyPlan, item: PlannedSource, content: string, size: number): CopyRecord {
  return {
    path: item.key,
    type: 'archive',
    mode: 0,
    uid: plan.owner?.uid ?? -1,
    gid: plan.owner?.gid ?? -1,
    size,
    content,
    link: '',
    devMajor: 0,
    devMinor: 0,
    xattrs: [],
  };
}

/** The plan's --chown/--chmod and the build's timestamp, as metadata rules (owners kept per tree). */
export function metadataRules(plan: CopyPlan, timestamp: number | undefined): Omit<MetadataRules, 'keepOwners'> {
  return { owner: plan.owner, mode: plan.mode, timestamp };
}
