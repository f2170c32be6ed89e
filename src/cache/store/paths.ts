/**
 * The store's directory layout. The root is an OCI image layout (`oci-layout`, `index.json`,
 * `blobs/<alg>/<hex>`); beside it, obox's own versioned directories, so a format change never
 * misreads old data:
 *
 *   layers-v1/<alg>/<hex>/   unpacked layer directories keyed by diffID (overlay lower dirs)
 *   tmp/                     temp files and dirs, renamed into place when complete
 *   locks/                   lock files
 */
import { join } from 'node:path';
import { Digest } from '../../image/digest.js';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const BLOBS_DIR = 'blobs';
export const LAYERS_DIR = 'layers-v1';
export const TMP_DIR = 'tmp';
export const LOCKS_DIR = 'locks';

export class StorePaths {
  constructor(readonly root: string) {}

  get ociLayout(): string {
    return join(this.root, OCI_LAYOUT_FILE);
  }

  get index(): string {
    return join(this.root, INDEX_FILE);
  }

  get blobs(): string {
    return join(this.root, BLOBS_DIR);
  }

  blobDir(algorithm: string): string {
    return join(this.root, BLOBS_DIR, algorithm);
  }

  blob(digest: Digest): string {
    return join(this.blobDir(Digest.algorithm(digest)), Digest.hex(digest));
  }

  get layers(): string {
    return join(this.root, LAYERS_DIR);
  }

  /** The unpacked directory of the layer whose tar has this diffID. */
  layer(diffId: Digest): string {
    return join(this.layers, Digest.algorithm(diffId), Digest.hex(diffId));
  }

  get tmp(): string {
    return join(this.root, TMP_DIR);
  }

  get locks(): string {
    return join(this.root, LOCKS_DIR);
  }

  lock(name: string): string {
    return join(this.locks, `${name}.lock`);
  }
}
