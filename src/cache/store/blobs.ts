/**
 * Content-addressed blobs under `blobs/<alg>/<hex>` (model: umoci `oci/cas/dir` PutBlob, cacache
 * `lib/content/write.js`).
 *
 * Write: a temp file in tmp/ (O_EXCL), hashed while written, fsync'd, checked against the expected
 * digest and size, renamed into place, directory fsync'd. A blob that is already there is success.
 * Any failure — the source stream erroring, a digest or size mismatch — removes the temp file, so
 * no partial blob is ever visible.
 * Read: every stream is verified at EOF (digest, and size when known); corruption on disk fails
 * the stream with E_INVALID_ARCHIVE instead of handing out wrong bytes.
 */
import { constants, type Stats } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { ErrorCodes, OboxError } from '../../errors.js';
import { Digest, type DigestAlgorithm } from '../../image/digest.js';
import { chain, readAll, verifyingStream } from '../../image/streams.js';
import { errnoCode, fsyncDir, tempName } from './atomic.js';
import type { StorePaths } from './paths.js';

export interface BlobInfo {
  readonly digest: Digest;
  readonly size: number;
}

export interface ExpectedBlob {
  digest?: Digest;
  size?: number;
}

export interface PutResult extends BlobInfo {
  /** False when the blob was already in the store. */
  readonly written: boolean;
}

export type BlobSource = Readable | AsyncIterable<Uint8Array> | Uint8Array;

function mismatch(expected: ExpectedBlob, problem: string): OboxError {
  const name = expected.digest ?? 'blob';
  return new OboxError(ErrorCodes.invalidArchive, `blob ${name} does not match: ${problem}`, {
    hint: 'the source is corrupt or truncated',
  });
}

function destroySource(source: BlobSource): void {
  const s = source as { destroy?: () => void };
  if (typeof s.destroy === 'function') s.destroy();
}

function chunksOf(source: BlobSource): AsyncIterable<Uint8Array | string> {
  if (source instanceof Uint8Array) return (async function* () {
    yield source;
  })();
  return source as AsyncIterable<Uint8Array | string>;
}

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await fh.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

export class BlobStore {
  constructor(private readonly paths: StorePaths) {}

  path(digest: Digest): string {
    return this.paths.blob(digest);
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    let st: Stats;
    try {
      st = await stat(this.paths.blob(digest));
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
    return st.isFile() ? { digest, size: st.size } : undefined;
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  /**
   * Store the bytes of `source`. With `expected.digest` the content must hash to it (and the
   * algorithm follows it); with `expected.size` it must have that length. Already present → no write.
   */
  async put(source: BlobSource, expected: ExpectedBlob = {}): Promise<PutResult> {
    if (expected.digest !== undefined) {
      const have = await this.stat(expected.digest);
      if (have !== undefined && (expected.size === undefined || have.size === expected.size)) {
        destroySource(source);
        return { ...have, written: false };
      }
    }
    const algorithm: DigestAlgorithm = expected.digest !== undefined ? Digest.algorithm(expected.digest) : 'sha256';
    const tmp = join(this.paths.tmp, tempName('blob'));
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    let closed = false;
    try {
      const hasher = Digest.hasher(algorithm);
      for await (const piece of chunksOf(source)) {
        const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
        hasher.update(chunk);
        if (expected.size !== undefined && hasher.size > expected.size) {
          throw mismatch(expected, `more than the expected ${expected.size} bytes`);
        }
        await writeAll(fh, chunk);
      }
      await fh.sync();
      closed = true;
      await fh.close();
      const digest = hasher.digest();
      const size = hasher.size;
      if (expected.size !== undefined && size !== expected.size) throw mismatch(expected, `${size} bytes, expected ${expected.size}`);
      if (expected.digest !== undefined && digest !== expected.digest) throw mismatch(expected, `content has digest ${digest}`);
      const target = this.paths.blob(digest);
      if ((await this.stat(digest)) !== undefined) {
        await rm(tmp, { force: true });
        return { digest, size, written: false };
      }
      await mkdir(dirname(target), { recursive: true });
      // rename(2) is atomic; a concurrent writer of the same digest renames identical bytes.
      await rename(tmp, target);
      await fsyncDir(dirname(target));
      return { digest, size, written: true };
    } catch (e) {
      if (!closed) await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      destroySource(source);
      throw e;
    }
  }

  /** A stream of the blob, failing with E_INVALID_ARCHIVE at EOF if it does not match `digest` (or `size`). */
  async open(digest: Digest, size?: number): Promise<Readable> {
    let fh;
    try {
      fh = await open(this.paths.blob(digest), 'r');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') {
        throw new OboxError(ErrorCodes.notFound, `blob ${digest} is not in the store`, { cause: e });
      }
      throw e;
    }
    const expected = size === undefined ? { digest } : { digest, size };
    // 1 MiB reads: 64 KiB chunks made exports spend most of their time in per-chunk overhead.
    return chain(fh.createReadStream({ highWaterMark: 1 << 20 }), verifyingStream(expected, 'stored blob'));
  }

  /** A small blob (manifest, config) read whole and verified. */
  async read(digest: Digest, options: { size?: number; limit?: number } = {}): Promise<Buffer> {
    return readAll(await this.open(digest, options.size), options.limit ?? 64 * 1024 * 1024, `blob ${digest}`);
  }
}
