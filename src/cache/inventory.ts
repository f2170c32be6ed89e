/**
 * What the store holds, for `cache ls`, `du` and `prune`: the images in index.json and what they
 * reach, the build-cache entries, the layer dirs and blobs with their disk usage, and the cache
 * mounts. Sizes are measured once and remembered (a layer dir's in its layer metadata, and all
 * of them in usage-cache.ts), so a listing of 10,000 entries walks no layer dir.
 */
import { closeSync, fstatSync, lstatSync, openSync, readFileSync, statSync, type BigIntStats, type Stats } from 'node:fs';
import { join } from 'node:path';
import { Digest } from '../image/digest.js';
import { CACHE_DIR, decodeEntry } from './build-index.js';
import { allocated, measureTree } from './disk-usage.js';
import { LAYER_META_DIR, readLayerMeta, writeLayerMeta, type LayerMeta } from './layer-meta.js';
import { errnoCode, listDirOrEmpty } from './store/atomic.js';
import { BLOBS_DIR, type StorePaths } from './store/paths.js';
import { MANIFEST_LIMIT, CONFIG_LIMIT, type Store } from './store/store.js';
import {
  emptyUsageCache,
  mountRecordFresh,
  readUsageCache,
  recordTrusted,
  writeUsageCache,
  type BlobRecord,
  type DirRecord,
  type EntrySummary,
  type ImageReach,
  type LayerRecord,
  metaSizes,
  metasRecord,
  type ShardRecord,
  type UsageCache,
} from './usage-cache.js';

export const CACHE_MOUNTS_DIR = 'cache-mounts-v1';
/** Entry files larger than this are corrupt (the index's own limit). */
const ENTRY_LIMIT = 4 * 1024 * 1024;
const HEX64 = /^[0-9a-f]{64}$/;

/** An image in index.json and every blob and layer it reaches. */
export interface ImageUse {
  /** Full names pointing at it; empty for an unnamed entry (docker's `<none>`). */
  names: string[];
  /** Manifest (or index) digest. */
  digest: string;
  /** Manifests, configs and layers it reaches. */
  blobs: string[];
  layers: Array<{ digest: string; diffId: string | undefined; mediaType: string | undefined; size: number | undefined }>;
  /** Blob sizes the descriptors state (index.json's, the manifests'). */
  sizes: Record<string, number>;
  /** Why it could not be read completely (a blob missing or corrupt). */
  problem?: string;
}

export interface ListedEntry extends EntrySummary {
  /** The later of the recorded time and the entry file's mtime (BuildIndex.touch). */
  lastUsedAt: string;
}

/** The file of the entry with this key (BuildIndex.entryPath, without opening the index). */
export function entryFile(paths: StorePaths, key: string): string {
  return join(paths.root, CACHE_DIR, 'entries', key.slice(7, 9), `${key.slice(7)}.json`);
}

export interface LayerDirUsage {
  diffId: string;
  bytes: number;
  files: number;
}

/** The layer dirs on disk, by diffID, over the remembered records (no object per dir unless asked). */
export class LayerDirs {
  constructor(private readonly items: Readonly<Record<string, LayerRecord>>) {}

  // Keys are `sha256:…`, never an Object.prototype name: plain lookups are safe (and fast).
  has(diffId: string): boolean {
    return this.items[diffId] !== undefined;
  }

  bytes(diffId: string): number | undefined {
    return this.items[diffId]?.[1];
  }

  get(diffId: string): LayerDirUsage | undefined {
    const r = this.items[diffId];
    return r === undefined ? undefined : { diffId, bytes: r[1], files: r[2] };
  }

  *values(): IterableIterator<LayerDirUsage> {
    for (const [diffId, r] of Object.entries(this.items)) yield { diffId, bytes: r[1], files: r[2] };
  }

  get size(): number {
    return Object.keys(this.items).length;
  }
}

