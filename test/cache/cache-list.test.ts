import { mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseFilters } from '../../src/cache/cache-filter.js';
import { listCache, type StepRow } from '../../src/cache/cache-list.js';
import { diskUsage } from '../../src/cache/cache-du.js';
import { inspectEntry, resolveEntryKey } from '../../src/cache/cache-inspect.js';
import { readLayerMeta } from '../../src/cache/layer-meta.js';
import { RACY_MS, recordTrusted, usageCachePath } from '../../src/cache/usage-cache.js';
import { OboxError } from '../../src/errors.js';
import { buildLayer, cacheMount, DAY, duBytes, entry, fixture, HOUR, image, unpackedLayer, type Fixture } from './cache-fixtures.js';

let f: Fixture;
beforeEach(async () => {
  f = await fixture();
});
afterEach(() => f.cleanup());

const steps = (rows: Awaited<ReturnType<typeof listCache>>['rows']): StepRow[] => rows.filter((r): r is StepRow => r.type === 'step');

async function caught(p: Promise<unknown>): Promise<OboxError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OboxError);
    return e as OboxError;
  }
  throw new Error('expected a rejection');
}

describe('cache ls (library)', () => {
  it('lists each entry with its layer dir and blob sizes, what it shares, the images with its layer, its mounts', async () => {
    const now = Date.now();
    const base = await unpackedLayer(f, { 'bin/sh': 'shell'.repeat(1000) });
    const own = await buildLayer(f, { 'app/main': 'x'.repeat(20_000) }, { blob: true });
    const shared = await buildLayer(f, { 'etc/conf': 'y'.repeat(9000) });
    await image(f, [base, own], ['app:1']);
    const a = await entry(f, { n: 1, layer: own, lastUsed: now - HOUR, stage: 'final', cacheMounts: ['apt'] });
    const b = await entry(f, { n: 2, layer: shared, lastUsed: now - 2 * HOUR });
    const c = await entry(f, { n: 3, layer: shared, lastUsed: now - 3 * HOUR });
    const meta = await entry(f, { n: 4, layer: null, lastUsed: now - 4 * HOUR, text: 'ENV A=1' });
    await cacheMount(f, 'apt', 50_000, now - HOUR / 2);

    const { rows, problems } = await listCache(f.store);
    expect(problems).toEqual([]);
    expect(rows.map((r) => (r.type === 'step' ? r.key : r.id))).toEqual([a.key, b.key, c.key, meta.key, 'apt']);
    const [ra, rb, rc, rm_] = steps(rows);
    expect(ra!.layer!.dirBytes).toBeGreaterThan(20_000);
    expect(ra!.layer!.blobBytes).toBeGreaterThan(0);
    expect(ra!.size).toBe(ra!.layer!.dirBytes! + ra!.layer!.blobBytes!);
    expect(ra!.sharedSize).toBe(ra!.size); // the image uses both its dir and its blob
    expect(ra!.images).toEqual(['docker.io/library/app:1']);
    expect(ra!.cacheMounts).toEqual(['apt']);
    expect(ra!).toMatchObject({ stage: 'final', containerfile: '/src/app/Containerfile', line: 2, text: 'RUN step 1' });
    expect(rb!.layer!.blobBytes).toBeUndefined();
    expect(rb!.sharedSize).toBe(rb!.size); // c has the same layer
    expect(rc!.sharedSize).toBe(rc!.size);
    expect(rm_!.layer).toBeNull();
    expect(rm_!.size).toBe(0);
    const mount = rows[4]!;
    expect(mount).toMatchObject({ type: 'cache-mount', id: 'apt', usedBy: [a.key] });
    expect(mount.size).toBeGreaterThanOrEqual(50_000);
  });

  it('measures a layer dir once and remembers it in its layer metadata', async () => {
    const l = await buildLayer(f, { 'a/b': 'z'.repeat(10_000) });
    await entry(f, { n: 1, layer: l });
    expect((await readLayerMeta(f.store.paths, l.diffId))?.diskBytes).toBeUndefined();
    const first = steps((await listCache(f.store)).rows)[0]!;
    const meta = await readLayerMeta(f.store.paths, l.diffId);
    expect(meta).toMatchObject({ origin: 'build', diskBytes: first.layer!.dirBytes, files: 3 });
    expect(meta!.diskBytes).toBe(duBytes(f.store.paths.layer(l.diffId as never)));
  });

  it('sees what changed since the remembered scan: new entries, removed entries, later uses, replaced dirs', async () => {
    const l = await buildLayer(f, { f: 'one' });
    const e1 = await entry(f, { n: 1, layer: l });
    expect(steps((await listCache(f.store)).rows).map((r) => r.key)).toEqual([e1.key]);
    const e2 = await entry(f, { n: 2, layer: l, lastUsed: Date.now() - 3 * DAY });
    expect(steps((await listCache(f.store)).rows).map((r) => r.key)).toEqual([e1.key, e2.key]);
    // A later use (BuildIndex.touch sets the file's mtime only).
    const when = new Date(Date.now() - 60_000);
    await f.index.touch(e2.key, when);
    expect(steps((await listCache(f.store)).rows)[0]).toMatchObject({ key: e2.key, lastUsedAt: when.toISOString() });
    await rm(f.index.entryPath(e1.key));
    expect(steps((await listCache(f.store)).rows).map((r) => r.key)).toEqual([e2.key]);
    // The layer dir replaced by a bigger one under the same name: measured again.
    const before = steps((await listCache(f.store)).rows)[0]!.layer!.dirBytes!;
    const dir = f.store.paths.layer(l.diffId as never);
    await rm(dir, { recursive: true });
    await rm(join(f.root, 'layer-meta-v1', 'sha256', `${l.diffId.slice(7)}.json`));
    await mkdir(dir);
    await writeFile(join(dir, 'big'), Buffer.alloc(200_000, 1));
    const after = steps((await listCache(f.store)).rows)[0]!.layer!.dirBytes!;
    expect(after).toBeGreaterThan(before + 150_000);
  });

  it('trusts a remembered directory only when its mtime is unchanged and older than the scan by the racy margin', () => {
    const takenAt = 1_800_000_000_000;
    const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n + 123n;
    const old = ns(takenAt - RACY_MS - 5);
    expect(recordTrusted(String(old), old, takenAt)).toBe(true);
    expect(recordTrusted(String(old), old + 1n, takenAt)).toBe(false); // changed since
    expect(recordTrusted(undefined, old, takenAt)).toBe(false);
    const racy = ns(takenAt - RACY_MS + 5); // changed within the margin before the scan began
    expect(recordTrusted(String(racy), racy, takenAt)).toBe(false);
  });

  it('a scan right after a change is not trusted next time: a change within the same timestamp tick is still seen', async () => {
    const l = await buildLayer(f, { f: 'one' });
    const e1 = await entry(f, { n: 1, layer: l });
    await listCache(f.store);
    // Rewrite the entry file in place keeping the shard dir's mtime: only a re-read notices.
    const shard = dirname(f.index.entryPath(e1.key));
    const st = await stat(shard);
    const text = (await readFile(f.index.entryPath(e1.key), 'utf8')).replace('RUN step 1', 'RUN step ONE');
    await writeFile(f.index.entryPath(e1.key), text);
    await utimes(shard, st.atime, st.mtime);
    expect(steps((await listCache(f.store)).rows)[0]!.text).toBe('RUN step ONE');
  });

  it('a corrupt usage cache is ignored and rebuilt', async () => {
    const l = await buildLayer(f, { f: 'one' });
    const e = await entry(f, { n: 1, layer: l });
    await listCache(f.store);
    await writeFile(usageCachePath(f.store.paths), '{"format":"obox-cache-usage-v1","takenAt":1,"shards":{"zz":');
    expect(steps((await listCache(f.store)).rows).map((r) => r.key)).toEqual([e.key]);
  });

  it('reports unreadable entries instead of failing', async () => {
    const e = await entry(f, { n: 1, layer: null });
    await writeFile(f.index.entryPath(e.key), '{not json');
    const { rows, problems } = await listCache(f.store);
    expect(rows).toEqual([]);
    expect(problems).toEqual([{ key: e.key, reason: expect.stringContaining('not JSON') as string }]);
  });

  describe('filters', () => {
    let keys: string[];
    beforeEach(async () => {
      const now = Date.now();
      const l = await buildLayer(f, { f: 'one' }, { blob: true });
      await image(f, [l], ['web:latest']);
      const other = await buildLayer(f, { g: 'two' });
      keys = [
        (await entry(f, { n: 1, layer: l, lastUsed: now - 2 * HOUR, stage: 'final', containerfile: '/src/web/Containerfile' })).key,
        (await entry(f, { n: 2, layer: other, lastUsed: now - 3 * DAY, stage: 'build', containerfile: '/src/web/Containerfile' })).key,
        (await entry(f, { n: 3, layer: null, lastUsed: now - 10 * DAY, stage: 'build', containerfile: '/src/api/Dockerfile' })).key,
      ];
      await cacheMount(f, 'go-mod', 1000, now - 5 * DAY);
    });
    const ids = async (...specs: string[]): Promise<string[]> =>
      (await listCache(f.store, { filter: parseFilters(specs), cwd: '/src/web' })).rows.map((r) => (r.type === 'step' ? `step ${keys.indexOf(r.key) + 1}` : `mount ${r.id}`));

    it('by type', async () => {
      expect(await ids('type=step')).toEqual(['step 1', 'step 2', 'step 3']);
      expect(await ids('type=cache-mount')).toEqual(['mount go-mod']);
    });
    it('by last use: until (older than) and since (newer than), durations or times', async () => {
      expect(await ids('until=24h')).toEqual(['step 2', 'step 3', 'mount go-mod']);
      expect(await ids('since=4d')).toEqual(['step 1', 'step 2']);
      expect(await ids('until=4d', 'since=7d')).toEqual(['mount go-mod']);
      expect(await ids(`until=${new Date(Date.now() - 6 * DAY).toISOString()}`)).toEqual(['step 3']);
    });
    it('by image, stage, Containerfile, id; repeated keys match either value', async () => {
      expect(await ids('image=web')).toEqual(['step 1']);
      expect(await ids('image=docker.io/library/web:latest')).toEqual(['step 1']);
      expect(await ids('stage=build')).toEqual(['step 2', 'step 3']);
      expect(await ids('stage=final', 'stage=build', 'type=step')).toEqual(['step 1', 'step 2', 'step 3']);
      expect(await ids('containerfile=Containerfile')).toEqual(['step 1', 'step 2']);
      expect(await ids('containerfile=/src/api/Dockerfile')).toEqual(['step 3']);
      expect(await ids(`id=${keys[1]!.slice(7, 17)}`)).toEqual(['step 2']);
      expect(await ids('id=go-mod')).toEqual(['mount go-mod']);
    });
    it('refuses bad filters with one-line usage errors', () => {
      for (const bad of ['type=layer', 'color=red', 'until', 'until=soon', 'since=', 'image=UPPER']) {
        let err: unknown;
        try {
          parseFilters([bad]);
        } catch (e) {
          err = e;
        }
        expect(err, bad).toBeInstanceOf(OboxError);
        expect((err as OboxError).code).toBe('E_USAGE');
        expect((err as OboxError).message).not.toContain('\n');
      }
    });
  });
});

