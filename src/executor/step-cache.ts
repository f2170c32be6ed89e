/**
 * The executor's side of the build cache: turn a hit into a usable layer (dir + blob, nothing
 * runs, nothing is copied), and put a freshly made layer where the cache can find it.
 *
 * A step's upper dir becomes the layer dir `layers-v1/<diffID>` (identical results share one
 * dir) before its index entry is recorded: an entry never points at a dir that is not complete.
 * Layers of stages that reach the image get their gzip blob in the same tar pass that yields the
 * diffID; other stages' layers only get a diffID (deferred-records.ts) and a blob later, if ever
 * an image needs one.
 */
import { adoptLayerDir, ensureLayerDir, layerFromDirectory, storedLayer, type CommittedLayer } from '../cache/layers.js';
import type { BuildCacheEntry, BuildIndex, CachedLayer } from '../cache/build-index.js';
import type { Lease } from '../cache/leases.js';
import type { Store } from '../cache/store/index.js';
import { Digest, type Layer } from '../image/index.js';
import type { WriteLayerOptions } from '../layer/index.js';
import type { StepLayer } from './step-fs.js';

export interface CachedStepLayer {
  layer: Layer;
  dir: string;
}

/** A layer the cache knows only by its dir: once an image commits it, its entry learns the blob. */
export interface PendingBlob {
  entry: BuildCacheEntry;
  layer: Layer & { committed(): Promise<CommittedLayer> };
}

export interface StepCacheContext {
  store: Store;
  index: BuildIndex;
  lease: Lease;
  layerOptions: WriteLayerOptions;
}

/** Holds (against prune) what these entries use: one lease write for a whole stage's hits. */
export async function holdEntries(ctx: StepCacheContext, entries: ReadonlyArray<BuildCacheEntry | undefined>): Promise<void> {
  const found = entries.filter((e): e is BuildCacheEntry => e !== undefined);
  if (found.length === 0) return;
  await ctx.lease.hold({
    keys: found.map((e) => e.key),
    diffIds: found.flatMap((e) => (e.layer ? [e.layer.diffId] : [])),
    digests: found.flatMap((e) => (e.layer?.digest ? [e.layer.digest] : [])),
  });
}

/**
 * The layer of a hit entry: null for a step without a layer; undefined when the entry cannot be
 * used (its layer dir and blob are both gone), which makes the step a miss. `held`: the caller
 * has already held the entry (holdEntries); else it is held here, before anything is checked.
 */
export async function reuseEntry(ctx: StepCacheContext, entry: BuildCacheEntry, pending: PendingBlob[], held = false): Promise<CachedStepLayer | null | undefined> {
  if (!held) await holdEntries(ctx, [entry]);
  if (entry.layer === null) return null;
  const diffId = Digest.parse(entry.layer.diffId);
  const blob = await blobOf(ctx.store, entry.layer);
  let dir: string | undefined;
  if (await ctx.store.hasLayerDir(diffId)) dir = ctx.store.layerDir(diffId);
  else if (blob) dir = await ensureLayerDir(ctx.store, blob);
  if (dir === undefined) return undefined;
  if (blob) return { layer: blob, dir };
  const layer = layerFromDirectory(ctx.store, dir, ctx.layerOptions);
  pending.push({ entry, layer });
  return { layer, dir };
}

async function blobOf(store: Store, cached: CachedLayer): Promise<Layer | undefined> {
  if (cached.digest === undefined || cached.size === undefined || cached.mediaType === undefined) return undefined;
  const digest = Digest.parse(cached.digest);
  if (!(await store.hasBlob(digest))) return undefined;
  return storedLayer(store, { digest, size: cached.size, mediaType: cached.mediaType, diffId: Digest.parse(cached.diffId) });
}

/**
 * Moves the fresh layer of a stage that reaches the image into the store, with its gzip blob
 * written in the same tar pass that yields its diffID. Returns the layer as stored and what the
 * cache entry records. (Other stages' layers are hashed in the background: deferred-records.ts.)
 */
export async function storeStepLayer(ctx: StepCacheContext, step: StepLayer): Promise<{ stored: CachedStepLayer; cached: CachedLayer }> {
  const c = await step.layer.committed();
  const dir = await adoptLayerDir(ctx.store, c.diffId, step.dir, { alreadySynced: true, origin: 'build', sourceDateEpoch: ctx.layerOptions.sourceDateEpoch });
  const mediaType = await c.layer.mediaType();
  return { stored: { layer: c.layer, dir }, cached: { diffId: c.diffId, digest: c.digest, size: c.size, mediaType } };
}

/** After an image was stored: entries whose layer got its blob only now learn it. */
export async function recordPendingBlobs(ctx: StepCacheContext, pending: readonly PendingBlob[], used: ReadonlySet<Layer>): Promise<void> {
  for (const p of pending) {
    if (!used.has(p.layer) || p.entry.layer === null) continue;
    const c = await p.layer.committed();
    const layer: CachedLayer = { diffId: p.entry.layer.diffId, digest: c.digest, size: c.size, mediaType: await c.layer.mediaType() };
    await ctx.index.update(p.entry.key, { ...p.entry, layer });
  }
}
