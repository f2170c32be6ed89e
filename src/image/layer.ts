/**
 * Layers (go-containerregistry `v1.Layer`): the blob as stored (`compressed`), the tar it holds
 * (`uncompressed`), and their digests. A layer is made from whichever form is at hand; the rest is
 * derived once on first use and memoised (`partial.CompressedToLayer` / `UncompressedToLayer`).
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { ErrorCodes, OboxError } from '../errors.js';
import type { Descriptor } from './descriptor.js';
import type { Digest } from './digest.js';
import { layerCompression, layerMediaTypeFor, MediaTypes, type ImageFormat, type MediaType } from './media-type.js';
import { chain, decompressed, digestStream, DigestingStream, discard, type Opener } from './streams.js';

export interface Layer {
  /** Digest of the blob as stored and shipped (compressed). */
  digest(): Promise<Digest>;
  /** Digest of the uncompressed tar: what `rootfs.diff_ids` lists. */
  diffId(): Promise<Digest>;
  /** Size of the blob as stored (compressed). */
  size(): Promise<number>;
  mediaType(): Promise<MediaType>;
  /** A fresh stream of the blob's bytes each call. */
  compressed(): Promise<Readable>;
  /** A fresh stream of the tar each call. */
  uncompressed(): Promise<Readable>;
  /**
   * True when compressed() streams fail unless the bytes match digest() and size() (the store's
   * layers): writers then need not hash them a second time.
   */
  readonly selfVerifying?: boolean;
}

/** Memoise an async computation; a failure is not cached, so a later call retries. */
export function memo<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    if (p === undefined) {
      p = fn();
      p.catch(() => {
        p = undefined;
      });
    }
    return p;
  };
}

function diffIdMismatch(expected: Digest, got: Digest): OboxError {
  return new OboxError(ErrorCodes.invalidArchive, `layer diffID mismatch: expected ${expected}, the tar hashes to ${got}`);
}

export interface CompressedLayerSource {
  /** Opens the blob as stored. The opener is trusted to verify it (the store's and archive readers' do). */
  open: Opener;
  mediaType: MediaType;
  digest?: Digest;
  size?: number;
  diffId?: Digest;
  /** The opener's streams verify digest and size themselves (see Layer.selfVerifying). */
  selfVerifying?: boolean;
}

/** A layer known by its blob (from the store, an archive, a registry). */
export function layerFromCompressed(src: CompressedLayerSource): Layer {
  const blob = memo(async () =>
    src.digest !== undefined && src.size !== undefined ? { digest: src.digest, size: src.size } : digestStream(await src.open()),
  );
  const uncompressed = async (): Promise<Readable> => decompressed(await src.open());
  const diffId = memo(async () => {
    if (src.diffId !== undefined) return src.diffId;
    if (layerCompression(src.mediaType) === 'none') return (await blob()).digest;
    return (await digestStream(await uncompressed())).digest;
  });
  return {
    ...(src.selfVerifying ? { selfVerifying: true } : {}),
    digest: async () => (await blob()).digest,
    size: async () => (await blob()).size,
    diffId,
    mediaType: async () => src.mediaType,
    compressed: () => src.open(),
    uncompressed,
  };
}

export interface UncompressedLayerSource {
  /** Opens the layer tar. */
  open: Opener;
  /** When known; checked against the tar when the digests are computed. */
  diffId?: Digest;
  /** How the blob is stored. Default gzip. */
  compression?: 'gzip' | 'none';
  /** Default: the OCI layer type for the compression. */
  mediaType?: MediaType;
  /** zlib level, default 6 (zlib's and Go's default). Same input, same level: same bytes. */
  gzipLevel?: number;
}

/** A layer known by its tar (a freshly committed step): compression and digests derived on first use. */
export function layerFromUncompressed(src: UncompressedLayerSource): Layer {
  const compression = src.compression ?? 'gzip';
  const mediaType = src.mediaType ?? (compression === 'gzip' ? MediaTypes.ociLayerGzip : MediaTypes.ociLayer);
  const level = src.gzipLevel ?? 6;
  const compress = async (): Promise<Readable> => {
    const tar = await src.open();
    return compression === 'gzip' ? chain(tar, createGzip({ level })) : tar;
  };
  // One pass computes all three: hash the tar, compress, hash the blob.
  const digests = memo(async () => {
    const tarHash = new DigestingStream();
    const blobHash = new DigestingStream();
    if (compression === 'gzip') await pipeline(await src.open(), tarHash, createGzip({ level }), blobHash, discard());
    else await pipeline(await src.open(), tarHash, blobHash, discard());
    const diffId = tarHash.result().digest;
    if (src.diffId !== undefined && src.diffId !== diffId) throw diffIdMismatch(src.diffId, diffId);
    return { diffId, digest: blobHash.result().digest, size: blobHash.result().size };
  });
  return {
    digest: async () => (await digests()).digest,
    size: async () => (await digests()).size,
    diffId: async () => src.diffId ?? (await digests()).diffId,
    mediaType: async () => mediaType,
    compressed: compress,
    uncompressed: () => src.open(),
  };
}

/** The descriptor a manifest lists for this layer, with the media type named in `format`'s family. */
export async function layerDescriptor(layer: Layer, format?: ImageFormat): Promise<Descriptor> {
  const [mediaType, digest, size] = await Promise.all([layer.mediaType(), layer.digest(), layer.size()]);
  return { mediaType: format === undefined ? mediaType : layerMediaTypeFor(mediaType, format), digest, size };
}