export interface BlobUsage {
  digest: string;
  path: string;
  size: number;
  bytes: number;
}

export interface CacheMountUsage {
  id: string;
  path: string;
  bytes: number;
  files: number;
  lastUsedAt: string;
  /** Keys of the entries whose steps used it. */
  usedBy: string[];
}

export interface IndexProblemInfo {
  key: string;
  path: string;
  reason: string;
}

/** Allocated bytes of a part of the store that is not itemised (directories, stray files). */
export interface Overhead {
  bytes: number;
  files: number;
}

export interface Inventory {
  takenAt: number;
  images: ImageUse[];
  /** Blob digest → names of the images reaching it (an unnamed image counts, with no name). */
  imageBlobs: Map<string, string[]>;
  /** Layer diffID → names of the images having it. */
  imageDiffIds: Map<string, string[]>;
  entries: ListedEntry[];
  problems: IndexProblemInfo[];
  layerDirs: LayerDirs;
  blobs: Map<string, BlobUsage>;
  mounts: CacheMountUsage[];
  /** layer-meta-v1 files: diffID → allocated bytes (unparseable names keyed by path). */
  metas: Map<string, number>;
  /** Directories and stray files per area, for `du`. */
  overhead: { index: Overhead; layers: Overhead; blobs: Overhead; metas: Overhead; mounts: Overhead };
}

export interface InventoryOptions {
  /** Stat every entry file for its last use (ls, prune); du does without. */
  lastUsed?: boolean;
  /** Read every entry file again, trusting nothing remembered (prune). */
  fresh?: boolean;
  /** Account layer metadata files (du, prune; default true). */
  metas?: boolean;
}

// ---- images ----

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function digestField(v: unknown): string | undefined {
  return isObject(v) && typeof v.digest === 'string' && Digest.isValid(v.digest) ? v.digest : undefined;
}

function noteSize(use: ImageUse, v: unknown): void {
  const d = digestField(v);
  if (d !== undefined && isObject(v) && Number.isSafeInteger(v.size)) use.sizes[d] = v.size as number;
}

async function readJsonBlob(store: Store, digest: string, limit: number): Promise<unknown> {
  return JSON.parse((await store.blobs.read(digest as Digest, { limit })).toString('utf8')) as unknown;
}

/** Follows a manifest (or an index of manifests) and records what it reaches, tolerating damage. */
async function reach(store: Store, digest: string, use: ImageUse, depth = 0): Promise<void> {
  use.blobs.push(digest);
  const v = await readJsonBlob(store, digest, MANIFEST_LIMIT);
  if (!isObject(v)) throw new Error(`manifest ${digest} is not a JSON object`);
  if (Array.isArray(v.manifests)) {
    if (depth > 2) throw new Error(`index ${digest} nests too deep`);
    for (const m of v.manifests) {
      noteSize(use, m);
      const d = digestField(m);
      if (d !== undefined) await reach(store, d, use, depth + 1);
    }
    return;
  }
  const config = digestField(v.config);
  noteSize(use, v.config);
  const layerDescs = (Array.isArray(v.layers) ? (v.layers as unknown[]) : []).filter((l): l is Record<string, unknown> => digestField(l) !== undefined);
  for (const l of layerDescs) noteSize(use, l);
  const layers = layerDescs.map((l) => l.digest as string);
  if (config !== undefined) use.blobs.push(config);
  use.blobs.push(...layers);
  let diffIds: unknown[] = [];
  if (config !== undefined) {
    const c = await readJsonBlob(store, config, CONFIG_LIMIT).catch((e: unknown) => {
      use.problem ??= `config ${config}: ${(e as Error).message}`;
      return undefined;
    });
    if (isObject(c) && isObject(c.rootfs) && Array.isArray(c.rootfs.diff_ids)) diffIds = c.rootfs.diff_ids;
  }
  layerDescs.forEach((l, i) => {
    const diffId = diffIds[i];
    use.layers.push({
      digest: l.digest as string,
      diffId: typeof diffId === 'string' && Digest.isValid(diffId) ? diffId : undefined,
      mediaType: typeof l.mediaType === 'string' ? l.mediaType : undefined,
      size: Number.isSafeInteger(l.size) ? (l.size as number) : undefined,
    });
  });
}

