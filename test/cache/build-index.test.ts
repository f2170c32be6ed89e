import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildIndex, CACHE_DIR, type BuildCacheEntry, type IndexProblem } from '../../src/cache/build-index.js';
import { computeStepKey } from '../../src/cache/step-key.js';
import { Store } from '../../src/cache/store/store.js';
import type { ImageConfig } from '../../src/image/config.js';
import { tempDir } from './helpers.js';

const DIFF = `sha256:${'d'.repeat(64)}`;
const BLOB = `sha256:${'b'.repeat(64)}`;

function keyFor(n: number): string {
  return computeStepKey({ parent: { kind: 'scratch' }, instruction: `{"n":${n}}`, args: {}, platform: { os: 'linux', architecture: 'amd64' } }).key;
}

function entryFor(n: number, extra: Partial<BuildCacheEntry> = {}): BuildCacheEntry {
  const { key, inputs } = computeStepKey({
    parent: { kind: 'scratch' },
    instruction: `{"n":${n}}`,
    args: {},
    platform: { os: 'linux', architecture: 'amd64' },
  });
  return {
    key,
    inputs,
    layer: { diffId: DIFF, digest: BLOB, size: 123 },
    createdAt: '2026-01-01T00:00:00.000Z',
    lastUsedAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
}

describe('BuildIndex', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let store: Store;
  let problems: IndexProblem[];
  let index: BuildIndex;

  beforeEach(async () => {
    dir = await tempDir('obox-buildindex-');
    store = await Store.open(dir.path);
    problems = [];
    index = await BuildIndex.open(store.paths, { onProblem: (p) => problems.push(p) });
  });
  afterEach(() => dir.cleanup());

  it('records and looks up an entry beside the image layout, in cache-v1/', async () => {
    const config: ImageConfig = {
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: [DIFF as never] },
    };
    const e = entryFor(1, { config, containerfile: 'Containerfile', line: 3, text: 'RUN echo hi' });
    expect(await index.lookup(e.key)).toBeUndefined();
    expect(await index.record(e.key, e)).toBe('recorded');
    expect(index.entryPath(e.key).startsWith(join(dir.path, CACHE_DIR, 'entries', e.key.slice(7, 9)))).toBe(true);
    const got = await index.lookup(e.key);
    expect(got).toEqual(e);
    expect(problems).toEqual([]);
  });

  it('records a metadata-only step (layer null)', async () => {
    const e = entryFor(2, { layer: null });
    await index.record(e.key, e);
    expect((await index.lookup(e.key))?.layer).toBeNull();
  });

  it('keeps the first entry for a key: already exists is success', async () => {
    const e = entryFor(3);
    expect(await index.record(e.key, e)).toBe('recorded');
    expect(await index.record(e.key, { ...e, text: 'second' })).toBe('existed');
    expect((await index.lookup(e.key))?.text).toBeUndefined();
  });

  it('records the same key from many promises at once: one entry, no temp files left', async () => {
    const e = entryFor(4);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => index.record(e.key, { ...e, text: `writer ${i}` })));
    expect(results.filter((r) => r === 'recorded')).toHaveLength(1);
    expect(results.filter((r) => r === 'existed')).toHaveLength(19);
    expect((await index.lookup(e.key))?.text).toMatch(/^writer \d+$/);
    expect(await readdir(store.paths.tmp)).toEqual([]);
    expect(await readdir(dirname(index.entryPath(e.key)))).toEqual([`${e.key.slice(7)}.json`]);
  });

  it('a failed write leaves no entry and no temp file', async () => {
    const e = entryFor(5);
    // A directory where the entry goes: the temp file is written and flushed, then both the
    // exclusive link and the replacing rename fail.
    await mkdir(index.entryPath(e.key), { recursive: true });
    await expect(index.record(e.key, e)).rejects.toThrow(/EISDIR|directory/);
    expect(await readdir(store.paths.tmp)).toEqual([]);
    await rm(index.entryPath(e.key), { recursive: true });
    expect(await index.lookup(e.key)).toBeUndefined();

    // The shard directory is a file: fails before anything is written.
    const f = entryFor(13);
    await writeFile(join(index.entriesDir, f.key.slice(7, 9)), 'in the way');
    await expect(index.record(f.key, f)).rejects.toThrow();
    expect(await readdir(store.paths.tmp)).toEqual([]);
    await rm(join(index.entriesDir, f.key.slice(7, 9)));
    expect(await index.lookup(f.key)).toBeUndefined();
  });

  it('rejects an entry that would not read back, writing nothing', async () => {
    const e = entryFor(6);
    await expect(index.record(e.key, { ...e, layer: { diffId: 'not a digest' } })).rejects.toThrow(/diffId/);
    await expect(index.record(e.key, { ...e, key: keyFor(7) })).rejects.toThrow(TypeError);
    await expect(index.record('sha256:abc', e)).rejects.toThrow(TypeError);
    expect(await index.lookup(e.key)).toBeUndefined();
    expect(await readdir(store.paths.tmp)).toEqual([]);
  });

  it('treats a corrupted entry as a miss and reports it; record then replaces it', async () => {
    const e = entryFor(8);
    await index.record(e.key, e);
    const path = index.entryPath(e.key);
    for (const bad of ['{"format":', 'null', '[]', (await readFile(path, 'utf8')).replace('"diffId":"sha256:', '"diffId":"md5:'), '']) {
      await writeFile(path, bad);
      problems = [];
      expect(await index.lookup(e.key)).toBeUndefined();
      expect(problems).toHaveLength(1);
      expect(problems[0]!.key).toBe(e.key);
    }
    expect(await index.record(e.key, e)).toBe('recorded');
    expect(await index.lookup(e.key)).toEqual(e);
  });

  it('treats an entry holding another key as a miss', async () => {
    const a = entryFor(9);
    const b = entryFor(10);
    await index.record(a.key, a);
    await mkdir(dirname(index.entryPath(b.key)), { recursive: true });
    await writeFile(index.entryPath(b.key), await readFile(index.entryPath(a.key)));
    expect(await index.lookup(b.key)).toBeUndefined();
    expect(problems.map((p) => p.reason)).toEqual([expect.stringMatching(/holds key/)]);
  });

  it('touch updates lastUsedAt without rewriting the entry', async () => {
    const e = entryFor(11);
    await index.record(e.key, e);
    const before = await readFile(index.entryPath(e.key), 'utf8');
    const when = new Date('2026-06-01T12:00:00.000Z');
    expect(await index.touch(e.key, when)).toBe(true);
    expect((await index.lookup(e.key))?.lastUsedAt).toBe(when.toISOString());
    expect(await readFile(index.entryPath(e.key), 'utf8')).toBe(before);
    expect(await index.touch(keyFor(12))).toBe(false);
  });

  it('list() returns every valid entry and skips a corrupt one, 10,000 entries quickly', async () => {
    const n = 10_000;
    const entries = Array.from({ length: n }, (_, i) => entryFor(1000 + i));
    const t0 = performance.now();
    for (let i = 0; i < n; i += 200) await Promise.all(entries.slice(i, i + 200).map((e) => index.record(e.key, e)));
    const recordMs = performance.now() - t0;
    await writeFile(index.entryPath(entries[0]!.key), 'garbage');

    const t1 = performance.now();
    const listed = await index.list();
    const listMs = performance.now() - t1;
    console.log(`build-index: recorded ${n} entries in ${recordMs.toFixed(0)} ms; list() of ${n} entries took ${listMs.toFixed(0)} ms`);

    expect(listed).toHaveLength(n - 1);
    expect(problems).toHaveLength(1);
    const keys = listed.map((e) => e.key);
    expect(keys).toEqual([...keys].sort());
    expect(new Set(keys)).toEqual(new Set(entries.slice(1).map((e) => e.key)));
    expect(listMs).toBeLessThan(5000);
  }, 120_000);

  it('list() of an empty index is empty', async () => {
    expect(await index.list()).toEqual([]);
  });
});
