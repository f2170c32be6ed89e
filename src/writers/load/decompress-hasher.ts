/**
 * Hash what a compressed entry decompresses to, fed chunk by chunk alongside the raw bytes: the
 * diffID of a compressed layer, learned in the same pass that stages it. A decoding failure is
 * recorded, not thrown; it only matters if the entry turns out to be a layer.
 */
import type { Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { Digest } from '../../image/digest.js';

export type EntryCompression = 'none' | 'gzip' | 'zstd';

const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];

/** What the first bytes say; undefined while fewer than 4 bytes are known and the stream goes on. */
export function sniff(head: Buffer, ended: boolean): EntryCompression | undefined {
  if (head.byteLength >= 2 && head[0] === GZIP[0] && head[1] === GZIP[1]) return 'gzip';
  if (head.byteLength >= 4) return ZSTD.every((b, i) => head[i] === b) ? 'zstd' : 'none';
  return ended ? 'none' : undefined;
}

type ZstdZlib = { createZstdDecompress?: () => Transform };

export type DecodeResult = { ok: true; digest: Digest; size: number } | { ok: false; problem: string };

export class DecompressHasher {
  private readonly z: Transform | undefined;
  private readonly hasher = Digest.hasher('sha256');
  private error: Error | undefined;

  constructor(kind: 'gzip' | 'zstd') {
    const create = kind === 'gzip' ? () => zlib.createGunzip() : (zlib as unknown as ZstdZlib).createZstdDecompress;
    if (create === undefined) {
      this.error = new Error(`this Node.js (${process.version}) cannot decompress zstd; Node.js 22.15 or newer can`);
      return;
    }
    const z = create();
    z.on('data', (c: Buffer) => this.hasher.update(c));
    z.on('error', (e: Error) => {
      this.error ??= e;
    });
    this.z = z;
  }

  async write(chunk: Buffer): Promise<void> {
    const z = this.z;
    if (z === undefined || this.error !== undefined) return;
    if (z.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        z.off('drain', done);
        z.off('error', done);
        z.off('close', done);
        resolve();
      };
      z.on('drain', done);
      z.on('error', done);
      z.on('close', done);
    });
  }

  async end(): Promise<DecodeResult> {
    const z = this.z;
    if (z !== undefined && this.error === undefined) {
      z.end();
      try {
        await finished(z);
      } catch (e) {
        this.error ??= e as Error;
      }
    }
    if (this.error !== undefined) {
      z?.destroy();
      return { ok: false, problem: this.error.message };
    }
    return { ok: true, digest: this.hasher.digest(), size: this.hasher.size };
  }

  abort(): void {
    this.z?.destroy();
  }
}
