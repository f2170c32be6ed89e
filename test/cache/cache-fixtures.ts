/**
 * Real stores with real cache entries for the `cache ls/du/prune/verify` tests: layer dirs made by
 * the store's own functions (commitDirectory + adoptLayerDir for build layers, ensureLayerDir for
 * unpacked ones), entries recorded through BuildIndex, images stored through putImage.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { BuildIndex, type BuildCacheEntry } from '../../src/cache/build-index.js';
import { adoptLayerDir, commitDirectory, ensureLayerDir, storedLayer } from '../../src/cache/layers.js';
import { computeStepKey, type StepParent } from '../../src/cache/step-key.js';
import { Store } from '../../src/cache/store/store.js';
import { Digest } from '../../src/image/digest.js';
import { emptyImage } from '../../src/image/empty.js';
import { hostPlatform } from '../../src/image/platform.js';
import { layerFromCompressed, type Layer } from '../../src/image/layer.js';
import { MediaTypes } from '../../src/image/media-type.js';
import { appendLayer } from '../../src/image/mutate.js';
import { writeLayer } from '../../src/layer/index.js';
import { tempDir } from './helpers.js';

export const EPOCH = 1_700_000_000;
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
const BUILD_OPTIONS = { overlay: { xattrs: 'trusted' as const }, sourceDateEpoch: EPOCH };

export interface Fixture {
  root: string;
  store: Store;
  index: BuildIndex;
  cleanup(): Promise<void>;
}

export async function fixture(prefix = 'obox-cachecmd-'): Promise<Fixture> {
  const dir = await tempDir(prefix);
  const root = join(dir.path, 'store');
  const store = await Store.open(root);
  const index = await BuildIndex.open(store.paths);
  return { root, store, index, cleanup: dir.cleanup };
}

export interface MadeLayer {
  diffId: string;
  /** Present when a blob was written. */
  digest?: string;
  size?: number;
  layer?: Layer;
}

async function writeTree(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(dir, rel);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, content);
  }
}

/** A build layer dir (origin 'build') from `files`; with `blob`, its gzip blob is stored too. */
export async function buildLayer(f: Fixture, files: Record<string, string | Buffer>, options: { blob?: boolean } = {}): Promise<MadeLayer> {
  const dir = await mkdtemp(join(f.store.paths.tmp, 'fixture-'));
  await writeTree(dir, files);
  if (options.blob) {
    const c = await commitDirectory(f.store, dir, BUILD_OPTIONS);
    await adoptLayerDir(f.store, c.diffId, dir, { origin: 'build', sourceDateEpoch: EPOCH });
    return { diffId: c.diffId, digest: c.digest, size: c.size, layer: c.layer };
  }
  const sink = new Writable({ write: (_c, _e, done) => done() });
  const written = await writeLayer(dir, sink, { ...BUILD_OPTIONS, compression: 'none' });
  await adoptLayerDir(f.store, Digest.parse(written.diffId), dir, { origin: 'build', sourceDateEpoch: EPOCH });
  return { diffId: written.diffId };
}

/** A layer that exists as a blob and is unpacked from it (origin 'unpacked'), like a base image's. */
export async function unpackedLayer(f: Fixture, files: Record<string, string | Buffer>): Promise<MadeLayer> {
  const dir = await mkdtemp(join(f.store.paths.tmp, 'fixture-'));
  await writeTree(dir, files);
  const c = await commitDirectory(f.store, dir, { sourceDateEpoch: EPOCH });
  await rm(dir, { recursive: true });
  await ensureLayerDir(f.store, storedLayer(f.store, { digest: c.digest, size: c.size, mediaType: MediaTypes.ociLayerGzip, diffId: c.diffId }));
  return { diffId: c.diffId, digest: c.digest, size: c.size, layer: c.layer };
}

/** An image of `layers` (each with a blob) under `names`. */
export async function image(f: Fixture, layers: readonly MadeLayer[], names: readonly string[]): Promise<string> {
  let img = emptyImage(hostPlatform(), 'oci');
  for (const l of layers) {
    const layer =
      l.layer ??
      layerFromCompressed({
        open: () => f.store.getBlob(l.digest as Digest, l.size),
        mediaType: MediaTypes.ociLayerGzip,
        digest: l.digest as Digest,
        size: l.size!,
        diffId: l.diffId as Digest,
        selfVerifying: true,
      });
    img = appendLayer(img, layer, { created_by: 'RUN fixture' });
  }
  const d = await f.store.putImage(img, names);
  return d.digest;
}

export interface EntrySpec {
  n: number;
  layer?: MadeLayer | null;
  parent?: StepParent;
  /** ms since the epoch. */
  lastUsed?: number;
  created?: number;
  stage?: string;
  containerfile?: string;
  line?: number;
  text?: string;
  cacheMounts?: string[];
}

/** Records a cache entry and sets its file's mtime (the last use) like BuildIndex.touch. */
export async function entry(f: Fixture, spec: EntrySpec): Promise<BuildCacheEntry> {
  const { key, inputs } = computeStepKey({
    parent: spec.parent ?? { kind: 'scratch' },
    instruction: JSON.stringify({ type: 'run', n: spec.n }),
    args: { N: String(spec.n) },
    platform: { os: 'linux', architecture: 'amd64' },
  });
  const lastUsed = spec.lastUsed ?? Date.now() - 2 * DAY;
  const created = spec.created ?? lastUsed - HOUR;
  const l = spec.layer;
  const e: BuildCacheEntry = {
    key,
    inputs,
    layer: l === null || l === undefined ? null : { diffId: l.diffId, ...(l.digest ? { digest: l.digest, size: l.size } : {}) },
    createdAt: new Date(created).toISOString(),
    lastUsedAt: new Date(lastUsed).toISOString(),
    containerfile: spec.containerfile ?? '/src/app/Containerfile',
    line: spec.line ?? spec.n + 1,
    text: spec.text ?? `RUN step ${spec.n}`,
    stage: spec.stage ?? 'build',
    ...(spec.cacheMounts ? { cacheMounts: spec.cacheMounts } : {}),
  };
  await f.index.record(key, e);
  return e;
}

/** Sets a path's mtime (and so, for dirs and blobs, what prune compares with the oldest lease). */
export async function age(path: string, ms: number): Promise<void> {
  await utimes(path, new Date(ms), new Date(ms));
}

/** A cache mount dir with `bytes` of content. */
export async function cacheMount(f: Fixture, id: string, bytes: number, lastUsed?: number): Promise<string> {
  const dir = join(f.root, 'cache-mounts-v1', encodeURIComponent(id));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'data'), Buffer.alloc(bytes, 7));
  if (lastUsed !== undefined) await age(dir, lastUsed);
  return dir;
}

/** What `du -sx -B1` says the tree takes: allocated bytes, each inode once, this file system only. */
export function duBytes(path: string): number {
  const r = spawnSync('du', ['-s', '-x', '-B1', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`du failed: ${r.stderr}`);
  return Number(r.stdout.split('\t')[0]);
}
