/**
 * A remembered scan of the store for `cache ls` and `cache du`: `cache-v1/usage-v1.json`.
 *
 * Why it exists: with 10,000 cache entries, reading and validating every entry file takes about
 * 200 ms and reading every layer's metadata another 75 ms — over the 300 ms a listing may take
 * with Node's own start-up. But the store's directories change rarely and only in ways a
 * directory's mtime shows: entry files, layer dirs, blobs and metadata files are only ever
 * created, replaced by rename or removed (each changes the parent directory's mtime), never
 * rewritten in place. (`BuildIndex.touch` changes an entry file's mtime only; listings stat
 * every entry file for that.) So per directory this file keeps what was read from it and the
 * directory's mtime at the time; a directory whose mtime is unchanged is not read again.
 *
 * Racy mtimes (git's "racily clean" problem): a change within the file system's timestamp
 * granularity of our read could leave the mtime we recorded unchanged. A recorded mtime is
 * therefore trusted only when it is older than the scan that recorded it by RACY_MS; otherwise
 * the directory is read again next time (and then trusted).
 *
 * The file is a cache and nothing else: it is replaced by rename (no fsync: a torn or unreadable
 * file is simply ignored and rebuilt), concurrent writers each write a self-consistent snapshot,
 * and deleting it only costs one slow listing.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CACHE_DIR } from './build-index.js';
import { tempName } from './store/atomic.js';
import type { StorePaths } from './store/paths.js';

export const USAGE_CACHE_FILE = 'usage-v1.json';
const FORMAT = 'obox-cache-usage-v1.1';
/** Margin between a directory's mtime and the scan that recorded it for the record to be trusted. */
export const RACY_MS = 1000;

/** What a listing needs of a cache entry (the entry file holds more: the config, the inputs). */
export interface EntrySummary {
  key: string;
  createdAt: string;
  /** As recorded in the file; the file's mtime may be later (BuildIndex.touch). */
  recordedLastUsedAt: string;
  /** recordedLastUsedAt in ms since the epoch. */
  usedMs: number;
  layer: { diffId: string; digest?: string; size?: number } | null;
  containerfile?: string;
  line?: number;
  text?: string;
  stage?: string;
  cacheMounts?: string[];
  /** Allocated bytes of the entry file. */
  fileBytes: number;
}

export interface ShardRecord {
  mtimeNs: string;
  entries: EntrySummary[];
  /** Unreadable entry files: key and reason. */
  problems: Array<{ key: string; reason: string }>;
  /** Allocated bytes of files in the shard that are not entry files (stray temp names). */
  strayBytes: number;
}

export interface DirRecord<T> {
  mtimeNs: string;
  items: Record<string, T>;
}

/** A layer dir's identity (inode and ctime: a dir removed and made again is measured again), allocated bytes, inodes. */
export type LayerRecord = [id: string, bytes: number, files: number];

/** layers-v1/sha256: diffID → its dir's record; `junk` is whatever else is in there. */
export interface LayersRecord extends DirRecord<LayerRecord> {
  junk: { bytes: number; files: number };
}

export interface BlobRecord {
  /** -1 for something that is not a regular file. */
  size: number;
  bytes: number;
}

/** layer-meta-v1/sha256, column-wise: the 64-hex names of `<hex>.json` files concatenated, their sizes, and other names. */
export interface MetasRecord {
  mtimeNs: string;
  hex: string;
  bytes: number[];
  other: Record<string, number>;
}

export interface MountRecord {
  /** The mount dir's mtime when measured. */
  mtimeMs: number;
  measuredAt: number;
  bytes: number;
  files: number;
}

/** What an image's manifest reaches: a function of its (content-addressed) digest alone. */
export interface ImageReach {
  blobs: string[];
  layers: Array<{ digest: string; diffId: string | undefined; mediaType: string | undefined; size: number | undefined }>;
  sizes: Record<string, number>;
}

/**
 * The file holds these objects as they are used (JSON.parse makes them; nothing is converted per
 * item, which in a cold process costs more than the parse), except the metadata sizes, kept
 * column-wise because only `du` and `prune` read them.
 */
