/** sha256 and byte counts of streams as they flow past, without holding them. */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export type Sha256Digest = `sha256:${string}`;

/** Counts and hashes whatever goes through; passes it on unchanged. */
export class HashCounter {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private result: Sha256Digest | undefined;

  update(chunk: Buffer): void {
    if (this.result !== undefined) throw new Error('HashCounter: update after digest');
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  get size(): number {
    return this.bytes;
  }

  digest(): Sha256Digest {
    this.result ??= `sha256:${this.hash.digest('hex')}`;
    return this.result;
  }

  /** A pass-through stream feeding this counter. */
  tap(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) => {
        this.update(chunk);
        cb(null, chunk);
      },
    });
  }

  /** An async generator feeding this counter. */
  async *through(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      this.update(chunk);
      yield chunk;
    }
  }
}