/**
 * Every image in index.json, named or not, with what it reaches. A damaged image is listed with
 * its problem. With `remembered`, what a manifest reaches is taken from there when known (it
 * depends on the content-addressed manifest alone) and complete results are added to `into`.
 */
export async function loadImages(store: Store, remembered?: { from: Record<string, ImageReach>; into: Record<string, ImageReach> }): Promise<ImageUse[]> {
  const byDigest = new Map<string, { names: string[]; size: number }>();
  for (const { name, descriptor } of await store.listImages()) {
    const seen = byDigest.get(descriptor.digest) ?? { names: [], size: descriptor.size };
    if (name !== undefined) seen.names.push(name);
    byDigest.set(descriptor.digest, seen);
  }
  const out: ImageUse[] = [];
  for (const [digest, { names, size }] of byDigest) {
    const known = remembered?.from[digest];
    if (known !== undefined && known.sizes[digest] === size) {
      remembered!.into[digest] = known;
      out.push({ names: names.sort(), digest, ...known });
      continue;
    }
    const use: ImageUse = { names: names.sort(), digest, blobs: [], layers: [], sizes: { [digest]: size } };
    try {
      await reach(store, digest, use);
    } catch (e) {
      use.problem ??= (e as Error).message;
    }
    if (remembered !== undefined && use.problem === undefined) remembered.into[digest] = { blobs: use.blobs, layers: use.layers, sizes: use.sizes };
    out.push(use);
  }
  return out;
}

// ---- small fs helpers ----

function statBig(p: string): BigIntStats | undefined {
  try {
    return statSync(p, { bigint: true });
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}


function addTree(o: { bytes: number; files: number }, p: string): void {
  const u = measureTree(p);
  o.bytes += u.bytes;
  o.files += u.files;
}

// ---- build-cache entries ----

function summarise(key: string, text: string, fileBytes: number): EntrySummary {
  const e = decodeEntry(key, text);
  const s: EntrySummary = {
    key,
    createdAt: e.createdAt,
    recordedLastUsedAt: e.lastUsedAt,
    usedMs: Date.parse(e.lastUsedAt),
    layer: e.layer === null ? null : { diffId: e.layer.diffId, ...(e.layer.digest ? { digest: e.layer.digest } : {}), ...(e.layer.size !== undefined ? { size: e.layer.size } : {}) },
    fileBytes,
  };
  if (e.containerfile !== undefined) s.containerfile = e.containerfile;
  if (e.line !== undefined) s.line = e.line;
  if (e.text !== undefined) s.text = e.text;
  if (e.stage !== undefined) s.stage = e.stage;
  if (e.cacheMounts !== undefined && e.cacheMounts.length > 0) s.cacheMounts = e.cacheMounts;
  return s;
}

function readShard(dir: string, shard: string, mtimeNs: bigint): ShardRecord {
  const rec: ShardRecord = { mtimeNs: String(mtimeNs), entries: [], problems: [], strayBytes: 0 };
  for (const name of listDirOrEmpty(dir).sort()) {
    const path = join(dir, name);
    if (!(name.endsWith('.json') && HEX64.test(name.slice(0, 64)) && name.length === 69 && name.startsWith(shard))) {
      rec.strayBytes += measureTree(path).bytes;
      continue;
    }
    const key = `sha256:${name.slice(0, 64)}`;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') continue;
      rec.problems.push({ key, reason: `cannot read entry: ${(e as Error).message}` });
      continue;
    }
    try {
      const st = fstatSync(fd);
      if (st.size > ENTRY_LIMIT) {
        rec.strayBytes += allocated(st);
        rec.problems.push({ key, reason: `entry is ${st.size} bytes, over the ${ENTRY_LIMIT} limit` });
        continue;
      }
      const text = readFileSync(fd, 'utf8');
      try {
        rec.entries.push(summarise(key, text, allocated(st)));
      } catch (e) {
        rec.strayBytes += allocated(st);
        rec.problems.push({ key, reason: (e as Error).message });
      }
    } finally {
      closeSync(fd);
    }
  }
  return rec;
}

