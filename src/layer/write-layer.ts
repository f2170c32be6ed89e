/**
 * Directory → compressed layer blob, with both digests computed in the same pass:
 * diffID = sha256 of the uncompressed tar, digest = sha256 of the bytes written.
 */
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashCounter, type Sha256Digest } from './digest.js';
import { createCompressor, layerMediaTypes, type Compression, type CompressOptions } from './compress.js';
import { packDirectory, type PackOptions } from './pack.js';

export interface WriteLayerOptions extends PackOptions, CompressOptions {
  /** Default gzip. */
  compression?: Compression;
}

export interface LayerWriteResult {
  /** sha256 of the uncompressed tar. */
  diffId: Sha256Digest;
  /** sha256 of the bytes written to `out`. */
  digest: Sha256Digest;
  /** Bytes written to `out`. */
  size: number;
  /** Bytes of the uncompressed tar. */
  uncompressedSize: number;
  compression: Compression;
  /** The OCI media type for this compression. */
  mediaType: string;
}

/** The uncompressed tar of dir as a Readable. */
export function tarStream(dir: string, opts: PackOptions = {}): Readable {
  return Readable.from(packDirectory(dir, opts), { objectMode: false });
}

/**
 * Writes dir as a layer to out (which the caller owns: a temp file in the store, a socket…) and
 * resolves once out has finished.
 */
export async function writeLayer(dir: string, out: Writable, opts: WriteLayerOptions = {}): Promise<LayerWriteResult> {
  const compression = opts.compression ?? 'gzip';
  const diff = new HashCounter();
  const blob = new HashCounter();
  const compressor = createCompressor(compression, opts);
  if (compressor) await pipeline(tarStream(dir, opts), diff.tap(), compressor, blob.tap(), out);
  else await pipeline(tarStream(dir, opts), diff.tap(), blob.tap(), out);
  return {
    diffId: diff.digest(),
    digest: blob.digest(),
    size: blob.size,
    uncompressedSize: diff.size,
    compression,
    mediaType: layerMediaTypes[compression],
  };
}
