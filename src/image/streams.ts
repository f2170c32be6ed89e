/**
 * Stream helpers for content: hash while passing bytes through, verify digest and size at EOF,
 * read a small blob whole, undo gzip / zstd. Streams only — no file system.
 */
import { PassThrough, Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { ErrorCodes, OboxError } from '../errors.js';
import { Digest, type DigestAlgorithm, type DigestHasher } from './digest.js';

/** Something that can open a fresh stream of the same bytes, any number of times. */
export type Opener = () => Promise<Readable>;

/** Passes bytes through unchanged; after 'end' (or 'finish'), `result()` gives their digest and size. */
export class DigestingStream extends Transform {
  private readonly hasher: DigestHasher;
  private done: { digest: Digest; size: number } | undefined;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    super();
    this.hasher = Digest.hasher(algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hasher.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.done = { digest: this.hasher.digest(), size: this.hasher.size };
    cb();
  }

  result(): { digest: Digest; size: number } {
    if (this.done === undefined) throw new Error('DigestingStream.result() before the stream ended');
    return this.done;
  }
}

export interface Expected {
  digest: Digest;
  size?: number;
}

/**
 * Passes bytes through and fails the stream with OboxError(invalidArchive) when the content
 * does not have the expected size (checked as soon as it is exceeded) or digest (at EOF).
 */
export function verifyingStream(expected: Expected, what = 'blob'): Transform {
  const hasher = Digest.hasher(Digest.algorithm(expected.digest));
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hasher.update(chunk);
      if (expected.size !== undefined && hasher.size > expected.size) {
        cb(mismatch(what, expected, `more than the expected ${expected.size} bytes`));
        return;
      }
      cb(null, chunk);
    },
    flush(cb) {
      if (expected.size !== undefined && hasher.size !== expected.size) {
        cb(mismatch(what, expected, `${hasher.size} bytes, expected ${expected.size}`));
        return;
      }
      const got = hasher.digest();
      if (got !== expected.digest) {
        cb(mismatch(what, expected, `content has digest ${got}`));
        return;
      }
      cb();
    },
  });
}

function mismatch(what: string, expected: Expected, problem: string): OboxError {
  return new OboxError(ErrorCodes.invalidArchive, `${what} ${expected.digest} does not match its digest: ${problem}`, {
    hint: 'the data is corrupt or was tampered with',
  });
}

/** Pipe `source` through `transforms`, returning the last stream; an error anywhere fails the result. */
export function chain(source: Readable, ...transforms: Transform[]): Readable {
  if (transforms.length === 0) return source;
  const out = transforms[transforms.length - 1] as Transform;
  // pipeline destroys every stream on error, the last one with the error itself.
  void pipeline(source, ...(transforms as [Transform, ...Transform[]])).catch(() => undefined);
  return out;
}

/** Read a whole stream into memory; fails beyond `limit` bytes. */
export async function readAll(stream: Readable, limit = Number.MAX_SAFE_INTEGER, what = 'blob'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    total += b.byteLength;
    if (total > limit) {
      stream.destroy();
      throw new OboxError(ErrorCodes.invalidArchive, `${what} is larger than the ${limit}-byte limit`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, total);
}

/** Consume a stream, keeping only its digest and size. */
export async function digestStream(stream: Readable, algorithm: DigestAlgorithm = 'sha256'): Promise<{ digest: Digest; size: number }> {
  const d = new DigestingStream(algorithm);
  await pipeline(stream, d, discard());
  return d.result();
}

/** A sink that drops everything. */
export function discard(): Writable {
  return new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });
}

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

function startsWith(head: Buffer, magic: number[]): boolean {
  return head.byteLength >= magic.length && magic.every((b, i) => head[i] === b);
}

type ZstdZlib = { createZstdDecompress?: () => Transform };

export function zstdDecompressor(): Transform {
  const create = (zlib as unknown as ZstdZlib).createZstdDecompress;
  if (typeof create !== 'function') {
    throw new OboxError(ErrorCodes.environment, 'this Node.js cannot decompress zstd layers', {
      hint: 'use Node.js 22.15 or newer, or gzip layers',
    });
  }
  return create();
}

/**
 * The uncompressed bytes of a layer blob, whatever its media type claims: sniffs the gzip and
 * zstd magic numbers (docker-archive layers are often plain tar under a gzip media type).
 */
export async function decompressed(source: Readable): Promise<Readable> {
  const it = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const headChunks: Buffer[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < ZSTD_MAGIC.length) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    headChunks.push(r.value);
    headLength += r.value.byteLength;
  }
  const head = Buffer.concat(headChunks);
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      if (head.byteLength > 0) yield head;
      if (ended) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      // Abandoned early (consumer destroyed the output): close the source too.
      await it.return?.();
    }
  }
  const replayed = Readable.from(replay(), { objectMode: false });
  if (startsWith(head, GZIP_MAGIC)) return chain(replayed, zlib.createGunzip());
  if (startsWith(head, ZSTD_MAGIC)) return chain(replayed, zstdDecompressor());
  const out = new PassThrough();
  return chain(replayed, out);
}