/** The later of a recorded time and a file's mtime (rounded: utimes stores a Date's ms as a fraction of a second). */
export function laterIso(iso: string, ms: number): string {
  const whole = Math.round(ms);
  return whole > Date.parse(iso) ? new Date(whole).toISOString() : iso;
}

function scanEntries(paths: StorePaths, old: UsageCache, next: UsageCache, opts: InventoryOptions): { entries: ListedEntry[]; problems: IndexProblemInfo[]; overhead: Overhead; changed: boolean } {
  const entriesDir = join(paths.root, CACHE_DIR, 'entries');
  const overhead: Overhead = { bytes: 0, files: 0 };
  const entries: ListedEntry[] = [];
  const problems: IndexProblemInfo[] = [];
  let changed = false;
  const top = lstatOrUndefined(entriesDir);
  if (top === undefined) return { entries, problems, overhead, changed: Object.keys(old.shards).length > 0 };
  overhead.bytes += allocated(top);
  overhead.files++;
  for (const shard of listDirOrEmpty(entriesDir).sort()) {
    const dir = join(entriesDir, shard);
    const st = /^[0-9a-f]{2}$/.test(shard) ? statBig(dir) : undefined;
    if (st === undefined || !st.isDirectory()) {
      addTree(overhead, dir);
      continue;
    }
    overhead.bytes += Number(st.blocks) * 512;
    overhead.files++;
    let rec = old.shards[shard];
    const reuse = !opts.fresh && rec !== undefined && recordTrusted(rec.mtimeNs, st.mtimeNs, old.takenAt);
    if (!reuse || rec === undefined) {
      rec = readShard(dir, shard, st.mtimeNs);
      changed = true;
    }
    next.shards[shard] = rec;
    overhead.bytes += rec.strayBytes;
    for (const p of rec.problems) problems.push({ ...p, path: join(dir, `${p.key.slice(7)}.json`) });
    // Hot loop (10,000 entries): plain concatenation, the summaries completed in place.
    const prefix = `${dir}/`;
    for (const s of rec.entries) {
      const e = s as ListedEntry;
      e.lastUsedAt = s.recordedLastUsedAt;
      if (opts.lastUsed) {
        const f = lstatOrUndefined(`${prefix}${s.key.slice(7)}.json`);
        if (f === undefined) continue; // removed since it was read
        const used = Math.round(f.mtimeMs);
        if (used > s.usedMs) e.lastUsedAt = new Date(used).toISOString();
      }
      entries.push(e);
    }
  }
  if (Object.keys(old.shards).some((s) => next.shards[s] === undefined)) changed = true;
  return { entries, problems, overhead, changed };
}

// ---- flat directories of immutable files: blobs, layer metadata ----

/** Per-name allocated bytes (and sizes) of a directory whose files are only created, renamed or removed. */
function scanFlatDir<T>(dir: string, old: DirRecord<T> | undefined, takenAt: number, measure: (path: string, st: Stats) => T): { record: DirRecord<T> | undefined; changed: boolean } {
  const st = statBig(dir);
  if (st === undefined) return { record: undefined, changed: old !== undefined };
  if (old !== undefined && recordTrusted(old.mtimeNs, st.mtimeNs, takenAt)) return { record: old, changed: false };
  const items: Record<string, T> = {};
  for (const name of listDirOrEmpty(dir)) {
    const path = join(dir, name);
    const f = lstatOrUndefined(path);
    if (f !== undefined) items[name] = measure(path, f);
  }
  return { record: { mtimeNs: String(st.mtimeNs), items }, changed: true };
}

