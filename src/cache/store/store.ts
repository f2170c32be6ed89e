/**
 * The local store (DESIGN.md "The store"): one directory that is itself an OCI image layout, plus
 * obox's versioned directories beside it (see paths.ts). This module ties the parts together:
 * blobs (blobs.ts), names in index.json (names.ts, index-file.ts), unpacked layer directories
 * (atomic.ts installDir), and reading a stored image back as an `Image`.
 *
 * Ordering guarantees: blobs are written before any name points at them, so index.json never
 * names a manifest whose manifest, config or layer blobs are missing. Removing a name keeps the
 * blobs; gc (a separate component) reclaims what no name reaches.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import { ErrorCodes, OboxError } from '../../errors.js';
import { encodeJson, struct } from '../../image/canonical-json.js';
import { parseImageConfigBytes } from '../../image/config.js';
import type { Descriptor } from '../../image/descriptor.js';
import { Digest } from '../../image/digest.js';
import { imageFromRaw, manifestDescriptor, type Image } from '../../image/image.js';
import { layerFromCompressed } from '../../image/layer.js';
import { manifestFormat, parseManifestBytes } from '../../image/manifest.js';
import { isDistributableLayer, isIndexMediaType, MediaTypes } from '../../image/media-type.js';
import { setFormat } from '../../image/mutate.js';
import { serializeIndex } from '../../image/oci-index.js';
import { parseReference } from '../../image/reference.js';
import { createFileExclusive, exists, installDir, type InstallDirOptions } from './atomic.js';
import { BlobStore, type BlobInfo, type BlobSource, type ExpectedBlob, type PutResult } from './blobs.js';
import { EMPTY_INDEX, readIndex, updateIndex } from './index-file.js';
import type { LockOptions } from './lock.js';
import { findDigest, findName, refName, removeName, setNames, storeName, withoutName } from './names.js';
import { BLOBS_DIR, INDEX_FILE, LAYERS_DIR, LOCKS_DIR, OCI_LAYOUT_FILE, StorePaths, TMP_DIR } from './paths.js';

export const IMAGE_LAYOUT_VERSION = '1.0.0';
/** Manifests larger than this are refused (distribution's limit is 4 MiB). */
export const MANIFEST_LIMIT = 4 * 1024 * 1024;
export const CONFIG_LIMIT = 32 * 1024 * 1024;

const KNOWN_ENTRIES = new Set([OCI_LAYOUT_FILE, INDEX_FILE, BLOBS_DIR, LAYERS_DIR, TMP_DIR, LOCKS_DIR]);

export interface StoreOptions {
  /** Timeouts for the index.json lock. */
  lock?: LockOptions;
}

/** One entry of index.json: a name (or none) and the manifest it points at. */
export interface StoredImage {
  /** Full normalised name, e.g. `docker.io/library/busybox:latest`; undefined for an unnamed image. */
  readonly name: string | undefined;
  /** The manifest descriptor, without the name annotation. */
  readonly descriptor: Descriptor;
}

function layoutFileText(): string {
  return encodeJson(struct([['imageLayoutVersion', IMAGE_LAYOUT_VERSION]]));
}

