/**
 * `obox cache ls`: one row per build-cache entry and one per cache mount, with what each takes on
 * disk and what it shares.
 *
 * A step's size is its layer dir plus its layer blob (allocated bytes); the part of it that is
 * shared is the dir or blob that another entry or an image also uses (removing this entry alone
 * would not free it).
 */
import { isEmptyFilter, matchesFilter, type CacheFilter } from './cache-filter.js';
import { loadInventory, type Inventory } from './inventory.js';
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

/** The rows of an inventory, steps (most recently used first) then cache mounts (likewise). */
export function cacheRows(inv: Inventory): CacheRow[] {
  // How many entries use each layer dir and blob (plain loops: this runs over every entry, cold).
  const dirUsers = new Map<string, number>();
  const blobUsers = new Map<string, number>();
  for (const e of inv.entries) {
    if (e.layer === null) continue;
    dirUsers.set(e.layer.diffId, (dirUsers.get(e.layer.diffId) ?? 0) + 1);
    if (e.layer.digest !== undefined) blobUsers.set(e.layer.digest, (blobUsers.get(e.layer.digest) ?? 0) + 1);
  }
  const steps: StepRow[] = [];
  const none: string[] = []; // shared by the rows without images or mounts (never changed)
  for (const e of inv.entries) {
    let layer: StepRow['layer'] = null;
    let size = 0;
    let shared = 0;
    let images = none;
    if (e.layer !== null) {
      const { diffId, digest } = e.layer;
      const dirBytes = inv.layerDirs.bytes(diffId);
      const blobBytes = digest !== undefined ? inv.blobs.get(digest)?.bytes : undefined;
      images = inv.imageDiffIds.get(diffId) ?? none;
      layer = { diffId, digest, dirBytes, blobBytes };
      size = (dirBytes ?? 0) + (blobBytes ?? 0);
      if (dirBytes !== undefined && (dirUsers.get(diffId)! > 1 || inv.imageDiffIds.has(diffId))) shared += dirBytes;
      if (blobBytes !== undefined && (blobUsers.get(digest!)! > 1 || inv.imageBlobs.has(digest!))) shared += blobBytes;
    }
    steps.push({
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
      cacheMounts: e.cacheMounts ?? none,
    });
  }
  steps.sort((a, b) => (a.lastUsedAt < b.lastUsedAt ? 1 : a.lastUsedAt > b.lastUsedAt ? -1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const mounts = inv.mounts
    .map((m): CacheMountRow => ({ type: 'cache-mount', id: m.id, path: m.path, size: m.bytes, sharedSize: 0, lastUsedAt: m.lastUsedAt, usedBy: m.usedBy }))
    .sort((a, b) => (a.lastUsedAt < b.lastUsedAt ? 1 : a.lastUsedAt > b.lastUsedAt ? -1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return [...steps, ...mounts];
}

export function rowMatches(filter: CacheFilter, row: CacheRow, cwd?: string): boolean {
  return row.type === 'step'
    ? matchesFilter(filter, { type: 'step', id: row.key, lastUsedAt: row.lastUsedAt, images: row.images, stage: row.stage, containerfile: row.containerfile }, cwd)
    : matchesFilter(filter, { type: 'cache-mount', id: row.id, lastUsedAt: row.lastUsedAt }, cwd);
}

export async function listCache(store: Store, options: { filter?: CacheFilter; cwd?: string } = {}): Promise<CacheListing> {
  const inv = await loadInventory(store, { lastUsed: true, metas: false });
  const filter = options.filter;
  const all = cacheRows(inv);
  const rows = filter === undefined || isEmptyFilter(filter) ? all : all.filter((r) => rowMatches(filter, r, options.cwd));
  return { rows, problems: inv.problems.map((p) => ({ key: p.key, reason: p.reason })) };
}