describe('cache du (library)', () => {
  it('adds up to what du -sx -B1 counts for the whole store, and splits images from the rest', async () => {
    const now = Date.now();
    const base = await unpackedLayer(f, { 'bin/tool': Buffer.alloc(300_000, 3) });
    const own = await buildLayer(f, { 'app/data': Buffer.alloc(120_000, 4) }, { blob: true });
    const cacheOnly = await buildLayer(f, { 'tmp/x': Buffer.alloc(70_000, 5) });
    await image(f, [base, own], ['app:1']);
    await entry(f, { n: 1, layer: own, lastUsed: now - HOUR, cacheMounts: ['apt'] });
    await entry(f, { n: 2, layer: cacheOnly, lastUsed: now - DAY });
    await cacheMount(f, 'apt', 40_000);
    await mkdir(join(f.root, 'cache-v1', 'builds'), { recursive: true });
    await writeFile(join(f.root, 'cache-v1', 'builds', 'rec.json'), 'x'.repeat(5000));
    await mkdir(join(f.root, 'tmp', 'step-abc'), { recursive: true });
    await writeFile(join(f.root, 'tmp', 'step-abc', 'partial'), Buffer.alloc(10_000));
    await mkdir(join(f.root, 'links-v1'), { recursive: true });

    await diskUsage(f.store); // first sight: measures and remembers
    const r = await diskUsage(f.store, { verbose: true });
    const du = duBytes(f.root);
    // Exact on a quiet store: the categories cover every inode under the root once. The
    // tolerance is for a directory growing by a block between the two walks (none expected).
    expect(Math.abs(r.total - du)).toBeLessThanOrEqual(4096);
    expect(r.categories.reduce((a, c) => a + c.bytes, 0)).toBe(r.total);
    const cat = (name: string): number => r.categories.find((c) => c.category === name)!.bytes;
    expect(cat('blobs')).toBe(duBytes(join(f.root, 'blobs')));
    expect(cat('layer dirs')).toBe(duBytes(join(f.root, 'layers-v1')));
    expect(cat('layer metadata')).toBe(duBytes(join(f.root, 'layer-meta-v1')));
    expect(cat('cache mounts')).toBe(duBytes(join(f.root, 'cache-mounts-v1')));
    expect(cat('build records')).toBe(duBytes(join(f.root, 'cache-v1', 'builds')));
    expect(cat('tmp')).toBe(duBytes(join(f.root, 'tmp')));
    // In use by images: their blobs (manifest, config, two layers) and their two layers' dirs.
    const imageDirs = duBytes(f.store.paths.layer(base.diffId as never)) + duBytes(f.store.paths.layer(own.diffId as never));
    const layerCat = r.categories.find((c) => c.category === 'layer dirs')!;
    expect(layerCat.inUseByImages).toBe(imageDirs);
    expect(layerCat.reclaimable).toBe(duBytes(f.store.paths.layer(cacheOnly.diffId as never)));
    expect(r.categories.find((c) => c.category === 'blobs')!.reclaimable).toBe(0);
    expect(r.items!.find((i) => i.name === own.diffId)).toMatchObject({ category: 'layer dirs', inUseByImages: true, images: ['docker.io/library/app:1'], entries: 1 });
    expect(r.items!.find((i) => i.name === 'apt')).toMatchObject({ category: 'cache mounts', reclaimable: true });
    expect(r.reclaimable).toBeLessThan(r.total - r.inUseByImages + 1);
  });

  it('still adds up after entries and dirs come and go', async () => {
    const ls = [];
    for (let i = 0; i < 6; i++) ls.push(await buildLayer(f, { [`f${i}`]: Buffer.alloc(5000 * (i + 1), i) }));
    for (const [i, l] of ls.entries()) await entry(f, { n: i, layer: l });
    await diskUsage(f.store);
    await rm(f.store.paths.layer(ls[2]!.diffId as never), { recursive: true });
    await rm(f.index.entryPath((await f.index.list())[0]!.key));
    await buildLayer(f, { extra: Buffer.alloc(33_000, 9) });
    await utimes(f.root, new Date(), new Date());
    await diskUsage(f.store);
    expect((await diskUsage(f.store)).total).toBe(duBytes(f.root));
  });
});

