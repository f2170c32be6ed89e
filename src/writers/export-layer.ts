/**
 * How one layer goes into an archive: as the blob the image holds, or as its plain tar. For the
 * plain tar of a compressed layer the tar is read once up front (its size goes into the tar
 * header before its bytes; and its digest must be the config's diffID), then again when written.
 * Layers shared by several images are measured once.
 */
import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import { ErrorCodes, OboxError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import type { Layer } from '../image/layer.js';
import { isDistributableLayer, layerCompression, layerMediaTypeFor, MediaTypes, type MediaType } from '../image/media-type.js';
import { digestStream, chain } from '../image/streams.js';
import type { LayerExportMode } from './types.js';

/** A blob as it will be written, named by its digest. */
export interface ExportBlob {
  readonly digest: Digest;
  readonly size: number;
  /** OCI media type of the blob as written. */
  readonly mediaType: MediaType;
  readonly open: () => Promise<Readable>;
  /**
   * The source verifies the digest itself (a Layer's compressed() opener does, by contract):
   * the writer then checks only the size instead of hashing every byte a second time.
   */
  readonly sourceVerifies?: boolean;
}

class CountingStream extends Transform {
  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.onBytes(chunk.byteLength);
    cb(null, chunk);
  }
}

/** Exports layers, remembering each one by its blob digest and mode. */
export class LayerExporter {
  private readonly cache = new Map<string, Promise<ExportBlob>>();

  constructor(
    private readonly mode: LayerExportMode,
    /** Bytes of layer tar read while measuring. */
    private readonly onMeasured: (n: number) => void = () => undefined,
  ) {}

  /** `what` names the layer in errors (`layer 2 of docker.io/library/busybox:latest`). */
  async export(layer: Layer, diffId: Digest, what: string): Promise<ExportBlob> {
    const storedType = await layer.mediaType();
    // Uncompressed, a layer is its tar: the diffID names it. As stored, its blob digest does.
    const key = this.mode === 'uncompressed' ? `tar ${diffId}` : `blob ${await layer.digest()} ${diffId}`;
    let p = this.cache.get(key);
    if (p === undefined) {
      p = this.compute(layer, storedType, diffId, what);
      this.cache.set(key, p);
    }
    return p;
  }

  private async compute(layer: Layer, storedType: MediaType, diffId: Digest, what: string): Promise<ExportBlob> {
    if (!isDistributableLayer(storedType)) {
      throw new OboxError(ErrorCodes.usage, `${what} is a non-distributable layer (${storedType}); obox does not write those`);
    }
    const compression = layerCompression(storedType);
    if (compression === undefined) {
      throw new OboxError(ErrorCodes.invalidArchive, `${what} has media type ${storedType}, which is not a layer type`);
    }
    if (compression === 'none' || this.mode === 'as-stored') {
      const [digest, size] = await Promise.all([layer.digest(), layer.size()]);
      if (compression === 'none' && digest !== diffId) throw diffIdMismatch(what, diffId, digest);
      return { digest, size, mediaType: layerMediaTypeFor(storedType, 'oci'), open: () => layer.compressed(), sourceVerifies: layer.selfVerifying === true };
    }
    const measured = await digestStream(chain(await layer.uncompressed(), new CountingStream(this.onMeasured)));
    if (measured.digest !== diffId) throw diffIdMismatch(what, diffId, measured.digest);
    return { digest: diffId, size: measured.size, mediaType: MediaTypes.ociLayer, open: () => layer.uncompressed() };
  }
}

function diffIdMismatch(what: string, expected: Digest, got: Digest): OboxError {
  return new OboxError(
    ErrorCodes.invalidArchive,
    `${what}: its tar hashes to ${got} but the image config lists diffID ${expected}`,
    { hint: 'the image in the store is damaged; rebuild or re-pull it' },
  );
}
