/**
 * `obox cache ls`: one row per build-cache entry and one per cache mount, with what each takes on
 * disk and what it shares.
 *
 * A step's size is its layer dir plus its layer blob (allocated bytes); the part of it that is
 * shared is the dir or blob that another entry or an image also uses (removing this entry alone
 * would not free it).
 */
import { matchesFilter, type CacheFilter } from './cache-filter.js';
import { loadInventory, type Inventory, type ListedEntry } from './inventory.js';
import type { Store } from './store/index.js';

export interface StepRow {
  type: 'step';
  key: string;
  text: string | undefined;
  containerfile: string | undefined;
  line: number | undefined;
  stage: string | undefined;
  createdAt: string;
  lastUsedAt: string;
  /** Bytes of its layer dir and blob on disk. */
  size: number;
  /** Of `size`, what another entry or an image uses too. */
  sharedSize: number;
  /** Null for a step that added no layer (ENV, LABEL, …). */
  layer: {
    diffId: string;
    digest: string | undefined;
    /** Undefined when the dir is not on disk. */
    dirBytes: number | undefined;
    /** Undefined when there is no blob (an intermediate stage's layer) or it is gone. */
    blobBytes: number | undefined;
  } | null;
  /** Names of images with this layer. */
  images: string[];
  cacheMounts: string[];
}

export interface CacheMountRow {
  type: 'cache-mount';
  id: string;
  path: string;
  size: number;
  sharedSize: 0;
  lastUsedAt: string;
  /** Keys of the entries whose steps used it. */
  usedBy: string[];
}

export type CacheRow = StepRow | CacheMountRow;

export interface CacheListing {
  rows: CacheRow[];
  /** Entry files that could not be read (`cache verify` says more). */
  problems: Array<{ key: string; reason: string }>;
}

function countBy<T>(items: Iterable<T>): Map<T, number> {
  const m = new Map<T, number>();
  for (const x of items) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

/** The rows of an inventory, steps (most recently used first) then cache mounts (likewise). */
export function cacheRows(inv: Inventory): CacheRow[] {
  const dirUsers = countBy(inv.entries.flatMap((e) => (e.layer ? [e.layer.diffId] : [])));
  const blobUsers = countBy(inv.entries.flatMap((e) => (e.layer?.digest ? [e.layer.digest] : [])));
  const stepRow = (e: ListedEntry): StepRow => {
    let layer: StepRow['layer'] = null;
    let size = 0;
    let shared = 0;
    let images: string[] = [];
    if (e.layer) {
      const dir = inv.layerDirs.get(e.layer.diffId);
      const blob = e.layer.digest ? inv.blobs.get(e.layer.digest) : undefined;
      images = inv.imageDiffIds.get(e.layer.diffId) ?? [];
      layer = { diffId: e.layer.diffId, digest: e.layer.digest, dirBytes: dir?.bytes, blobBytes: blob?.bytes };
      size = (dir?.bytes ?? 0) + (blob?.bytes ?? 0);
      if (dir && ((dirUsers.get(e.layer.diffId) ?? 0) > 1 || inv.imageDiffIds.has(e.layer.diffId))) shared += dir.bytes;
      if (blob && ((blobUsers.get(blob.digest) ?? 0) > 1 || inv.imageBlobs.has(blob.digest))) shared += blob.bytes;
    }
    return {
      type: 'step',
      key: e.key,
      text: e.text,
      containerfile: e.containerfile,
      line: e.line,
      stage: e.stage,
      createdAt: e.createdAt,
      lastUsedAt: e.lastUsedAt,
      size,
      sharedSize: shared,
      layer,
      images,
      cacheMounts: e.cacheMounts ?? [],
    };
  };
  const cmp = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  const byUse = (a: CacheRow, b: CacheRow): number => cmp(b.lastUsedAt, a.lastUsedAt) || cmp(a.type === 'step' ? a.key : a.id, b.type === 'step' ? b.key : b.id);
  const steps: CacheRow[] = inv.entries.map(stepRow).sort(byUse);
  const mounts: CacheRow[] = inv.mounts
    .map((m): CacheMountRow => ({ type: 'cache-mount', id: m.id, path: m.path, size: m.bytes, sharedSize: 0, lastUsedAt: m.lastUsedAt, usedBy: m.usedBy }))
    .sort(byUse);
  return [...steps, ...mounts];
}

export function rowMatches(filter: CacheFilter, row: CacheRow, cwd?: string): boolean {
  return row.type === 'step'
    ? matchesFilter(filter, { type: 'step', id: row.key, lastUsedAt: row.lastUsedAt, images: row.images, stage: row.stage, containerfile: row.containerfile }, cwd)
    : matchesFilter(filter, { type: 'cache-mount', id: row.id, lastUsedAt: row.lastUsedAt }, cwd);
}

export async function listCache(store: Store, options: { filter?: CacheFilter; cwd?: string } = {}): Promise<CacheListing> {
  const inv = await loadInventory(store, { lastUsed: true, metas: false });
  const rows = cacheRows(inv).filter((r) => options.filter === undefined || rowMatches(options.filter, r, options.cwd));
  return { rows, problems: inv.problems.map((p) => ({ key: p.key, reason: p.reason })) };
}
