/**
 * `obox cache du`: where the store's disk space goes, in categories that add up to the whole
 * store as `du -x` counts it (allocated blocks, each inode once within an item, nothing on
 * another file system):
 *
 *   blobs            blobs/ (image and layer blobs)
 *   layer dirs       layers-v1/ (unpacked layers, overlay lower dirs)
 *   cache index      cache-v1/ but for builds/ and leases/ (entry files, usage-v1.json)
 *   layer metadata   layer-meta-v1/
 *   cache mounts     cache-mounts-v1/ (RUN --mount=type=cache)
 *   build records    cache-v1/builds/ (what `cache why` reads), cache-v1/replay/ (the launcher's)
 *   tmp              tmp/ (work in progress, and what crashed processes left)
 *   other            the rest: index.json, oci-layout, locks, leases, links-v1, run-v1, …
 *
 * "In use by images" is what images in index.json reach (their blobs, their layers' dirs and
 * metadata). "Reclaimable" is what `cache prune` without --all could free at most: everything
 * of the cache that no image uses, and abandoned temp items. Layer dirs of images are freed
 * only by `prune --all` (they are unpacked again from the blobs on demand).
 */
import { lstatSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { abandonedTmpItems } from './tmp-items.js';
import { CACHE_DIR } from './build-index.js';
import { REPLAY_DIR } from './build-records.js';
import { allocated, measureTree } from './disk-usage.js';
import { CACHE_MOUNTS_DIR, cacheBytesOf, loadInventory } from './inventory.js';
import { LAYER_META_DIR } from './layer-meta.js';
import { errnoCode, listDirOrEmpty } from './store/atomic.js';
import { BLOBS_DIR, LAYERS_DIR, TMP_DIR } from './store/paths.js';
import type { Store } from './store/index.js';

export const DU_CATEGORIES = ['blobs', 'layer dirs', 'cache index', 'layer metadata', 'cache mounts', 'build records', 'tmp', 'other'] as const;
export type DuCategory = (typeof DU_CATEGORIES)[number];

export interface DuItem {
  category: DuCategory;
  /** A digest, diffID, mount id, or a path relative to the store root. */
  name: string;
  bytes: number;
  inUseByImages: boolean;
  reclaimable: boolean;
  /** Images (names) and cache entries (count) that use it, where that applies. */
  images?: string[];
  entries?: number;
}

export interface DuCategoryTotal {
  category: DuCategory;
  bytes: number;
  /** Files and directories counted. */
  items: number;
  inUseByImages: number;
  reclaimable: number;
}

export interface DuReport {
  root: string;
  total: number;
  inUseByImages: number;
  reclaimable: number;
  /** What `prune --keep-storage` compares with: the build cache's share of the store. */
  cacheBytes: number;
  categories: DuCategoryTotal[];
  /** Per item, with `verbose`. */
  items?: DuItem[];
  /** Cache entry files that could not be read. */
  problems: number;
}

/** Where `cache why`'s build records live (cache-v1/builds). */
const BUILD_RECORDS_DIR_NAME = `${CACHE_DIR}/builds`;

/** Entries of the store root that belong to a category other than "other". */
const CATEGORISED = new Set([BLOBS_DIR, LAYERS_DIR, LAYER_META_DIR, CACHE_DIR, CACHE_MOUNTS_DIR, TMP_DIR]);


export async function diskUsage(store: Store, options: { verbose?: boolean; now?: number } = {}): Promise<DuReport> {
  const paths = store.paths;
  const inv = await loadInventory(store);
  const items: DuItem[] = [];
  const totals = new Map<DuCategory, DuCategoryTotal>(DU_CATEGORIES.map((c) => [c, { category: c, bytes: 0, items: 0, inUseByImages: 0, reclaimable: 0 }]));
  const add = (item: DuItem, files = 1): void => {
    const t = totals.get(item.category)!;
    t.bytes += item.bytes;
    t.items += files;
    if (item.inUseByImages) t.inUseByImages += item.bytes;
    if (item.reclaimable) t.reclaimable += item.bytes;
    if (options.verbose) items.push(item);
  };
  const entryUsers = new Map<string, number>();
  for (const e of inv.entries) {
    if (!e.layer) continue;
    entryUsers.set(e.layer.diffId, (entryUsers.get(e.layer.diffId) ?? 0) + 1);
    if (e.layer.digest) entryUsers.set(e.layer.digest, (entryUsers.get(e.layer.digest) ?? 0) + 1);
  }

  for (const b of inv.blobs.values()) {
    const images = inv.imageBlobs.get(b.digest);
    add({ category: 'blobs', name: b.digest, bytes: b.bytes, inUseByImages: images !== undefined, reclaimable: images === undefined, images: images ?? [], entries: entryUsers.get(b.digest) ?? 0 });
  }
  add({ category: 'blobs', name: 'blobs/ (directories, stray files)', bytes: inv.overhead.blobs.bytes, inUseByImages: false, reclaimable: false }, inv.overhead.blobs.files);

  for (const d of inv.layerDirs.values()) {
    const images = inv.imageDiffIds.get(d.diffId);
    add({ category: 'layer dirs', name: d.diffId, bytes: d.bytes, inUseByImages: images !== undefined, reclaimable: images === undefined, images: images ?? [], entries: entryUsers.get(d.diffId) ?? 0 }, d.files);
  }
  add({ category: 'layer dirs', name: `${LAYERS_DIR}/ (directories, stray files)`, bytes: inv.overhead.layers.bytes, inUseByImages: false, reclaimable: false }, inv.overhead.layers.files);

  let metaBytes = 0;
  let metaImages = 0;
  for (const [diffId, bytes] of inv.metas) {
    metaBytes += bytes;
    if (inv.imageDiffIds.has(diffId)) metaImages += bytes;
  }
  const metas = totals.get('layer metadata')!;
  metas.bytes += metaBytes + inv.overhead.metas.bytes;
  metas.items += inv.metas.size + inv.overhead.metas.files;
  metas.inUseByImages += metaImages;
  metas.reclaimable += metaBytes - metaImages;
  if (options.verbose) {
    items.push({ category: 'layer metadata', name: `${LAYER_META_DIR}/ (${inv.metas.size} files)`, bytes: metaBytes + inv.overhead.metas.bytes, inUseByImages: metaImages > 0, reclaimable: metaBytes > metaImages });
  }

  for (const m of inv.mounts) {
    add({ category: 'cache mounts', name: m.id, bytes: m.bytes, inUseByImages: false, reclaimable: true, entries: m.usedBy.length }, m.files);
  }
  add({ category: 'cache mounts', name: `${CACHE_MOUNTS_DIR}/ (directories, stray files)`, bytes: inv.overhead.mounts.bytes, inUseByImages: false, reclaimable: false }, inv.overhead.mounts.files);

  // cache-v1: the entry index (from the inventory), build records, leases (other), the rest.
  const index = totals.get('cache index')!;
  let entryBytes = 0;
  for (const e of inv.entries) entryBytes += e.fileBytes;
  index.bytes += entryBytes + inv.overhead.index.bytes;
  index.items += inv.entries.length + inv.overhead.index.files;
  index.reclaimable += entryBytes;
  if (options.verbose) items.push({ category: 'cache index', name: `${CACHE_DIR}/entries/ (${inv.entries.length} entries)`, bytes: entryBytes + inv.overhead.index.bytes, inUseByImages: false, reclaimable: true });
  const cacheDir = join(paths.root, CACHE_DIR);
  const cacheTop = lstatOrUndefined(cacheDir);
  if (cacheTop !== undefined) {
    add({ category: 'cache index', name: `${CACHE_DIR}/`, bytes: allocated(cacheTop), inUseByImages: false, reclaimable: false });
    for (const name of listDirOrEmpty(cacheDir)) {
      if (name === 'entries') continue;
      const rel = `${CACHE_DIR}/${name}`;
      const u = measureTree(join(cacheDir, name));
      const category: DuCategory = rel === BUILD_RECORDS_DIR_NAME || rel === REPLAY_DIR ? 'build records' : name === 'leases' ? 'other' : 'cache index';
      add({ category, name: rel, bytes: u.bytes, inUseByImages: false, reclaimable: false }, u.files);
    }
  }

  // tmp/: each item; abandoned ones are reclaimable.
  const abandoned = new Set((await abandonedTmpItems(paths, { now: options.now })).map((i) => i.name));
  const tmpTop = lstatOrUndefined(paths.tmp);
  if (tmpTop !== undefined) {
    add({ category: 'tmp', name: `${TMP_DIR}/`, bytes: allocated(tmpTop), inUseByImages: false, reclaimable: false });
    for (const name of listDirOrEmpty(paths.tmp)) {
      const u = measureTree(join(paths.tmp, name));
      add({ category: 'tmp', name: `${TMP_DIR}/${name}`, bytes: u.bytes, inUseByImages: false, reclaimable: abandoned.has(name) }, u.files);
    }
  }

  // Everything else at the top, and the root directory itself.
  const rootSt = lstatOrUndefined(paths.root);
  if (rootSt !== undefined) add({ category: 'other', name: '.', bytes: allocated(rootSt), inUseByImages: false, reclaimable: false });
  for (const name of listDirOrEmpty(paths.root)) {
    if (CATEGORISED.has(name)) continue;
    const u = measureTree(join(paths.root, name));
    add({ category: 'other', name, bytes: u.bytes, inUseByImages: false, reclaimable: false }, u.files);
  }

  const categories = [...totals.values()];
  const sum = (f: (t: DuCategoryTotal) => number): number => categories.reduce((a, t) => a + f(t), 0);
  return {
    root: paths.root,
    total: sum((t) => t.bytes),
    inUseByImages: sum((t) => t.inUseByImages),
    reclaimable: sum((t) => t.reclaimable),
    cacheBytes: cacheBytesOf(inv),
    categories,
    ...(options.verbose ? { items } : {}),
    problems: inv.problems.length,
  };
}

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}
