/**
 * One filesystem step: mount the parent chain's layer dirs as overlay lowers with a fresh upper,
 * let the step work in the merged view, unmount, drop directories that were only copied up, and
 * commit what is left as a layer (or nothing, when the step changed nothing). The upper dir
 * itself becomes the layer's unpacked dir: committing costs what the step changed.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { adoptLayerDir, diffIdOfDirectory, layerFromDirectory } from '../cache/layers.js';
import type { Digest, Layer } from '../image/index.js';
import type { Store } from '../cache/store/index.js';
import { pruneUnchangedDirs } from '../layer/index.js';
import { mountOverlay } from './overlay/index.js';
import { registerCleanup } from './cleanup.js';

export interface StepFsContext {
  store: Store;
  /** Short-link directory for deep layer chains. */
  linksDir: string;
  sourceDateEpoch: number | undefined;
  signal: AbortSignal | undefined;
}

export interface StepLayer {
  layer: Layer;
  diffId: Digest;
  /** The layer's unpacked dir in the store (overlay form): the next step's lower dir. */
  dir: string;
  /** Bytes of the uncompressed layer tar. */
  size: number;
}

export interface StepFsResult<T> {
  value: T;
  /** Undefined when the step changed nothing. */
  layer: StepLayer | undefined;
}

/** Runs `work` with the merged root filesystem of `lowerDirs` (base first) and commits the diff. */
export async function withStepFilesystem<T>(ctx: StepFsContext, lowerDirs: readonly string[], work: (rootfs: string) => Promise<T>): Promise<StepFsResult<T>> {
  const stateDir = await mkdtemp(path.join(ctx.store.paths.tmp, 'step-'));
  // Registered before the mount, so on a forced exit it runs after the unmount (newest first).
  const unregister = registerCleanup(() => rm(stateDir, { recursive: true, force: true }));
  try {
    const mount = await mountOverlay({ layers: lowerDirs, stateDir, linksDir: ctx.linksDir, signal: ctx.signal });
    let value: T;
    try {
      value = await work(mount.target);
    } catch (e) {
      await mount.unmount();
      throw e;
    }
    await mount.unmount({ keepUpper: true });
    const upper = mount.upperDir!;
    await pruneUnchangedDirs(upper, lowerDirs);
    if ((await readdir(upper)).length === 0) return { value, layer: undefined };
    // Only the diffID now: the gzip blob is made on first use (see layerFromDirectory).
    const options = { overlay: { xattrs: 'trusted' as const }, ...(ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}) };
    const { diffId, size } = await diffIdOfDirectory(upper, options);
    // The unmount of a kept (volatile) upper ran syncfs on its filesystem: no second fsync pass.
    const dir = await adoptLayerDir(ctx.store, diffId, upper, { alreadySynced: true });
    return { value, layer: { layer: layerFromDirectory(ctx.store, dir, diffId, options), diffId, dir, size } };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
    unregister();
  }
}
