/**
 * Layer compression: gzip always (node:zlib), zstd when this Node's zlib has it
 * (`zlib.createZstdCompress`, Node ≥ 22.15 / 23.8; Node 20 has not). Reading detects the format
 * from the magic bytes, so callers never say what they hand in.
 */
import { Readable, pipeline, type Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { OboxError, ErrorCodes } from '../errors.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export const layerMediaTypes: Record<Compression, string> = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

interface ZstdZlib {
  createZstdCompress?: (opts?: object) => Transform;
  createZstdDecompress?: (opts?: object) => Transform;
}
const zstdApi = zlib as unknown as ZstdZlib;

export function zstdSupported(): boolean {
  return typeof zstdApi.createZstdCompress === 'function' && typeof zstdApi.createZstdDecompress === 'function';
}

function noZstd(): OboxError {
  return new OboxError(ErrorCodes.environment, `zstd needs a Node.js whose zlib has it (22.15 or newer); this is ${process.version}`, {
    hint: 'use gzip, or run obox on a newer Node.js',
  });
}

export interface CompressOptions {
  /** gzip level 0-9 (default 6); the same level always gives the same bytes. */
  gzipLevel?: number;
}

/** A compressing stream, or undefined for 'none'. */
export function createCompressor(kind: Compression, opts: CompressOptions = {}): Transform | undefined {
  switch (kind) {
    case 'none':
      return undefined;
    case 'gzip':
      // zlib's gzip header carries mtime 0 and a fixed OS byte: deterministic.
      return zlib.createGzip({ level: opts.gzipLevel ?? 6, chunkSize: 64 * 1024 });
    case 'zstd': {
      if (!zstdSupported() || !zstdApi.createZstdCompress) throw noZstd();
      return zstdApi.createZstdCompress();
    }
  }
}

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const BZIP2_MAGIC = [0x42, 0x5a, 0x68];

function startsWith(head: Buffer, magic: number[]): boolean {
  return head.length >= magic.length && magic.every((b, i) => head[i] === b);
}

/** What the first bytes say; 'none' is a plain tar (or anything unknown, left to the tar reader). */
export function detectCompression(head: Buffer): Compression | 'xz' | 'bzip2' {
  if (startsWith(head, GZIP_MAGIC)) return 'gzip';
  if (startsWith(head, ZSTD_MAGIC)) return 'zstd';
  if (startsWith(head, XZ_MAGIC)) return 'xz';
  if (startsWith(head, BZIP2_MAGIC)) return 'bzip2';
  return 'none';
}

/**
 * The decompressed bytes of source, whatever its compression. Errors (corrupt or truncated
 * compressed data) surface as OboxError(invalidArchive) naming the archive.
 */
export async function* decompress(source: AsyncIterable<Buffer>, archiveName: string): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const headChunks: Buffer[] = [];
  let headLength = 0;
  let done = false;
  while (headLength < 6) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    headChunks.push(r.value);
    headLength += r.value.length;
  }
  const head = Buffer.concat(headChunks);
  const kind = detectCompression(head);
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  try {
    if (kind === 'none') {
      yield* rest();
      return;
    }
    if (kind === 'xz' || kind === 'bzip2') {
      throw new OboxError(ErrorCodes.invalidArchive, `${archiveName}: ${kind}-compressed layers are not supported (only gzip, zstd or plain tar)`);
    }
    let d: Transform;
    if (kind === 'gzip') d = zlib.createGunzip({ chunkSize: 64 * 1024 });
    else if (zstdApi.createZstdDecompress && zstdSupported()) d = zstdApi.createZstdDecompress();
    else throw noZstd();
    pipeline(Readable.from(rest()), d, () => {
      // Errors reach the consumer through the iteration of d below.
    });
    try {
      for await (const chunk of d) yield chunk as Buffer;
    } catch (cause) {
      if (cause instanceof OboxError) throw cause;
      throw new OboxError(ErrorCodes.invalidArchive, `${archiveName}: corrupt or truncated ${kind} data: ${(cause as Error).message}`, { cause });
    } finally {
      d.destroy();
    }
  } finally {
    await it.return?.();
  }
}
