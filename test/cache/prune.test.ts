import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BuildCacheEntry } from '../../src/cache/build-index.js';
import { parseFilters } from '../../src/cache/cache-filter.js';
import { diskUsage } from '../../src/cache/cache-du.js';
import { ensureLayerDir, storedLayer } from '../../src/cache/layers.js';
import { Lease, leasesDir } from '../../src/cache/leases.js';
import { pruneCache, type PruneOptions, type PruneStep } from '../../src/cache/prune.js';
import { verifyStore } from '../../src/cache/verify.js';
import { MediaTypes } from '../../src/image/media-type.js';
import type { Digest } from '../../src/image/digest.js';
import { buildLayer, cacheMount, DAY, duBytes, entry, fixture, HOUR, image, unpackedLayer, type Fixture, type MadeLayer } from './cache-fixtures.js';

let f: Fixture;
beforeEach(async () => {
  f = await fixture('obox-prune-');
});
afterEach(() => f.cleanup());

const dirOf = (l: MadeLayer): string => f.store.paths.layer(l.diffId as Digest);
const blobOf = (l: MadeLayer): string => f.store.paths.blob(l.digest as Digest);

/** A pid that no process has (a child that has exited). */
function deadPid(): number {
  const r = spawnSync('true');
  return r.pid!;
}

interface Lru {
  entries: BuildCacheEntry[];
  layers: MadeLayer[];
  /** Allocated bytes each entry's removal frees (entry file, layer dir, metadata). */
  frees: number[];
}

/** Six entries, each with its own layer dir of growing size; entry i was last used 6 − i days ago. */
async function lruStore(): Promise<Lru> {
  const now = Date.now();
  const layers: MadeLayer[] = [];
  const entries: BuildCacheEntry[] = [];
  for (let i = 0; i < 6; i++) {
    const l = await buildLayer(f, { [`data-${i}`]: Buffer.alloc(20_000 * (i + 1), i + 1) });
    layers.push(l);
    entries.push(await entry(f, { n: i, layer: l, lastUsed: now - (6 - i) * DAY, stage: i % 2 === 0 ? 'even' : 'odd' }));
  }
  await diskUsage(f.store); // measure once, so sizes are known to compute what each removal frees
  const frees = entries.map((e, i) => duBytes(f.index.entryPath(e.key)) + duBytes(dirOf(layers[i]!)) + duBytes(join(f.root, 'layer-meta-v1', 'sha256', `${layers[i]!.diffId.slice(7)}.json`)));
  return { entries, layers, frees };
}

const removedKeys = (r: Awaited<ReturnType<typeof pruneCache>>): string[] => r.entries.map((e) => e.key);
const remainingKeys = async (): Promise<string[]> => (await f.index.list()).map((e) => e.key).sort();