function containerBytes(o: Overhead, dir: string, keep: string): void {
  const st = lstatOrUndefined(dir);
  if (st === undefined) return;
  o.bytes += allocated(st);
  o.files++;
  if (!st.isDirectory()) return;
  for (const name of listDirOrEmpty(dir)) if (name !== keep) addTree(o, join(dir, name));
}

function scanBlobs(paths: StorePaths, old: UsageCache, next: UsageCache): { blobs: Map<string, BlobUsage>; overhead: Overhead; changed: boolean } {
  const overhead: Overhead = { bytes: 0, files: 0 };
  containerBytes(overhead, join(paths.root, BLOBS_DIR), 'sha256');
  const dir = paths.blobDir('sha256');
  const top = lstatOrUndefined(dir);
  if (top !== undefined) {
    overhead.bytes += allocated(top);
    overhead.files++;
  }
  const { record, changed } = scanFlatDir<BlobRecord>(dir, old.blobs, old.takenAt, (p, st) => ({
    size: st.isFile() ? st.size : -1,
    bytes: st.isDirectory() ? measureTree(p).bytes : allocated(st),
  }));
  next.blobs = record;
  const blobs = new Map<string, BlobUsage>();
  for (const [name, r] of Object.entries(record?.items ?? {})) {
    if (HEX64.test(name) && r.size >= 0) blobs.set(`sha256:${name}`, { digest: `sha256:${name}`, path: join(dir, name), size: r.size, bytes: r.bytes });
    else overhead.bytes += r.bytes;
  }
  return { blobs, overhead, changed };
}

function scanMetas(paths: StorePaths, old: UsageCache, next: UsageCache): { metas: Map<string, number>; overhead: Overhead; changed: boolean } {
  const overhead: Overhead = { bytes: 0, files: 0 };
  containerBytes(overhead, join(paths.root, LAYER_META_DIR), 'sha256');
  const dir = join(paths.root, LAYER_META_DIR, 'sha256');
  const st = statBig(dir);
  if (st === undefined) return { metas: new Map(), overhead, changed: old.metas !== undefined };
  overhead.bytes += Number(st.blocks) * 512;
  overhead.files++;
  let record = old.metas;
  let changed = false;
  if (record === undefined || !recordTrusted(record.mtimeNs, st.mtimeNs, old.takenAt)) {
    const items: Record<string, number> = {};
    for (const name of listDirOrEmpty(dir)) {
      const path = join(dir, name);
      const f = lstatOrUndefined(path);
      if (f !== undefined) items[name] = f.isDirectory() ? measureTree(path).bytes : allocated(f);
    }
    record = metasRecord(String(st.mtimeNs), items);
    changed = true;
  }
  next.metas = record;
  const { byDiffId, otherBytes } = metaSizes(record);
  overhead.bytes += otherBytes;
  return { metas: byDiffId, overhead, changed };
}

function skipMetas(old: UsageCache, next: UsageCache): { metas: Map<string, number>; overhead: Overhead; changed: boolean } {
  next.metas = old.metas;
  return { metas: new Map(), overhead: { bytes: 0, files: 0 }, changed: false };
}

// ---- layer dirs ----

