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
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CACHE_DIR } from './build-index.js';
import { tempName } from './store/atomic.js';
import type { StorePaths } from './store/paths.js';

export const USAGE_CACHE_FILE = 'usage-v1.json';
const FORMAT = 'obox-cache-usage-v1';
/** Margin between a directory's mtime and the scan that recorded it for the record to be trusted. */
export const RACY_MS = 1000;

/** What a listing needs of a cache entry (the entry file holds more: the config, the inputs). */
export interface EntrySummary {
  key: string;
  createdAt: string;
  /** As recorded in the file; the file's mtime may be later (BuildIndex.touch). */
  recordedLastUsedAt: string;
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

export interface LayerRecord {
  /** The dir's inode and ctime: a layer dir removed and installed again is measured again. */
  ino: string;
  bytes: number;
  files: number;
}

export interface BlobRecord {
  /** -1 for something that is not a regular file. */
  size: number;
  bytes: number;
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

export interface UsageCache {
  /** When the scan that wrote this began (ms since the epoch). */
  takenAt: number;
  shards: Record<string, ShardRecord>;
  /** layers-v1/sha256: diffID hex → the dir's measured usage; `junk` is whatever else is in there. */
  layers: (DirRecord<LayerRecord> & { junk: { bytes: number; files: number } }) | undefined;
  /** blobs/sha256: file name → size and allocated bytes. */
  blobs: DirRecord<BlobRecord> | undefined;
  /** layer-meta-v1/sha256: file name → allocated bytes. */
  metas: DirRecord<number> | undefined;
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

// The file is column-oriented where there are thousands of items (hex names concatenated, values
// in parallel arrays) and entries are tuples: it parses about four times faster than plain objects.

type EntryTuple = [
  keyHex: string,
  createdAt: string,
  recordedLastUsedAt: string,
  diffIdHex: string | null,
  digestHex: string | 0,
  size: number,
  containerfile: string | 0,
  line: number,
  text: string | 0,
  stage: string | 0,
  cacheMounts: string[] | 0,
  fileBytes: number,
];

function entryTuple(e: EntrySummary): EntryTuple {
  return [
    e.key.slice(7),
    e.createdAt,
    e.recordedLastUsedAt,
    e.layer ? e.layer.diffId.slice(7) : null,
    e.layer?.digest !== undefined ? e.layer.digest.slice(7) : 0,
    e.layer?.size ?? -1,
    e.containerfile ?? 0,
    e.line ?? 0,
    e.text ?? 0,
    e.stage ?? 0,
    e.cacheMounts ?? 0,
    e.fileBytes,
  ];
}

function entryFromTuple(t: EntryTuple): EntrySummary {
  const [key, createdAt, recordedLastUsedAt, diffId, digest, size, containerfile, line, text, stage, cacheMounts, fileBytes] = t;
  const e: EntrySummary = { key: `sha256:${key}`, createdAt, recordedLastUsedAt, layer: null, fileBytes };
  if (diffId !== null) {
    e.layer = { diffId: `sha256:${diffId}` };
    if (digest !== 0) e.layer.digest = `sha256:${digest}`;
    if (size >= 0) e.layer.size = size;
  }
  if (containerfile !== 0) e.containerfile = containerfile;
  if (line !== 0) e.line = line;
  if (text !== 0) e.text = text;
  if (stage !== 0) e.stage = stage;
  if (cacheMounts !== 0) e.cacheMounts = cacheMounts;
  return e;
}

interface FileFormat {
  format: string;
  takenAt: number;
  shards: Record<string, { m: string; e: EntryTuple[]; p: Array<{ key: string; reason: string }>; x: number }>;
  layers?: { m: string; hex: string; ino: string[]; bytes: number[]; files: number[]; junk: { bytes: number; files: number } };
  blobs?: DirRecord<[number, number]>;
  metas?: { m: string; hex: string; bytes: number[]; other: Record<string, number> };
  mounts: Record<string, MountRecord>;
  images: Record<string, ImageReach>;
}

function encode(c: UsageCache): FileFormat {
  const f: FileFormat = { format: FORMAT, takenAt: c.takenAt, shards: {}, mounts: c.mounts, images: c.images };
  for (const [s, r] of Object.entries(c.shards)) f.shards[s] = { m: r.mtimeNs, e: r.entries.map(entryTuple), p: r.problems, x: r.strayBytes };
  if (c.layers) {
    const names = Object.keys(c.layers.items);
    const items = names.map((n) => c.layers!.items[n]!);
    f.layers = { m: c.layers.mtimeNs, hex: names.join(''), ino: items.map((i) => i.ino), bytes: items.map((i) => i.bytes), files: items.map((i) => i.files), junk: c.layers.junk };
  }
  if (c.blobs) {
    const items: Record<string, [number, number]> = {};
    for (const [n, b] of Object.entries(c.blobs.items)) items[n] = [b.size, b.bytes];
    f.blobs = { mtimeNs: c.blobs.mtimeNs, items };
  }
  if (c.metas) {
    let hex = '';
    const bytes: number[] = [];
    const other: Record<string, number> = {};
    for (const [n, b] of Object.entries(c.metas.items)) {
      if (/^[0-9a-f]{64}\.json$/.test(n)) {
        hex += n.slice(0, 64);
        bytes.push(b);
      } else other[n] = b;
    }
    f.metas = { m: c.metas.mtimeNs, hex, bytes, other };
  }
  return f;
}

function decode(f: FileFormat): UsageCache {
  const c = emptyUsageCache(f.takenAt);
  for (const [s, r] of Object.entries(f.shards)) c.shards[s] = { mtimeNs: r.m, entries: r.e.map(entryFromTuple), problems: r.p, strayBytes: r.x };
  if (f.layers) {
    const items: Record<string, LayerRecord> = {};
    f.layers.ino.forEach((ino, i) => {
      items[f.layers!.hex.slice(i * 64, i * 64 + 64)] = { ino, bytes: f.layers!.bytes[i]!, files: f.layers!.files[i]! };
    });
    c.layers = { mtimeNs: f.layers.m, items, junk: f.layers.junk };
  }
  if (f.blobs) {
    const items: Record<string, BlobRecord> = {};
    for (const [n, [size, bytes]] of Object.entries(f.blobs.items)) items[n] = { size, bytes };
    c.blobs = { mtimeNs: f.blobs.mtimeNs, items };
  }
  if (f.metas) {
    const items: Record<string, number> = { ...f.metas.other };
    f.metas.bytes.forEach((b, i) => {
      items[`${f.metas!.hex.slice(i * 64, i * 64 + 64)}.json`] = b;
    });
    c.metas = { mtimeNs: f.metas.m, items };
  }
  c.mounts = f.mounts ?? {};
  c.images = f.images ?? {};
  return c;
}

/** The remembered scan, or an empty one when absent, unreadable or of another format. */
export function readUsageCache(paths: StorePaths): UsageCache {
  try {
    const f = JSON.parse(readFileSync(usageCachePath(paths), 'utf8')) as FileFormat;
    if (f.format !== FORMAT || typeof f.takenAt !== 'number' || typeof f.shards !== 'object' || f.shards === null) return emptyUsageCache(0);
    return decode(f);
  } catch {
    return emptyUsageCache(0);
  }
}

/** Replace the remembered scan; failures (a read-only store) are ignored: it is only a cache. */
export async function writeUsageCache(paths: StorePaths, cache: UsageCache): Promise<void> {
  const tmp = join(paths.tmp, tempName('usage'));
  try {
    await writeFile(tmp, JSON.stringify(encode(cache)));
    await rename(tmp, usageCachePath(paths));
  } catch {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
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
