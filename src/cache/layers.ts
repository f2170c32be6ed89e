/**
 * Layers between directories and the store: commit a directory (an overlay upper dir or a root
 * filesystem) as a layer blob, and make sure a layer's unpacked directory exists so it can serve
 * as an overlay lower dir. Both the import command and the executor use these.
 */
import { rename, rm } from 'node:fs/promises';
import { PassThrough, Writable } from 'node:stream';
import { Digest, layerFromCompressed, parseMediaType, type Layer } from '../image/index.js';
import { unpackLayer, writeLayer, type WriteLayerOptions } from '../layer/index.js';
import { ErrorCodes, OboxError } from '../errors.js';
import type { Store } from './store/index.js';
import { writeLayerMeta } from './layer-meta.js';

export interface CommittedLayer {
  layer: Layer;
  diffId: Digest;
  digest: Digest;
  /** Compressed size: what the blob takes. */
  size: number;
  uncompressedSize: number;
}

/** A layer that reads its blob from the store (verified on read). */
export function storedLayer(store: Store, desc: { digest: Digest; size: number; mediaType: string; diffId: Digest }): Layer {
  return layerFromCompressed({
    open: () => store.getBlob(desc.digest, desc.size),
    mediaType: parseMediaType(desc.mediaType),
    digest: desc.digest,
    size: desc.size,
    diffId: desc.diffId,
    selfVerifying: true,
  });
}

/** Writes `dir` as a gzip layer blob into the store, hashing both forms in one pass. */
export async function commitDirectory(store: Store, dir: string, options: WriteLayerOptions = {}): Promise<CommittedLayer> {
  const pipe = new PassThrough({ highWaterMark: 1 << 20 });
  const stored = store.putBlob(pipe);
  let written;
  try {
    written = await writeLayer(dir, pipe, options);
  } catch (e) {
    pipe.destroy(e as Error);
    await stored.catch(() => undefined);
    throw e;
  }
  const put = await stored;
  const digest = Digest.parse(written.digest);
  if (put.digest !== digest) {
    throw new OboxError(ErrorCodes.store, `layer blob digest changed while storing: wrote ${digest}, stored ${put.digest}`);
  }
  const diffId = Digest.parse(written.diffId);
  return {
    layer: storedLayer(store, { digest, size: written.size, mediaType: written.mediaType, diffId }),
    diffId,
    digest,
    size: written.size,
    uncompressedSize: written.uncompressedSize,
  };
}

/**
 * The unpacked directory of `layer` in the store (overlay form: whiteouts as 0:0 devices),
 * unpacking it first when it is not there. Safe against concurrent callers.
 */
export async function ensureLayerDir(store: Store, layer: Layer): Promise<string> {
  const diffId = await layer.diffId();
  if (await store.hasLayerDir(diffId)) return store.layerDir(diffId);
  const { path, installed } = await store.installLayerDir(diffId, async (fresh) => {
    // unpackLayer wants to create its target itself (all or nothing).
    await rm(fresh, { recursive: true, force: true });
    const result = await unpackLayer(await layer.compressed(), fresh, { archiveName: `layer ${await layer.digest()}` });
    if (result.diffId !== diffId) {
      throw new OboxError(ErrorCodes.invalidArchive, `layer ${await layer.digest()} unpacks to diffID ${result.diffId}, expected ${diffId}`);
    }
  });
  if (installed) await writeLayerMeta(store.paths, { diffId, origin: 'unpacked', createdAt: new Date().toISOString() });
  return path;
}

/**
 * Moves an already unpacked tree into the store as the layer dir for diffId (same filesystem).
 * `alreadySynced`: the caller has flushed the tree (an overlay unmount's syncfs), so the
 * per-file fsync pass is skipped; the rename and the parent directory are still synced.
 */
export async function adoptLayerDir(
  store: Store,
  diffId: Digest,
  dir: string,
  options: { alreadySynced?: boolean; origin?: 'build' | 'import'; sourceDateEpoch?: number | undefined } = {},
): Promise<string> {
  const { path, installed } = await store.installLayerDir(
    diffId,
    async (fresh) => {
      await rm(fresh, { recursive: true, force: true });
      await rename(dir, fresh);
    },
    { sync: !options.alreadySynced },
  );
  await rm(dir, { recursive: true, force: true });
  if (installed) {
    await writeLayerMeta(store.paths, {
      diffId,
      origin: options.origin ?? 'build',
      createdAt: new Date().toISOString(),
      ...(options.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.sourceDateEpoch } : {}),
    });
  }
  return path;
}

/**
 * A layer known by its unpacked directory (overlay form): nothing is hashed or compressed until
 * it is needed. The first call to digest/size/diffId/compressed writes the gzip blob into the
 * store (one pass: tar → sha256 → gzip → sha256), so only layers that reach a stored or
 * exported image pay for it; a build stage's layers never do.
 */
export function layerFromDirectory(store: Store, dir: string, options: WriteLayerOptions = {}): Layer & { committed(): Promise<CommittedLayer> } {
  let blob: Promise<CommittedLayer> | undefined;
  const committed = (): Promise<CommittedLayer> => {
    blob ??= commitDirectory(store, dir, options);
    blob.catch(() => {
      blob = undefined;
    });
    return blob;
  };
  return {
    selfVerifying: true,
    committed,
    digest: async () => (await committed()).digest,
    size: async () => (await committed()).size,
    diffId: async () => (await committed()).diffId,
    mediaType: async () => (await committed()).layer.mediaType(),
    compressed: async () => (await committed()).layer.compressed(),
    uncompressed: async () => (await committed()).layer.uncompressed(),
  };
}

/** The diffID of `dir` as a layer tar (one uncompressed tar pass, nothing stored). */
export async function diffIdOfDirectory(dir: string, options: WriteLayerOptions = {}): Promise<{ diffId: Digest; uncompressedSize: number }> {
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  const written = await writeLayer(dir, sink, { ...options, compression: 'none' });
  return { diffId: Digest.parse(written.diffId), uncompressedSize: written.uncompressedSize };
}