describe('cache inspect (library)', () => {
  it('finds an entry by a unique prefix, with or without sha256:, and shows its inputs and layer', async () => {
    const l = await buildLayer(f, { x: 'data' }, { blob: true });
    await image(f, [l], ['lib:2']);
    const parent = await entry(f, { n: 1, layer: null, text: 'ENV X=1' });
    const e = await entry(f, { n: 2, layer: l, parent: { kind: 'step', key: parent.key } });
    for (const ref of [e.key, e.key.slice(7), e.key.slice(7, 15), `sha256:${e.key.slice(7, 20)}`, e.key.slice(7, 15).toUpperCase()]) {
      expect(await resolveEntryKey(f.store, ref)).toBe(e.key);
    }
    const d = await inspectEntry(f.store, e.key.slice(7, 19));
    expect(d.entry.inputs).toEqual(e.inputs);
    expect(d.parentText).toBe('ENV X=1');
    expect(d.images).toEqual(['docker.io/library/lib:2']);
    expect(d.layer).toMatchObject({ origin: 'build' });
    expect(d.layer!.dirBytes).toBeGreaterThan(0);
    expect(d.layer!.blobBytes).toBeGreaterThan(0);
  });

  it('says clearly when a key is unknown, ambiguous, too short or not hex', async () => {
    const e = await entry(f, { n: 1, layer: null });
    // Two keys sharing their first 12 digits (entries under made-up keys: the index only checks the form).
    for (const tail of ['1', '2']) {
      const key = `sha256:abcdef012345${tail.repeat(52)}`;
      await f.index.record(key, { ...e, key });
    }
    const errors = {
      unknown: await caught(resolveEntryKey(f.store, 'ffffffffffff0000')),
      ambiguous: await caught(resolveEntryKey(f.store, 'sha256:abcdef01')),
      short: await caught(resolveEntryKey(f.store, 'abcdef0')),
      nothex: await caught(resolveEntryKey(f.store, 'not-a-key-at-all')),
    };
    expect(errors.unknown.code).toBe('E_NOT_FOUND');
    expect(errors.unknown.message).toBe('no cache entry matches ffffffffffff0000');
    expect(errors.ambiguous.code).toBe('E_USAGE');
    expect(errors.ambiguous.message).toBe('sha256:abcdef01 matches 2 cache entries (abcdef0123451, abcdef0123452)');
    expect(errors.short.code).toBe('E_USAGE');
    expect(errors.nothex.code).toBe('E_USAGE');
    for (const err of Object.values(errors)) expect(err.message).not.toContain('\n');
    expect(await resolveEntryKey(f.store, 'abcdef0123451')).toBe(`sha256:abcdef012345${'1'.repeat(52)}`);
  });
});
