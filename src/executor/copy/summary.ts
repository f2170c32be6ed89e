/**
 * What a COPY/ADD did (counts for progress output) and what it copied (records for the cache
 * key). A record describes one copied entry exactly as it lands — mode after --chmod, owner
 * after --chown — and never its mtime, so an unchanged tree gives the same digest on any host.
 */
import { createHash } from 'node:crypto';
import { compareCodePoints } from '../../context/ignore.js';

/** Counts of what was written. */
export interface CopySummary {
  files: number;
  directories: number;
  symlinks: number;
  /** Hardlinks created (to a file already written by the same source). */
  hardlinks: number;
  /** Devices and fifos. */
  others: number;
  /** Bytes of regular-file content written. */
  bytes: number;
  /** Archives ADD unpacked. */
  archives: number;
}

export type Tally = CopySummary;

export function emptyTally(): Tally {
  return { files: 0, directories: 0, symlinks: 0, hardlinks: 0, others: 0, bytes: 0, archives: 0 };
}

/** What a walked entry is (sockets are never copied). */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

export type RecordType = EntryKind | 'archive';

/** One copied entry, as the digest sees it. */
export interface CopyRecord {
  /**
   * `<source key>/<path inside the source>`: the key names the source (its matched path in the
   * context or stage, `<<NAME` for a heredoc, the URL for a download).
   */
  path: string;
  type: RecordType;
  /** Permission bits after --chmod (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** `sha256:…` of the content of files and archives; '' otherwise. */
  content: string;
  /** Symlink target; '' otherwise. */
  link: string;
  /** Device numbers for char/block; 0 otherwise. */
  devMajor: number;
  devMinor: number;
  /** Copied extended attributes as `name=hex`, sorted. */
  xattrs: string[];
}

export interface CopyDigest {
  /** `sha256:…` over the sorted records. */
  digest: string;
  /** How many records it covers. */
  entries: number;
  /** The records, sorted as hashed (for `obox cache why`: which file changed). */
  records: readonly CopyRecord[];
}

/** The digest of a set of records: order-independent (records are sorted by path). */
export function digestRecords(records: readonly CopyRecord[]): CopyDigest {
  const sorted = [...records].sort((a, b) => compareCodePoints(a.path, b.path) || compareCodePoints(canonical(a), canonical(b)));
  const h = createHash('sha256');
  h.update('obox-copy-digest-v1\n');
  for (const r of sorted) h.update(`${canonical(r)}\n`);
  return { digest: `sha256:${h.digest('hex')}`, entries: sorted.length, records: sorted };
}

function canonical(r: CopyRecord): string {
  return JSON.stringify([r.path, r.type, r.mode, r.uid, r.gid, r.size, r.content, r.link, r.devMajor, r.devMinor, r.xattrs]);
}

/**
 * Memoised file content hashes, keyed by what git's index uses to tell a file unchanged:
 * path, device, inode, size, mtime and ctime (nanoseconds). Give the same memo to every COPY of
 * a build (or keep one across builds) so unchanged files are not read again.
 */
export interface FileHashMemo {
  get(key: string): string | undefined;
  set(key: string, digest: string): void;
}

export function createFileHashMemo(): FileHashMemo {
  const m = new Map<string, string>();
  return { get: (k) => m.get(k), set: (k, v) => void m.set(k, v) };
}