describe('cache prune', () => {
  it('without limits removes every entry, least recently used first, and the layer dirs only they used', async () => {
    const { entries, layers, frees } = await lruStore();
    const r = await pruneCache(f.store);
    expect(removedKeys(r)).toEqual(entries.map((e) => e.key));
    expect(await remainingKeys()).toEqual([]);
    for (const l of layers) expect(existsSync(dirOf(l))).toBe(false);
    expect(r.layerDirs.map((d) => d.diffId)).toEqual(layers.map((l) => l.diffId));
    expect(r.freedBytes).toBe(frees.reduce((a, b) => a + b, 0));
    expect(await readdir(join(f.root, 'layer-meta-v1', 'sha256'))).toEqual([]);
    expect((await verifyStore(f.store)).remaining).toBe(0);
  });

  it('--keep-storage / --max-used: removes the least recently used until the cache fits', async () => {
    const { entries, frees } = await lruStore();
    const total = (await diskUsage(f.store)).cacheBytes;
    // Room for all but the two oldest.
    const limit = total - frees[0]! - frees[1]! + 1;
    const r = await pruneCache(f.store, { maxUsed: limit });
    expect(removedKeys(r)).toEqual([entries[0]!.key, entries[1]!.key]);
    expect(r.cacheBytesAfter).toBeLessThanOrEqual(limit);
    expect((await diskUsage(f.store)).cacheBytes).toBeLessThanOrEqual(limit);
    expect(await remainingKeys()).toEqual(entries.slice(2).map((e) => e.key).sort());
    // Already under the limit: nothing to do.
    expect(removedKeys(await pruneCache(f.store, { maxUsed: limit }))).toEqual([]);
  });

  it('--min-free: removes the least recently used until the file system has that much free', async () => {
    const { entries, frees } = await lruStore();
    const free = 1_000_000;
    const r = await pruneCache(f.store, { minFree: free + frees[0]! + 1, freeSpace: () => free });
    expect(removedKeys(r)).toEqual([entries[0]!.key, entries[1]!.key]);
    expect(removedKeys(await pruneCache(f.store, { minFree: free, freeSpace: () => free }))).toEqual([]);
  });

  it('--max-age: removes only entries unused for longer', async () => {
    const { entries } = await lruStore();
    const r = await pruneCache(f.store, { maxAgeMs: 3.5 * DAY });
    expect(removedKeys(r)).toEqual(entries.slice(0, 3).map((e) => e.key));
  });

  it('--keep-last: keeps the N most recently used entries', async () => {
    const { entries } = await lruStore();
    const r = await pruneCache(f.store, { keepLast: 2 });
    expect(removedKeys(r)).toEqual(entries.slice(0, 4).map((e) => e.key));
    expect(await remainingKeys()).toEqual(entries.slice(4).map((e) => e.key).sort());
  });

  it('--filter: only matching entries; unreferenced data is left to an unfiltered prune', async () => {
    const { entries } = await lruStore();
    const orphan = await buildLayer(f, { orphan: 'nobody uses me' });
    const r = await pruneCache(f.store, { filter: parseFilters(['stage=odd']) });
    expect(removedKeys(r)).toEqual([entries[1]!.key, entries[3]!.key, entries[5]!.key]);
    expect(existsSync(dirOf(orphan))).toBe(true);
    const r2 = await pruneCache(f.store, { filter: parseFilters(['stage=nothing']) });
    expect(r2.entries).toEqual([]);
    expect(r2.layerDirs).toEqual([]);
    const r3 = await pruneCache(f.store, { maxUsed: Number.MAX_SAFE_INTEGER });
    expect(r3.layerDirs).toEqual([]); // within the limit: nothing, not even unreferenced data
    const r4 = await pruneCache(f.store, { keepLast: 10 });
    expect(r4.layerDirs.map((d) => d.diffId)).toEqual([orphan.diffId]);
  });

  it('unreferenced layer dirs and blobs go first, then entries by last use', async () => {
    const { entries, frees } = await lruStore();
    const orphan = await buildLayer(f, { big: Buffer.alloc(100_000, 9) }, { blob: true });
    const total = (await diskUsage(f.store)).cacheBytes;
    // Over the limit by more than the orphan's blob: its dir has to go as well, but no entry.
    const r = await pruneCache(f.store, { maxUsed: total - 50_000 });
    expect(r.blobs.map((b) => b.digest)).toEqual([orphan.digest]);
    expect(r.layerDirs.map((d) => d.diffId)).toEqual([orphan.diffId]);
    expect(r.entries).toEqual([]);
    const rest = total - r.freedBytes;
    expect(removedKeys(await pruneCache(f.store, { maxUsed: rest - frees[0]! }))).toEqual([entries[0]!.key]);
  });

  it('never removes images\' blobs or (without --all) their layer dirs; --all removes the dirs, which unpack again', async () => {
    const base = await unpackedLayer(f, { 'bin/sh': 'sh'.repeat(3000) });
    const top = await buildLayer(f, { app: 'app'.repeat(3000) }, { blob: true });
    const digest = await image(f, [base, top], ['app:1']);
    const e = await entry(f, { n: 1, layer: top });
    const r = await pruneCache(f.store);
    expect(removedKeys(r)).toEqual([e.key]);
    expect(r.layerDirs).toEqual([]);
    expect(r.blobs).toEqual([]);
    for (const l of [base, top]) {
      expect(existsSync(dirOf(l))).toBe(true);
      expect(existsSync(blobOf(l))).toBe(true);
    }
    const all = await pruneCache(f.store, { all: true });
    expect(all.layerDirs.map((d) => d.diffId).sort()).toEqual([base.diffId, top.diffId].sort());
    expect(all.layerDirs.every((d) => d.image)).toBe(true);
    expect(all.blobs).toEqual([]);
    for (const l of [base, top]) {
      expect(existsSync(dirOf(l))).toBe(false);
      expect(existsSync(blobOf(l))).toBe(true);
    }
    expect(existsSync(f.store.paths.blob(digest as Digest))).toBe(true);
    expect((await verifyStore(f.store)).remaining).toBe(0);
    await ensureLayerDir(f.store, storedLayer(f.store, { digest: base.digest as Digest, size: base.size!, mediaType: MediaTypes.ociLayerGzip, diffId: base.diffId as Digest }));
    expect(existsSync(dirOf(base))).toBe(true);
  });

  it('--all keeps an image layer dir an entry needs and cannot unpack again (it names no blob)', async () => {
    const l = await buildLayer(f, { x: 'x' }, { blob: true });
    await image(f, [l], ['x:1']);
    const e = await entry(f, { n: 1, layer: { diffId: l.diffId }, lastUsed: Date.now() - DAY });
    const r = await pruneCache(f.store, { all: true, keepLast: 1 });
    expect(r.entries).toEqual([]);
    expect(r.layerDirs).toEqual([]);
    expect(existsSync(dirOf(l))).toBe(true);
    expect(await remainingKeys()).toEqual([e.key]);
  });

  it('keeps what a live build lease holds and anything newer than the oldest live lease', async () => {
    const { entries, layers } = await lruStore();
    const blobbed = await buildLayer(f, { b: 'blob' }, { blob: true });
    const blobEntry = await entry(f, { n: 10, layer: blobbed, lastUsed: Date.now() - 9 * DAY });
    await cacheMount(f, 'apt', 1000, Date.now() - 9 * DAY);
    await new Promise((r) => setTimeout(r, 1100)); // what exists is older than the lease by the timestamp margin
    const lease = await Lease.create(f.store.paths);
    try {
      // The build reuses entry 0 (and so its layer), the layer of entry 1 (not the entry), and the blob.
      await lease.hold({ keys: [entries[0]!.key], diffIds: [layers[1]!.diffId], digests: [blobbed.digest!] });
      await new Promise((r) => setTimeout(r, 1100)); // past the timestamp margin
      // What the build made since: newer than its lease.
      const fresh = await buildLayer(f, { fresh: 'new' });
      const freshEntry = await entry(f, { n: 20, layer: fresh, lastUsed: Date.now(), created: Date.now() });
      const orphanNew = await buildLayer(f, { orphan: 'new, no entry yet' });

      const r = await pruneCache(f.store);
      expect(removedKeys(r).sort()).toEqual([blobEntry.key, ...entries.slice(1).map((e) => e.key)].sort());
      expect(await remainingKeys()).toEqual([entries[0]!.key, freshEntry.key].sort());
      expect(existsSync(dirOf(layers[0]!))).toBe(true); // its entry is held
      expect(existsSync(dirOf(layers[1]!))).toBe(true); // held itself
      expect(existsSync(dirOf(layers[2]!))).toBe(false);
      expect(existsSync(blobOf(blobbed))).toBe(true); // held
      expect(existsSync(dirOf(blobbed))).toBe(false); // not held: its entry went
      expect(existsSync(dirOf(fresh))).toBe(true);
      expect(existsSync(dirOf(orphanNew))).toBe(true);
      expect(r.cacheMounts).toEqual([]);
      expect(r.kept).toMatchObject({ mountsInUse: 1 });
      expect(r.kept.leased).toBeGreaterThanOrEqual(3);
      expect(r.kept.newer).toBeGreaterThanOrEqual(2);
      expect((await verifyStore(f.store)).remaining).toBe(0);
    } finally {
      await lease.release();
    }
    // Lease released: everything goes.
    const r2 = await pruneCache(f.store);
    expect(await remainingKeys()).toEqual([]);
    expect(r2.cacheMounts.map((m) => m.id)).toEqual(['apt']);
  });

  it('removes stale leases (their process is gone); they protect nothing', async () => {
    const { entries } = await lruStore();
    await mkdir(leasesDir(f.store.paths), { recursive: true });
    const holder = { pid: deadPid(), host: (await import('node:os')).hostname(), nonce: 'x' };
    await writeFile(join(leasesDir(f.store.paths), `${holder.pid}-dead.jsonl`), `${JSON.stringify(holder)}\n${JSON.stringify({ keys: entries.map((e) => e.key) })}\n`);
    const r = await pruneCache(f.store);
    expect(r.staleLeases).toBe(1);
    expect(removedKeys(r)).toHaveLength(6);
    expect(await readdir(leasesDir(f.store.paths))).toEqual([]);
  });

  it('cache mounts go least recently used first like entries', async () => {
    const now = Date.now();
    const l = await buildLayer(f, { x: 'x' });
    const e = await entry(f, { n: 1, layer: l, lastUsed: now - 2 * DAY });
    await cacheMount(f, 'old', 30_000, now - 3 * DAY);
    await cacheMount(f, 'new', 30_000, now - HOUR);
    const r = await pruneCache(f.store, { maxAgeMs: DAY });
    expect(r.cacheMounts.map((m) => m.id)).toEqual(['old']);
    expect(removedKeys(r)).toEqual([e.key]);
    expect(existsSync(join(f.root, 'cache-mounts-v1', 'new'))).toBe(true);
    expect(existsSync(join(f.root, 'cache-mounts-v1', 'old'))).toBe(false);
    const r2 = await pruneCache(f.store, { filter: parseFilters(['type=step']) });
    expect(r2.cacheMounts).toEqual([]);
  });

  it('--dry-run removes nothing and reports what a real run removes', async () => {
    await lruStore();
    const l = await buildLayer(f, { b: 'b' }, { blob: true });
    await entry(f, { n: 9, layer: l });
    await mkdir(join(f.root, 'links-v1'), { recursive: true });
    await symlink(join(f.root, 'layers-v1', 'sha256', 'gone'), join(f.root, 'links-v1', 'aaaaa'));
    await writeFile(join(f.root, 'tmp', `prune-${deadPid()}-0123456789ab`), 'left over');
    await diskUsage(f.store);
    const before = duBytes(f.root);
    const listing = async (): Promise<string[]> => (await readdir(f.root, { recursive: true })).sort();
    const files = await listing();
    const dry = await pruneCache(f.store, { dryRun: true, maxAgeMs: DAY });
    expect(await listing()).toEqual(files);
    expect(duBytes(f.root)).toBe(before);
    const real = await pruneCache(f.store, { maxAgeMs: DAY });
    expect({ ...dry, dryRun: false }).toEqual(real);
    expect(real.entries.length).toBe(7);
    expect(real.links).toBe(1);
    expect(real.tmp.map((t) => t.name)).toEqual([expect.stringMatching(/^prune-/)]);
  });

  it('housekeeping: links to removed dirs, metadata without a dir, temp items of gone processes, unreadable entries', async () => {
    const now = Date.now();
    const keep = await buildLayer(f, { keep: 'k' });
    await entry(f, { n: 1, layer: keep, lastUsed: now });
    const links = join(f.root, 'links-v1');
    await mkdir(links, { recursive: true });
    await symlink(dirOf(keep), join(links, 'keep1'));
    await symlink(join(f.root, 'tmp', 'build-xyz', 'layers', 'gone'), join(links, 'gone1'));
    await mkdir(join(f.root, 'layer-meta-v1', 'sha256'), { recursive: true });
    const orphanMeta = join(f.root, 'layer-meta-v1', 'sha256', `${'e'.repeat(64)}.json`);
    await writeFile(orphanMeta, '{}');
    const dead = deadPid();
    const tmp = (n: string): string => join(f.root, 'tmp', n);
    await writeFile(tmp(`file-${dead}-0123456789ab`), 'old temp file of a gone process');
    await writeFile(tmp(`file-${process.pid}-0123456789ab`), 'ours: alive');
    await mkdir(tmp(`build-${dead}-Xy12Zq`));
    await mkdir(tmp(`build-${process.pid}-Xy12Zq`));
    await mkdir(tmp('step-AbCdEf'));
    const bad = await entry(f, { n: 2, layer: null });
    await writeFile(f.index.entryPath(bad.key), 'garbage');
    // Two hours from now: the temp items are over an hour old.
    const r = await pruneCache(f.store, { keepLast: 1, now: now + 2 * HOUR });
    expect(r.links).toBe(1);
    expect(await readdir(links)).toEqual(['keep1']);
    expect(r.metadataFiles).toBe(1);
    expect(existsSync(orphanMeta)).toBe(false);
    expect(r.tmp.map((t) => t.name).sort()).toEqual([`build-${dead}-Xy12Zq`, `file-${dead}-0123456789ab`, 'step-AbCdEf']);
    expect(existsSync(tmp(`file-${process.pid}-0123456789ab`))).toBe(true);
    expect(existsSync(tmp(`build-${process.pid}-Xy12Zq`))).toBe(true);
    expect(r.badEntries.map((b) => b.key)).toEqual([bad.key]);
    expect(existsSync(f.index.entryPath(bad.key))).toBe(false);
  });

  it('temp items without a pid are kept while a build holds a lease, and items holding a mount always', async () => {
    await mkdir(join(f.root, 'tmp', 'build-Qwerty'));
    const mnt = join(f.root, 'tmp', 'step-Mounted', 'merged');
    await mkdir(mnt, { recursive: true });
    const mounted = spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', mnt]).status === 0;
    try {
      const lease = await Lease.create(f.store.paths);
      try {
        const r = await pruneCache(f.store, { now: Date.now() + 2 * HOUR });
        expect(r.tmp).toEqual([]);
      } finally {
        await lease.release();
      }
      const r = await pruneCache(f.store, { now: Date.now() + 2 * HOUR });
      expect(r.tmp.map((t) => t.name)).toEqual(mounted ? ['build-Qwerty'] : ['build-Qwerty', 'step-Mounted']);
    } finally {
      if (mounted) spawnSync('umount', [mnt]);
    }
  });
});

