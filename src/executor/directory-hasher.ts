/**
 * diffIDs of layer dirs, computed in a worker thread (hash-worker.ts) when it is there: a build's
 * main thread mostly waits for runc, and hashing an intermediate layer on it delayed the next
 * step's setup by as long as the tar took. Started on first use, one per build, ended by close().
 * Where the worker's module is not beside this one (running from src/ under a test runner), or
 * the worker fails to start, the hash runs on the main thread as before: same result.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Digest } from '../image/index.js';
import type { WriteLayerOptions } from '../layer/index.js';
import { fromWire, syncAndHash, type HashReply, type HashRequest } from './hash-worker.js';

const WORKER_URL = new URL('./hash-worker.js', import.meta.url);

export class DirectoryHasher {
  private worker: Worker | undefined;
  private failed = false;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (d: Digest) => void; reject: (e: Error) => void }>();

  constructor(private readonly workerUrl: URL = WORKER_URL) {}

  /** The diffID of dir; `sync`: flush its filesystem first (see syncAndHash). */
  hash(dir: string, options: WriteLayerOptions, sync = false): Promise<Digest> {
    const worker = this.started();
    if (!worker) return syncAndHash(dir, options, sync).then((d) => Digest.parse(d));
    const id = this.nextId++;
    return new Promise<Digest>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, dir, options, sync } satisfies HashRequest);
    });
  }

  /** Ends the worker (pending hashes fail). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.failed = true;
    if (w) await w.terminate();
  }

  private started(): Worker | undefined {
    if (this.worker || this.failed) return this.worker;
    if (!existsSync(fileURLToPath(this.workerUrl))) {
      this.failed = true;
      return undefined;
    }
    const w = new Worker(this.workerUrl);
    w.unref();
    w.on('message', (m: HashReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ('error' in m) p.reject(fromWire(m.error));
      else p.resolve(Digest.parse(m.diffId));
    });
    const fail = (e: Error): void => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.worker = undefined;
      this.failed = true;
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (this.pending.size > 0) fail(new Error(`the hashing worker exited (code ${code}) before it finished`));
    });
    this.worker = w;
    return w;
  }
}
