/**
 * Cache entries recorded in step order, with the layers of intermediate stages hashed in the
 * background.
 *
 * A layer of a stage that does not reach the image needs only its diffID (for its place in
 * layers-v1/). Hashing a big one (an apt-get layer: hundreds of MB) takes most of a second, so it
 * runs while the next steps do, in a worker thread (directory-hasher.ts), and the layer dir stays at its
 * provisional path in the build's scratch dir meanwhile. At step boundaries — never while a mount
 * is being set up — finished ones move into layers-v1/ (`moved` maps the old path to the new
 * one for later mounts) and their entries are recorded.
 *
 * Entries are recorded strictly in the order the steps ran: a step's entry never exists before
 * its parent's, so a later build can never hit a step whose parent it had to rebuild
 * differently. A build killed before a queued entry is recorded simply leaves it unrecorded.
 */
import type { BuildCacheEntry, BuildIndex } from '../cache/build-index.js';
import { adoptLayerDir } from '../cache/layers.js';
import { DirectoryHasher } from './directory-hasher.js';
import type { Store } from '../cache/store/index.js';
import type { Digest } from '../image/index.js';
import type { WriteLayerOptions } from '../layer/index.js';

export interface Hashing {
  dir: string;
  done: boolean;
  result: Promise<Digest>;
}

interface Queued {
  entry: BuildCacheEntry;
  /** 'record': first writer wins; 'update': replace (--no-cache, or an unusable entry). */
  mode: 'record' | 'update';
  hashing?: Hashing;
}

export class DeferredRecords {
  /** Provisional layer dir → its place in layers-v1/. */
  readonly moved = new Map<string, string>();
  private readonly queue: Queued[] = [];
  private readonly hasher = new DirectoryHasher();

  constructor(
    private readonly store: Store,
    private readonly index: BuildIndex,
    private readonly layerOptions: WriteLayerOptions,
  ) {}

  /**
   * Starts hashing a provisional layer dir (flushing it to disk first when `sync`: an upper dir
   * unmounted without its syncfs); its entry's layer is filled in when recorded.
   */
  hash(dir: string, sync: boolean): Hashing {
    const h: Hashing = { dir, done: false, result: this.hasher.hash(dir, this.layerOptions, sync) };
    h.result.then(
      () => (h.done = true),
      () => (h.done = true),
    );
    return h;
  }

  /** Ends the hashing worker (at the end of the build, whatever its outcome). */
  close(): Promise<void> {
    return this.hasher.close();
  }

  /** Whether nothing is waiting: an entry recorded now would be in order. */
  get empty(): boolean {
    return this.queue.length === 0;
  }

  enqueue(entry: BuildCacheEntry, mode: 'record' | 'update', hashing?: Hashing): void {
    this.queue.push({ entry, mode, ...(hashing ? { hashing } : {}) });
  }

  /** The current path of a layer dir (moved or not). */
  pathOf(dir: string): string {
    return this.moved.get(dir) ?? dir;
  }

  /**
   * Records queued entries from the front while they are ready (`wait`: wait for every hash).
   * `pinned` dirs are lower dirs of mounts still up: they are not moved now.
   */
  async flush(options: { wait: boolean; pinned?: ReadonlySet<string> }): Promise<void> {
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (next.hashing) {
        if (!next.hashing.done && !options.wait) return;
        if (options.pinned?.has(next.hashing.dir)) return;
        const diffId = await next.hashing.result;
        const final = await adoptLayerDir(this.store, diffId, next.hashing.dir, {
          alreadySynced: true,
          origin: 'build',
          sourceDateEpoch: this.layerOptions.sourceDateEpoch,
        });
        this.moved.set(next.hashing.dir, final);
        next.entry.layer = { diffId };
      }
      if (next.mode === 'record') await this.index.record(next.entry.key, next.entry);
      else await this.index.update(next.entry.key, next.entry);
      this.queue.shift();
    }
  }
}
