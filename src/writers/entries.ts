/**
 * The files of an image layout, independent of how they are written (tar archive or directory):
 * directories, small files held in memory (JSON), and blobs streamed from their source and
 * verified against their digest and size on the way out.
 */
import { Transform, type Readable } from 'node:stream';
import { ErrorCodes, OboxError } from '../errors.js';
import { compareUtf8 } from '../image/canonical-json.js';
import { Digest } from '../image/digest.js';
import { chain, verifyingStream } from '../image/streams.js';

export type LayoutEntry =
  | { readonly kind: 'dir'; readonly path: string }
  | { readonly kind: 'bytes'; readonly path: string; readonly data: Uint8Array }
  | {
      readonly kind: 'blob';
      readonly path: string;
      readonly digest: Digest;
      readonly size: number;
      /** Opens a fresh stream of the blob's bytes. */
      readonly open: () => Promise<Readable>;
      /** The opened stream verifies its digest itself; only the size is checked here. */
      readonly sourceVerifies?: boolean;
    };

export const OCI_LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const DOCKER_MANIFEST_FILE = 'manifest.json';
export const DOCKER_REPOSITORIES_FILE = 'repositories';
export const OCI_LAYOUT_VERSION = '1.0.0';

/** `blobs/sha256/<hex>`: where a blob lives in an image layout (and in docker ≥ 25 archives). */
export function blobPath(digest: Digest): string {
  return `blobs/${Digest.algorithm(digest)}/${Digest.hex(digest)}`;
}

export function entrySize(e: LayoutEntry): number {
  return e.kind === 'dir' ? 0 : e.kind === 'bytes' ? e.data.byteLength : e.size;
}

/** The blob's bytes, failing the stream if they are not exactly `size` bytes hashing to `digest`. */
export async function openVerified(e: Extract<LayoutEntry, { kind: 'blob' }>): Promise<Readable> {
  if (e.sourceVerifies) return chain(await e.open(), sizeCheckingStream(e.size, `blob for ${e.path}`));
  return chain(await e.open(), verifyingStream({ digest: e.digest, size: e.size }, `blob for ${e.path}`));
}

/** Fails the stream unless exactly `size` bytes pass (hashing is left to a verifying source). */
function sizeCheckingStream(size: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.byteLength;
      if (seen > size) cb(new OboxError(ErrorCodes.invalidArchive, `${what}: more than the expected ${size} bytes`));
      else cb(null, chunk);
    },
    flush(cb) {
      cb(seen === size ? null : new OboxError(ErrorCodes.invalidArchive, `${what}: ${seen} bytes, expected ${size}`));
    },
  });
}

/**
 * The directories every entry needs, added, and everything sorted by path bytes (a directory
 * sorts before its contents). Duplicate paths keep the first entry: blobs are named by content.
 */
export function completeAndSort(entries: readonly LayoutEntry[]): LayoutEntry[] {
  const byPath = new Map<string, LayoutEntry>();
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!byPath.has(dir)) byPath.set(dir, { kind: 'dir', path: dir });
    }
    if (!byPath.has(e.path)) byPath.set(e.path, e);
  }
  return [...byPath.values()].sort((a, b) => compareUtf8(sortKey(a), sortKey(b)));
}

function sortKey(e: LayoutEntry): string {
  return e.kind === 'dir' ? `${e.path}/` : e.path;
}