async function checkLayoutFile(paths: StorePaths): Promise<void> {
  const text = await readFile(paths.ociLayout, 'utf8');
  let version: unknown;
  try {
    version = (JSON.parse(text) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch {
    version = undefined;
  }
  if (version !== IMAGE_LAYOUT_VERSION) {
    throw new OboxError(ErrorCodes.store, `${paths.ociLayout}: unsupported image layout version ${JSON.stringify(version)}`, {
      hint: `obox reads layout version ${IMAGE_LAYOUT_VERSION}`,
    });
  }
}

export class Store {
  readonly blobs: BlobStore;

  private constructor(
    readonly paths: StorePaths,
    private readonly options: StoreOptions,
  ) {
    this.blobs = new BlobStore(paths);
  }

  /**
   * Open the store at `root`, creating it if needed. Refuses a non-empty directory that is not
   * a store (so `--root ~` never sprinkles files into a home directory).
   */
  static async open(root: string, options: StoreOptions = {}): Promise<Store> {
    const paths = new StorePaths(resolvePath(root));
    await mkdir(paths.root, { recursive: true, mode: 0o700 });
    const hasLayout = await exists(paths.ociLayout);
    if (!hasLayout) {
      const strangers = (await readdir(paths.root)).filter((e) => !KNOWN_ENTRIES.has(e));
      if (strangers.length > 0) {
        throw new OboxError(ErrorCodes.store, `${paths.root} is not empty and is not an obox store`, {
          hint: 'choose an empty or new directory for --root / OBOX_ROOT',
        });
      }
    }
    await Promise.all([
      mkdir(paths.blobDir('sha256'), { recursive: true }),
      mkdir(paths.layers, { recursive: true }),
      mkdir(paths.tmp, { recursive: true }),
      mkdir(paths.locks, { recursive: true }),
    ]);
    // link(2)-based create: concurrent first opens cannot overwrite each other's index.json.
    // An existing store (the usual case) is only read: no temp file, no fsync.
    if (hasLayout || !(await createFileExclusive(paths.ociLayout, layoutFileText(), paths.tmp))) await checkLayoutFile(paths);
    if ((await exists(paths.index)) || !(await createFileExclusive(paths.index, serializeIndex(EMPTY_INDEX), paths.tmp))) await readIndex(paths);
    return new Store(paths, options);
  }

  get root(): string {
    return this.paths.root;
  }

  // ---- blobs ----

  putBlob(source: BlobSource, expected?: ExpectedBlob): Promise<PutResult> {
    return this.blobs.put(source, expected);
  }

  /** A verified stream of a blob; E_NOT_FOUND when absent, E_INVALID_ARCHIVE at EOF when corrupt. */
  getBlob(digest: Digest, size?: number): Promise<Readable> {
    return this.blobs.open(digest, size);
  }

  hasBlob(digest: Digest): Promise<boolean> {
    return this.blobs.has(digest);
  }

  statBlob(digest: Digest): Promise<BlobInfo | undefined> {
    return this.blobs.stat(digest);
  }

  // ---- images and names ----

  private async recordNames(descriptor: Descriptor, names: readonly string[]): Promise<void> {
    const normalised = names.map(storeName);
    await updateIndex(this.paths, (ix) => setNames(ix, descriptor, normalised), this.options.lock);
  }

  /**
   * Store an OCI manifest whose config and layer blobs are already in the store, under `names`
   * (none: kept as an unnamed image). Returns its descriptor (with platform). The bytes are kept
   * as given, so the digest is the caller's. Docker schema 2 manifests are refused: standard tools
   * ignore them in a layout's index.json (use putImage, which converts).
   */
  async putManifest(rawManifest: Uint8Array, names: readonly string[] = []): Promise<Descriptor> {
    const manifest = parseManifestBytes(rawManifest);
    if (manifestFormat(manifest) !== 'oci') {
      throw new OboxError(ErrorCodes.store, 'cannot store a Docker schema 2 manifest as is: the store holds OCI manifests', {
        hint: 'store it with putImage, which converts the media types',
      });
    }
    const missing: string[] = [];
    const configInfo = await this.blobs.stat(manifest.config.digest);
    if (configInfo === undefined) missing.push(`config ${manifest.config.digest}`);
    for (const l of manifest.layers) {
      const foreign = !isDistributableLayer(l.mediaType) && (l.urls?.length ?? 0) > 0;
      if (!foreign && !(await this.blobs.has(l.digest))) missing.push(`layer ${l.digest}`);
    }
    if (missing.length > 0) {
      throw new OboxError(ErrorCodes.store, `cannot store manifest: blobs missing from the store: ${missing.join(', ')}`);
    }
    const config = parseImageConfigBytes(await this.blobs.read(manifest.config.digest, { size: manifest.config.size, limit: CONFIG_LIMIT }));
    const put = await this.blobs.put(rawManifest);
    const descriptor: Descriptor = {
      mediaType: manifest.mediaType ?? MediaTypes.ociManifest,
      digest: put.digest,
      size: put.size,
      platform: {
        architecture: config.architecture,
        os: config.os,
        ...(config['os.version'] ? { 'os.version': config['os.version'] } : {}),
        ...(config.variant ? { variant: config.variant } : {}),
      },
    };
    await this.recordNames(descriptor, names);
    return descriptor;
  }

  /**
   * Store an image — layer blobs, config, manifest, in that order — then point `names` at it.
   * A Docker schema 2 image is stored with OCI media types (skopeo and umoci only look at OCI
   * manifests in a layout's index.json): its layer and config bytes are unchanged, so its image
   * ID (config digest) is the same, but its manifest digest is that of the OCI manifest.
   */
  async putImage(source: Image, names: readonly string[] = []): Promise<Descriptor> {
    const normalised = names.map(storeName); // validate before writing anything
    const image = manifestFormat(await source.manifest()) === 'docker' ? setFormat(source, 'oci') : source;
    const [manifest, layers, rawConfig, rawManifest, digest] = await Promise.all([
      image.manifest(),
      image.layers(),
      image.rawConfig(),
      image.rawManifest(),
      image.digest(),
    ]);
    if (layers.length !== manifest.layers.length) {
      throw new OboxError(ErrorCodes.store, `image has ${layers.length} layers but its manifest lists ${manifest.layers.length}`);
    }
    for (const [i, layer] of layers.entries()) {
      const d = manifest.layers[i] as Descriptor;
      if (await this.blobs.has(d.digest)) continue;
      await this.blobs.put(await layer.compressed(), { digest: d.digest, size: d.size });
    }
    await this.blobs.put(rawConfig, { digest: manifest.config.digest, size: manifest.config.size });
    await this.blobs.put(rawManifest, { digest, size: rawManifest.byteLength });
    const descriptor = await manifestDescriptor(image);
    await updateIndex(this.paths, (ix) => setNames(ix, descriptor, normalised), this.options.lock);
    return descriptor;
  }

  /**
   * The manifest descriptor for a name (`busybox` → `docker.io/library/busybox:latest`), a
   * `name@digest`, a manifest digest `sha256:…`, or its 64 hex digits. E_NOT_FOUND otherwise.
   */
  async resolve(ref: string): Promise<Descriptor> {
    const index = await readIndex(this.paths);
    let digest: Digest | undefined;
    if (Digest.isValid(ref)) digest = ref;
    else if (/^[a-f0-9]{64}$/.test(ref)) digest = Digest.fromHex('sha256', ref);
    else {
      const parsed = parseReference(ref);
      if (parsed.digest !== undefined) digest = parsed.digest;
      else {
        const found = findName(index, parsed.withDefaultTag().toString());
        if (found === undefined) {
          throw new OboxError(ErrorCodes.notFound, `image ${parsed.withDefaultTag().familiarString()} is not in the store`);
        }
        return found;
      }
    }
    const byIndex = findDigest(index, digest);
    if (byIndex !== undefined) return byIndex;
    // A manifest blob no name points at any more (untagged, not yet collected).
    const info = await this.blobs.stat(digest);
    if (info !== undefined) {
      const manifest = parseManifestBytes(await this.blobs.read(digest, { size: info.size, limit: MANIFEST_LIMIT }));
      return { mediaType: manifest.mediaType ?? MediaTypes.ociManifest, digest, size: info.size };
    }
    throw new OboxError(ErrorCodes.notFound, `image ${digest} is not in the store`);
  }

  /** Every entry of index.json, named ones first (sorted), then unnamed ones. */
  async listImages(): Promise<StoredImage[]> {
    const index = await readIndex(this.paths);
    return index.manifests.map((d) => ({ name: refName(d), descriptor: withoutName(d) }));
  }

  /** Give the image `source` resolves to one more name; returns its descriptor. */
  async tag(source: string, newName: string): Promise<Descriptor> {
    const name = storeName(newName);
    const descriptor = await this.resolve(source);
    await updateIndex(this.paths, (ix) => setNames(ix, descriptor, [name]), this.options.lock);
    return descriptor;
  }

  /** Remove a name; the blobs stay until gc. Returns what the name pointed at; E_NOT_FOUND if nothing. */
  async untag(name: string): Promise<Descriptor> {
    const full = storeName(name);
    let removed: Descriptor | undefined;
    await updateIndex(
      this.paths,
      (ix) => {
        const r = removeName(ix, full);
        removed = r.removed;
        return r.index;
      },
      this.options.lock,
    );
    if (removed === undefined) throw new OboxError(ErrorCodes.notFound, `image ${parseReference(full).familiarString()} is not in the store`);
    return removed;
  }

  /** A stored image as an `Image`: manifest and config read and verified now, layers streamed (verified) on use. */
  async image(ref: string): Promise<Image> {
    const descriptor = await this.resolve(ref);
    if (isIndexMediaType(descriptor.mediaType)) {
      throw new OboxError(ErrorCodes.store, `${ref} is a multi-platform index, not a single image`);
    }
    const rawManifest = await this.blobs.read(descriptor.digest, { size: descriptor.size, limit: MANIFEST_LIMIT });
    const manifest = parseManifestBytes(rawManifest);
    const rawConfig = await this.blobs.read(manifest.config.digest, { size: manifest.config.size, limit: CONFIG_LIMIT });
    return imageFromRaw({
      rawManifest,
      rawConfig,
      layer: (d, diffId) =>
        layerFromCompressed({
          open: () => this.blobs.open(d.digest, d.size),
          mediaType: d.mediaType,
          digest: d.digest,
          size: d.size,
          diffId,
          // blobs.open verifies digest and size at EOF.
          selfVerifying: true,
        }),
    });
  }

  // ---- unpacked layer directories ----

  /** Where the unpacked tree of the layer with this diffID lives (whether or not it exists yet). */
  layerDir(diffId: Digest): string {
    return this.paths.layer(diffId);
  }

  hasLayerDir(diffId: Digest): Promise<boolean> {
    return exists(this.paths.layer(diffId));
  }

  /**
   * Make the unpacked directory for `diffId`: `populate` fills a fresh temp directory, which is
   * then renamed into place. Already there (or installed meanwhile by someone else) is success.
   */
  async installLayerDir(
    diffId: Digest,
    populate: (dir: string) => Promise<void>,
    options?: InstallDirOptions,
  ): Promise<{ path: string; installed: boolean }> {
    const path = this.paths.layer(diffId);
    const result = await installDir(path, this.paths.tmp, populate, options);
    return { path, installed: result === 'installed' };
  }
}