async function scanLayers(paths: StorePaths, old: UsageCache, next: UsageCache): Promise<{ layerDirs: LayerDirs; overhead: Overhead; changed: boolean }> {
  const overhead: Overhead = { bytes: 0, files: 0 };
  containerBytes(overhead, paths.layers, 'sha256');
  const dir = join(paths.layers, 'sha256');
  const st = statBig(dir);
  if (st === undefined) return { layerDirs: new LayerDirs({}), overhead, changed: old.layers !== undefined };
  overhead.bytes += Number(st.blocks) * 512;
  overhead.files++;
  if (old.layers !== undefined && recordTrusted(old.layers.mtimeNs, st.mtimeNs, old.takenAt)) {
    // Unchanged since a trusted scan: the same dirs (each immutable once installed), the same junk.
    overhead.bytes += old.layers.junk.bytes;
    overhead.files += old.layers.junk.files;
    next.layers = old.layers;
    return { layerDirs: new LayerDirs(old.layers.items), overhead, changed: false };
  }
  const items: Record<string, LayerRecord> = {};
  const junk = { bytes: 0, files: 0 };
  const todo: Array<{ diffId: string; id: string }> = [];
  for (const name of listDirOrEmpty(dir)) {
    const path = join(dir, name);
    const ls = lstatOrUndefined(path);
    if (ls === undefined) continue;
    if (!HEX64.test(name) || !ls.isDirectory()) {
      addTree(junk, path);
      continue;
    }
    // Inode and change time: a dir removed and made again (maybe reusing the inode) is measured again.
    const id = `${ls.ino}:${ls.ctimeMs}`;
    const diffId = `sha256:${name}`;
    const rec = old.layers?.items[diffId];
    if (rec !== undefined && rec[0] === id) items[diffId] = rec;
    else todo.push({ diffId, id });
  }
  // Dirs not seen before: their metadata may hold their size; else they are measured (once) and
  // it is written there. Several at a time: each metadata write waits for an fsync.
  let at = 0;
  const worker = async (): Promise<void> => {
    while (at < todo.length) {
      const { diffId, id } = todo[at++]!;
      items[diffId] = await measureLayerDir(paths, diffId, join(dir, diffId.slice(7)), id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, todo.length) }, worker));
  overhead.bytes += junk.bytes;
  overhead.files += junk.files;
  next.layers = { mtimeNs: String(st.mtimeNs), items, junk };
  return { layerDirs: new LayerDirs(items), overhead, changed: true };
}

/** A layer dir's usage: from its metadata when measured before, else measured now and written there. */
async function measureLayerDir(paths: StorePaths, diffId: string, path: string, id: string): Promise<LayerRecord> {
  const meta: LayerMeta | undefined = await readLayerMeta(paths, diffId).catch(() => undefined);
  if (meta?.diskBytes !== undefined && meta.files !== undefined) return [id, meta.diskBytes, meta.files];
  const u = measureTree(path);
  if (meta !== undefined) await writeLayerMeta(paths, { ...meta, diskBytes: u.bytes, files: u.files }).catch(() => undefined);
  return [id, u.bytes, u.files];
}

// ---- cache mounts ----

export function cacheMountsDir(paths: StorePaths): string {
  return join(paths.root, CACHE_MOUNTS_DIR);
}

