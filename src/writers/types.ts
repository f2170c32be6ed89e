/**
 * What every writer takes and reports: images with the names they go by, how layers are written,
 * and progress for the CLI's bar.
 */
import type { Digest } from '../image/digest.js';
import type { Image } from '../image/image.js';

/** An image and the names (`busybox`, `localhost/app:1`) it is written under. None: an unnamed image. */
export interface NamedImage {
  readonly image: Image;
  readonly names?: readonly string[];
}

/** One image without names, one named image, or several (which then share their blobs). */
export type ImagesInput = Image | NamedImage | readonly NamedImage[];

/**
 * How layer blobs are written:
 *  - `as-stored`: the blob exactly as the image holds it (usually gzip): nothing is recompressed
 *    or decompressed, the manifest digest stays the image's own.
 *  - `uncompressed`: the layer tar itself (media type `application/vnd.oci.image.layer.v1.tar`,
 *    digest = diffID), what `docker save` writes. A compressed layer is read twice: once to learn
 *    its tar's size (a tar header needs it up front) and check its diffID, once to write it.
 */
export type LayerExportMode = 'as-stored' | 'uncompressed';

export interface ExportProgress {
  /**
   * `measure`: reading compressed layers to learn their tar size and check their diffIDs
   * (uncompressed export only; `total` is not known). `write`: writing the archive or directory.
   */
  readonly phase: 'measure' | 'write';
  /** Bytes done in this phase. */
  readonly bytes: number;
  /** Bytes this phase will take, when known (always for `write`). */
  readonly total?: number;
}

export type ProgressCallback = (progress: ExportProgress) => void;

export interface WriteOptions {
  /** Default: `uncompressed` for docker-archive (docker's own form), `as-stored` for OCI. */
  layers?: LayerExportMode;
  /**
   * The mtime of every archive entry, seconds since the epoch: SOURCE_DATE_EPOCH when the caller
   * has one. Default 0. (Library code does not read the environment.)
   */
  sourceDateEpoch?: number;
  onProgress?: ProgressCallback;
}

/** What was written, for the CLI to report. */
export interface WrittenImage {
  /** Full normalised names (`docker.io/library/busybox:latest`). */
  readonly names: readonly string[];
  /** Digest of the manifest as written in the archive (may differ from the source's in `uncompressed` mode). */
  readonly manifestDigest: Digest;
  /** The image ID docker shows. */
  readonly configDigest: Digest;
}

export interface WriteResult {
  readonly images: readonly WrittenImage[];
  /** Bytes written: the archive's size, or the sum of the files written into a layout directory. */
  readonly bytes: number;
}