export interface UsageCache {
  /** When the scan that wrote this began (ms since the epoch). */
  takenAt: number;
  shards: Record<string, ShardRecord>;
  layers: LayersRecord | undefined;
  /** blobs/sha256: file name → size and allocated bytes. */
  blobs: DirRecord<BlobRecord> | undefined;
  metas: MetasRecord | undefined;
  /** cache-mounts-v1: dir name → measured usage. Mounts change inside, so see mountRecordFresh. */
  mounts: Record<string, MountRecord>;
  /** Manifest digest → what it reaches (only complete, readable images are remembered). */
  images: Record<string, ImageReach>;
}

export function usageCachePath(paths: StorePaths): string {
  return join(paths.root, CACHE_DIR, USAGE_CACHE_FILE);
}

export function emptyUsageCache(takenAt: number): UsageCache {
  return { takenAt, shards: {}, layers: undefined, blobs: undefined, metas: undefined, mounts: {}, images: {} };
}

/** The remembered scan, or an empty one when absent, unreadable or of another format. */
export function readUsageCache(paths: StorePaths): UsageCache {
  try {
    const f = JSON.parse(readFileSync(usageCachePath(paths), 'utf8')) as Partial<UsageCache> & { format?: unknown };
    if (f.format !== FORMAT || typeof f.takenAt !== 'number' || typeof f.shards !== 'object' || f.shards === null) return emptyUsageCache(0);
    return {
      takenAt: f.takenAt,
      shards: f.shards,
      layers: f.layers,
      blobs: f.blobs,
      metas: f.metas,
      mounts: f.mounts ?? {},
      images: f.images ?? {},
    };
  } catch {
    return emptyUsageCache(0);
  }
}

/** Properties listings add to entry summaries in memory (inventory.ts), not part of the file. */
const LISTING_ONLY = new Set(['lastUsedAt']);

/** Replace the remembered scan; failures (a read-only store) are ignored: it is only a cache. */
export async function writeUsageCache(paths: StorePaths, cache: UsageCache): Promise<void> {
  const tmp = join(paths.tmp, tempName('usage'));
  try {
    await writeFile(tmp, JSON.stringify({ format: FORMAT, ...cache }, (k, v: unknown) => (LISTING_ONLY.has(k) ? undefined : v)));
    await mkdir(join(paths.root, CACHE_DIR), { recursive: true });
    await rename(tmp, usageCachePath(paths));
  } catch {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** Metadata sizes by diffID, from the column-wise record. */
export function metaSizes(record: MetasRecord | undefined): { byDiffId: Map<string, number>; otherBytes: number } {
  const byDiffId = new Map<string, number>();
  if (record === undefined) return { byDiffId, otherBytes: 0 };
  record.bytes.forEach((b, i) => byDiffId.set(`sha256:${record.hex.slice(i * 64, i * 64 + 64)}`, b));
  return { byDiffId, otherBytes: Object.values(record.other).reduce((a, b) => a + b, 0) };
}

/** The column-wise record of a metadata directory listing (file name → allocated bytes). */
export function metasRecord(mtimeNs: string, items: Record<string, number>): MetasRecord {
  const hex: string[] = [];
  const bytes: number[] = [];
  const other: Record<string, number> = {};
  for (const [name, b] of Object.entries(items)) {
    if (/^[0-9a-f]{64}\.json$/.test(name)) {
      hex.push(name.slice(0, 64));
      bytes.push(b);
    } else other[name] = b;
  }
  return { mtimeNs, hex: hex.join(''), bytes, other };
}

/** May a directory record made by a scan that began at `takenAt` be reused, its mtime now being `mtimeNs`? */
export function recordTrusted(recordedMtimeNs: string | undefined, mtimeNs: bigint, takenAt: number): boolean {
  if (recordedMtimeNs === undefined || recordedMtimeNs !== String(mtimeNs)) return false;
  return Number(mtimeNs / 1_000_000n) < takenAt - RACY_MS;
}

/**
 * Is a mount's measurement still right? Its dir's mtime must be unchanged and older than the
 * measurement, and no step using it may have run since (`lastRunAt`: newest createdAt of the
 * entries naming it). Writes deep inside the mount that neither shows are missed until one does.
 */
export function mountRecordFresh(record: MountRecord | undefined, mtimeMs: number, lastRunAt: number): boolean {
  if (record === undefined || record.mtimeMs !== mtimeMs) return false;
  return mtimeMs < record.measuredAt - RACY_MS && lastRunAt < record.measuredAt - RACY_MS;
}