function mountId(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

function scanMounts(paths: StorePaths, entries: readonly ListedEntry[], old: UsageCache, next: UsageCache): { mounts: CacheMountUsage[]; overhead: Overhead; changed: boolean } {
  const overhead: Overhead = { bytes: 0, files: 0 };
  const mounts: CacheMountUsage[] = [];
  let changed = false;
  const root = cacheMountsDir(paths);
  const top = lstatOrUndefined(root);
  if (top === undefined) return { mounts, overhead, changed: Object.keys(old.mounts).length > 0 };
  overhead.bytes += allocated(top);
  overhead.files++;
  const users = new Map<string, { keys: string[]; lastRunAt: number }>();
  for (const e of entries) {
    for (const id of e.cacheMounts ?? []) {
      const u = users.get(id) ?? { keys: [], lastRunAt: 0 };
      u.keys.push(e.key);
      u.lastRunAt = Math.max(u.lastRunAt, Date.parse(e.createdAt));
      users.set(id, u);
    }
  }
  for (const name of listDirOrEmpty(root).sort()) {
    const path = join(root, name);
    const st = lstatOrUndefined(path);
    if (st === undefined) continue;
    if (!st.isDirectory()) {
      overhead.bytes += allocated(st);
      overhead.files++;
      continue;
    }
    const id = mountId(name);
    const use = users.get(id) ?? { keys: [], lastRunAt: 0 };
    let rec = old.mounts[name];
    if (!mountRecordFresh(rec, st.mtimeMs, use.lastRunAt)) {
      const measuredAt = Date.now();
      const u = measureTree(path);
      rec = { mtimeMs: st.mtimeMs, measuredAt, bytes: u.bytes, files: u.files };
      changed = true;
    }
    next.mounts[name] = rec!;
    mounts.push({
      id,
      path,
      bytes: rec!.bytes,
      files: rec!.files,
      lastUsedAt: new Date(Math.max(st.mtimeMs, use.lastRunAt)).toISOString(),
      usedBy: use.keys,
    });
  }
  if (Object.keys(old.mounts).some((m) => next.mounts[m] === undefined)) changed = true;
  return { mounts, overhead, changed };
}

// ---- all together ----

export async function loadInventory(store: Store, options: InventoryOptions = {}): Promise<Inventory> {
  const paths = store.paths;
  // Always the real clock: a remembered scan is trusted relative to it (usage-cache.ts).
  const takenAt = Date.now();
  const old = readUsageCache(paths);
  const next = emptyUsageCache(takenAt);
  const images = await loadImages(store, { from: old.images, into: next.images });
  const imagesChanged = Object.keys(next.images).length !== Object.keys(old.images).length || Object.keys(next.images).some((d) => old.images[d] === undefined);
  const imageBlobs = new Map<string, string[]>();
  const imageDiffIds = new Map<string, string[]>();
  for (const img of images) {
    for (const b of img.blobs) imageBlobs.set(b, [...new Set([...(imageBlobs.get(b) ?? []), ...img.names])]);
    for (const l of img.layers) {
      if (l.diffId !== undefined) imageDiffIds.set(l.diffId, [...new Set([...(imageDiffIds.get(l.diffId) ?? []), ...img.names])]);
    }
  }
  const e = scanEntries(paths, old, next, options);
  const l = await scanLayers(paths, old, next);
  const b = scanBlobs(paths, old, next);
  const m = options.metas === false ? skipMetas(old, next) : scanMetas(paths, old, next);
  const mounts = scanMounts(paths, e.entries, old, next);
  if (imagesChanged || e.changed || l.changed || b.changed || m.changed || mounts.changed) await writeUsageCache(paths, next);
  return {
    takenAt,
    images,
    imageBlobs,
    imageDiffIds,
    entries: e.entries,
    problems: e.problems,
    layerDirs: l.layerDirs,
    blobs: b.blobs,
    mounts: mounts.mounts,
    metas: m.metas,
    overhead: { index: e.overhead, layers: l.overhead, blobs: b.overhead, metas: m.overhead, mounts: mounts.overhead },
  };
}

/**
 * The build cache's size as `prune` limits it: entry files, layer dirs, blobs and metadata no
 * image uses (with `includeImageDirs`, images' layer dirs and metadata too), and cache mounts.
 */
export function cacheBytesOf(inv: Inventory, includeImageDirs = false): number {
  let n = 0;
  for (const e of inv.entries) n += e.fileBytes;
  for (const d of inv.layerDirs.values()) if (includeImageDirs || !inv.imageDiffIds.has(d.diffId)) n += d.bytes;
  for (const [diffId, bytes] of inv.metas) if (includeImageDirs || !inv.imageDiffIds.has(diffId)) n += bytes;
  for (const b of inv.blobs.values()) if (!inv.imageBlobs.has(b.digest)) n += b.bytes;
  for (const m of inv.mounts) n += m.bytes;
  return n;
}
