/**
 * Build leases: how a running build tells `cache prune` what it is using.
 *
 * Each build creates `cache-v1/leases/<pid>-<nonce>.jsonl`: the first line is the holder record
 * (pid, process start time, host), every further line a JSON object of cache keys, layer diffIDs
 * and blob digests the build reuses. Lines are appended while holding the store's `gc` lock, and
 * prune reads all leases and deletes while holding the same lock, so once `hold` has returned
 * either prune has already finished (the caller then checks that what it wants still exists) or
 * prune will see the lease.
 *
 * What a build creates itself is newer than its lease: prune keeps everything modified after the
 * oldest live lease began (`since`), so no new layer dir, blob or entry needs to be held.
 * A lease whose process is gone (SIGKILL, crash) is stale; prune removes it.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from './store/atomic.js';
import { holderGone, holderRecord, parseHolder, withLock } from './store/lock.js';
import type { StorePaths } from './store/paths.js';

export const LEASES_DIR = 'cache-v1/leases';

export interface LeaseItems {
  keys?: readonly string[];
  diffIds?: readonly string[];
  digests?: readonly string[];
}

export function leasesDir(paths: StorePaths): string {
  return join(paths.root, LEASES_DIR);
}

/** Run `fn` holding the store's gc lock (prune holds it for its whole read-and-delete pass). */
export function withGcLock<T>(paths: StorePaths, fn: () => Promise<T>): Promise<T> {
  return withLock(paths.lock('gc'), fn);
}

export class Lease {
  private released = false;

  private constructor(
    private readonly paths: StorePaths,
    readonly file: string,
  ) {}

  /** Starts a lease for this process. */
  static async create(paths: StorePaths): Promise<Lease> {
    const dir = leasesDir(paths);
    await mkdir(dir, { recursive: true });
    await mkdir(paths.locks, { recursive: true });
    const holder = await holderRecord();
    const file = join(dir, `${process.pid}-${randomBytes(6).toString('hex')}.jsonl`);
    await appendFile(file, `${JSON.stringify(holder)}\n`, { flag: 'wx' });
    return new Lease(paths, file);
  }

  /** Protects `items` from prune from now until release. */
  async hold(items: LeaseItems): Promise<void> {
    if (this.released) throw new Error('lease already released');
    const line = JSON.stringify({ keys: items.keys ?? [], diffIds: items.diffIds ?? [], digests: items.digests ?? [] });
    await withGcLock(this.paths, () => appendFile(this.file, `${line}\n`));
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await unlink(this.file).catch((e: unknown) => {
      if (errnoCode(e) !== 'ENOENT') throw e;
    });
  }
}

export interface LiveLeases {
  keys: Set<string>;
  diffIds: Set<string>;
  digests: Set<string>;
  /** Start (ms since epoch, the lease file's birth/mtime of its first write) of the oldest live lease; undefined when none. */
  since: number | undefined;
  live: number;
  /** Stale lease files removed. */
  removed: number;
}

/**
 * What live builds hold. Call inside withGcLock. Stale leases (their process is gone) are
 * removed unless `dryRun`.
 */
export async function readLiveLeases(paths: StorePaths, options: { dryRun?: boolean } = {}): Promise<LiveLeases> {
  const out: LiveLeases = { keys: new Set(), diffIds: new Set(), digests: new Set(), since: undefined, live: 0, removed: 0 };
  const dir = leasesDir(paths);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return out;
    throw e;
  }
  for (const name of names.filter((n) => n.endsWith('.jsonl'))) {
    const file = join(dir, name);
    let text: string;
    let started: number;
    try {
      [text, started] = await Promise.all([readFile(file, 'utf8'), stat(file).then((s) => s.birthtimeMs || s.ctimeMs)]);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') continue;
      throw e;
    }
    const lines = text.split('\n');
    const holder = parseHolder(lines[0] ?? '');
    // A file without a readable holder line was torn by a crash right after creation.
    const gone = holder === undefined ? Date.now() - started > 10_000 : await holderGone(holder);
    if (gone) {
      if (!options.dryRun) await unlink(file).catch(() => undefined);
      out.removed++;
      continue;
    }
    out.live++;
    out.since = out.since === undefined ? started : Math.min(out.since, started);
    for (const line of lines.slice(1)) {
      if (line === '') continue;
      try {
        const v = JSON.parse(line) as { keys?: unknown; diffIds?: unknown; digests?: unknown };
        for (const [field, set] of [
          ['keys', out.keys],
          ['diffIds', out.diffIds],
          ['digests', out.digests],
        ] as const) {
          const list = v[field];
          if (Array.isArray(list)) for (const x of list) if (typeof x === 'string') set.add(x);
        }
      } catch {
        // a torn last line of a live lease: what it named is also newer than `since`
      }
    }
  }
  return out;
}
