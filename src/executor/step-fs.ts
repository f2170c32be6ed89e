/**
 * One filesystem step: mount the parent chain's layer dirs as overlay lowers with a fresh upper,
 * let the step work in the merged view, unmount, drop directories that were only copied up, and
 * commit what is left as a layer (or nothing, when the step changed nothing). The upper dir
 * itself becomes the layer's unpacked dir: committing costs what the step changed.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { rename } from 'node:fs/promises';
import { layerFromDirectory, type CommittedLayer } from '../cache/layers.js';
import type { Layer } from '../image/index.js';
import { tempDirIn, type Store } from '../cache/store/index.js';
import { pruneUnchangedDirs } from '../layer/index.js';
import { mountOverlay } from './overlay/index.js';
import { registerCleanup } from './cleanup.js';

export interface StepFsContext {
  store: Store;
  /** Where this build keeps its steps' layer dirs until they are committed (same filesystem as the store). */
  layersDir: string;
  /** Short-link directory for deep layer chains. */
  linksDir: string;
  sourceDateEpoch: number | undefined;
  signal: AbortSignal | undefined;
}

export interface StepLayer {
  layer: Layer & { committed(): Promise<CommittedLayer> };
  /** The layer's unpacked dir (overlay form): the next step's lower dir. */
  dir: string;
  /** Flushed to disk already (false: with deferSync, the caller must before trusting it). */
  synced: boolean;
}

export interface StepFsResult<T> {
  value: T;
  /** Undefined when the step changed nothing. */
  layer: StepLayer | undefined;
}

/**
 * Runs `work` with the merged root filesystem of `lowerDirs` (base first) and commits the diff.
 * `deferSync`: skip the syncfs after the unmount; the layer comes back with synced: false.
 */
export async function withStepFilesystem<T>(
  ctx: StepFsContext,
  lowerDirs: readonly string[],
  work: (rootfs: string) => Promise<T>,
  options: { deferSync?: boolean } = {},
): Promise<StepFsResult<T>> {
  const stateDir = await tempDirIn(ctx.store.paths.tmp, 'step');
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
    const synced = options.deferSync !== true;
    await mount.unmount({ keepUpper: true, syncUpper: synced });
    const upper = mount.upperDir!;
    await pruneUnchangedDirs(upper, lowerDirs);
    if ((await readdir(upper)).length === 0) return { value, layer: undefined };
    // Nothing is hashed or compressed here: the upper dir is the layer, committed on first use.
    const layerOptions = { overlay: { xattrs: 'trusted' as const }, ...(ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}) };
    const dir = path.join(ctx.layersDir, path.basename(stateDir));
    await rename(upper, dir);
    return { value, layer: { layer: layerFromDirectory(ctx.store, dir, layerOptions), dir, synced } };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
    unregister();
  }
}