describe('cache prune stopped at any point', () => {
  /** A store with every kind of item prune removes. */
  async function mixedStore(g: Fixture): Promise<void> {
    const now = Date.now();
    const base = await unpackedLayer(g, { 'bin/sh': 'sh' });
    const a = await buildLayer(g, { a: 'a'.repeat(5000) }, { blob: true });
    const b = await buildLayer(g, { b: 'b'.repeat(5000) });
    const c = await buildLayer(g, { c: 'c'.repeat(5000) }, { blob: true });
    await image(g, [base, a], ['kept:1']);
    const e1 = await entry(g, { n: 1, layer: a, lastUsed: now - 5 * DAY });
    const e2 = await entry(g, { n: 2, layer: b, lastUsed: now - 4 * DAY, parent: { kind: 'step', key: e1.key } });
    await entry(g, { n: 3, layer: b, lastUsed: now - 3 * DAY });
    await entry(g, { n: 4, layer: c, lastUsed: now - 2 * DAY, parent: { kind: 'step', key: e2.key }, cacheMounts: ['m'] });
    await entry(g, { n: 5, layer: null, lastUsed: now - DAY });
    await buildLayer(g, { orphan: 'o' }, { blob: true });
    await cacheMount(g, 'm', 4000, now - 6 * DAY);
    await mkdir(join(g.root, 'links-v1'), { recursive: true });
    await symlink(g.store.paths.layer(b.diffId as Digest), join(g.root, 'links-v1', 'bbbbb'));
    await symlink(g.store.paths.layer(c.diffId as Digest), join(g.root, 'links-v1', 'ccccc'));
  }

  it('leaves a store that verifies clean after every prefix of its removal steps, and a later prune finishes the job', async () => {
    await mixedStore(f);
    const steps: PruneStep[] = [];
    await pruneCache(f.store, { all: true, beforeRemove: (s) => void steps.push(s) });
    expect(steps.length).toBeGreaterThan(8);
    expect(new Set(steps.map((s) => s.kind))).toEqual(new Set(['entry', 'layer-dir', 'blob', 'cache-mount']));
    for (let stop = 0; stop < steps.length; stop++) {
      const g = await fixture('obox-prune-stop-');
      try {
        await mixedStore(g);
        let done = 0;
        const options: PruneOptions = {
          all: true,
          beforeRemove: () => {
            if (done++ === stop) throw new Error('killed');
          },
        };
        await expect(pruneCache(g.store, options)).rejects.toThrow('killed');
        expect((await verifyStore(g.store)).problems, `stopped before step ${stop}`).toEqual([]);
        await pruneCache(g.store, { all: true });
        expect(await g.index.list()).toEqual([]);
        expect((await verifyStore(g.store)).problems).toEqual([]);
      } finally {
        await g.cleanup();
      }
    }
  }, 120_000);
});
