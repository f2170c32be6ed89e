import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importRootfs } from '../../src/cache/import.js';
import { readLayerMeta } from '../../src/cache/layer-meta.js';
import { verifyStore, type VerifyReport } from '../../src/cache/verify.js';
import type { Digest } from '../../src/image/digest.js';
import { buildLayer, entry, fixture, image, unpackedLayer, type Fixture, type MadeLayer } from './cache-fixtures.js';

let f: Fixture;
beforeEach(async () => {
  f = await fixture('obox-verify-');
});
afterEach(() => f.cleanup());

const dirOf = (l: MadeLayer): string => f.store.paths.layer(l.diffId as Digest);
const blobOf = (l: MadeLayer): string => f.store.paths.blob(l.digest as Digest);
const problems = (r: VerifyReport): Array<[string, string]> => r.problems.map((p) => [p.kind, p.id]);

/** Flip one byte of a file in place (same size). */
async function flipByte(path: string, at = 40): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}

describe('cache verify', () => {
  it('a healthy store: every blob, dir, entry, image checked; no problems', async () => {
    const base = await unpackedLayer(f, { 'bin/sh': 'sh'.repeat(100), 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n' });
    const top = await buildLayer(f, { app: 'app' }, { blob: true });
    const mid = await buildLayer(f, { mid: 'no blob' });
    await image(f, [base, top], ['app:1']);
    await entry(f, { n: 1, layer: top });
    await entry(f, { n: 2, layer: mid });
    await entry(f, { n: 3, layer: null });
    const r = await verifyStore(f.store);
    expect(r.problems).toEqual([]);
    expect(r.remaining).toBe(0);
    expect(r.checked).toMatchObject({ layerDirs: 3, entries: 3, images: 1, unverifiable: 0 });
    expect(r.checked.blobs).toBe(4); // two layers, config, manifest
  });

  it('an imported root filesystem (origin import) is re-tarred with its own options', async () => {
    const src = join(f.root, '..', 'rootfs');
    await mkdir(join(src, 'etc'), { recursive: true });
    await writeFile(join(src, 'etc', 'hostname'), 'box\n');
    const tar = join(f.root, '..', 'rootfs.tar');
    execFileSync('tar', ['-C', src, '-cf', tar, '.']);
    const r = await importRootfs(f.store, { source: { tar, name: 'rootfs.tar' }, names: ['imported:1'], created: 1_600_000_000 });
    expect((await readLayerMeta(f.store.paths, r.diffId))).toMatchObject({ origin: 'import', sourceDateEpoch: 1_600_000_000 });
    expect((await verifyStore(f.store)).problems).toEqual([]);
    await writeFile(join(f.store.paths.layer(r.diffId as Digest), 'etc', 'hostname'), 'other\n');
    const bad = await verifyStore(f.store);
    expect(problems(bad)).toEqual([['layer-dir', r.diffId]]);
    expect(bad.problems[0]!.problem).toContain('differs from blob');
    expect((await verifyStore(f.store, { repair: true })).remaining).toBe(0);
    expect(await readFile(join(f.store.paths.layer(r.diffId as Digest), 'etc', 'hostname'), 'utf8')).toBe('box\n');
  });

  it('a layer dir of unknown origin with no blob is unverifiable, not a problem', async () => {
    const l = await buildLayer(f, { x: 'x' });
    await rm(join(f.root, 'layer-meta-v1', 'sha256', `${l.diffId.slice(7)}.json`));
    const r = await verifyStore(f.store);
    expect(r.problems).toEqual([]);
    expect(r.checked.unverifiable).toBe(1);
    expect(r.notes).toEqual([expect.objectContaining({ kind: 'layer-dir', id: l.diffId })]);
  });

  it('detects a flipped byte in a blob; --repair removes it and makes the entry forget it', async () => {
    const l = await buildLayer(f, { data: 'd'.repeat(5000) }, { blob: true });
    const e = await entry(f, { n: 1, layer: l });
    await flipByte(blobOf(l));
    const r = await verifyStore(f.store);
    expect(problems(r)).toEqual([
      ['blob', l.digest],
      ['entry', e.key],
    ]);
    expect(r.problems[0]!.problem).toMatch(/^content hashes to sha256:/);
    expect(r.remaining).toBe(2);
    const fixed = await verifyStore(f.store, { repair: true });
    expect(fixed.remaining).toBe(0);
    expect(existsSync(blobOf(l))).toBe(false);
    expect((await f.index.lookup(e.key))?.layer).toEqual({ diffId: l.diffId });
    expect((await verifyStore(f.store)).problems).toEqual([]);
  });

  it('a corrupt blob of an image cannot be repaired: reported, and problems remain', async () => {
    const l = await buildLayer(f, { data: 'd'.repeat(5000) }, { blob: true });
    await image(f, [l], ['broken:1']);
    await flipByte(blobOf(l));
    const r = await verifyStore(f.store, { repair: true });
    expect(problems(r)).toEqual([
      ['blob', l.digest],
      ['image', 'docker.io/library/broken:1'],
    ]);
    expect(r.problems[0]!.repaired).toBe('removed');
    expect(r.problems[1]!.repaired).toBeUndefined();
    expect(r.problems[1]!.problem).toMatch(/is corrupt.*cannot be repaired/);
    expect(r.remaining).toBe(1);
    const again = await verifyStore(f.store);
    expect(problems(again)).toEqual([['image', 'docker.io/library/broken:1']]);
    expect(again.problems[0]!.problem).toContain('is missing');
  });

  it('detects a changed file in a build layer dir (re-tarred with its recorded options); --repair removes it and its entry', async () => {
    const l = await buildLayer(f, { 'etc/app.conf': 'port=80\n' });
    const e = await entry(f, { n: 1, layer: l });
    await writeFile(join(dirOf(l), 'etc/app.conf'), 'port=81\n');
    const r = await verifyStore(f.store);
    expect(problems(r)).toEqual([
      ['layer-dir', l.diffId],
      ['entry', e.key],
    ]);
    expect(r.problems[0]!.problem).toContain('no blob to compare with');
    expect(r.problems[1]!.problem).toBe('its layer dir is corrupt and it has no blob');
    const fixed = await verifyStore(f.store, { repair: true });
    expect(fixed.remaining).toBe(0);
    expect(existsSync(dirOf(l))).toBe(false);
    expect(await f.index.lookup(e.key)).toBeUndefined();
    expect((await verifyStore(f.store)).problems).toEqual([]);
  });

  it('a corrupt build layer dir with a good blob is unpacked again from the blob', async () => {
    const l = await buildLayer(f, { 'etc/app.conf': 'port=80\n', 'bin/app': 'binary' }, { blob: true });
    const e = await entry(f, { n: 1, layer: l });
    await rm(join(dirOf(l), 'bin/app'));
    const r = await verifyStore(f.store, { repair: true });
    expect(problems(r)).toEqual([['layer-dir', l.diffId]]);
    expect(r.problems[0]!.repaired).toBe(`removed, and unpacked again from blob ${l.digest}`);
    expect(await readFile(join(dirOf(l), 'bin/app'), 'utf8')).toBe('binary');
    expect((await readLayerMeta(f.store.paths, l.diffId))?.origin).toBe('unpacked');
    expect(await f.index.lookup(e.key)).toBeDefined();
    expect((await verifyStore(f.store)).problems).toEqual([]);
  });

  it('detects a changed file in an unpacked dir (compared with a fresh unpack of its blob); --repair unpacks it again', async () => {
    const base = await unpackedLayer(f, { 'usr/lib/libc.so': 'c'.repeat(3000), 'etc/os-release': 'ID=test\n' });
    await image(f, [base], ['base:1']);
    await writeFile(join(dirOf(base), 'etc/os-release'), 'ID=hacked\n');
    const r = await verifyStore(f.store);
    expect(problems(r)).toEqual([['layer-dir', base.diffId]]);
    expect(r.problems[0]!.problem).toBe(`its tree differs from a fresh unpack of blob ${base.digest}`);
    const fixed = await verifyStore(f.store, { repair: true });
    expect(fixed.remaining).toBe(0);
    expect(await readFile(join(dirOf(base), 'etc/os-release'), 'utf8')).toBe('ID=test\n');
    expect((await verifyStore(f.store)).problems).toEqual([]);
    expect(await readdir(join(f.root, 'tmp'))).toEqual([]);
  });

  it('a missing layer dir: fine when the entry has a blob, a problem (the entry is removed) when it has none', async () => {
    const withBlob = await buildLayer(f, { a: 'a' }, { blob: true });
    const without = await buildLayer(f, { b: 'b' });
    const e1 = await entry(f, { n: 1, layer: withBlob });
    const e2 = await entry(f, { n: 2, layer: without });
    await rm(dirOf(withBlob), { recursive: true });
    await rm(dirOf(without), { recursive: true });
    const r = await verifyStore(f.store);
    expect(problems(r)).toEqual([['entry', e2.key]]);
    expect(r.problems[0]!.problem).toBe('its layer dir is gone and it has no blob');
    expect(r.notes.map((n) => n.kind).sort()).toEqual(['metadata', 'metadata']);
    const fixed = await verifyStore(f.store, { repair: true });
    expect(fixed.remaining).toBe(0);
    expect(await f.index.lookup(e1.key)).toBeDefined();
    expect(await f.index.lookup(e2.key)).toBeUndefined();
    const clean = await verifyStore(f.store);
    expect(clean.problems).toEqual([]);
    expect(clean.notes).toEqual([]); // orphaned metadata removed
  });

  it('unreadable entries, wrong sizes and dangling links', async () => {
    const l = await buildLayer(f, { a: 'a' }, { blob: true });
    const bad = await entry(f, { n: 1, layer: null });
    await writeFile(f.index.entryPath(bad.key), '{"format":"nope"}');
    const wrongSize = await entry(f, { n: 2, layer: { ...l, size: l.size! + 1 } });
    await mkdir(join(f.root, 'links-v1'), { recursive: true });
    await symlink(dirOf(l), join(f.root, 'links-v1', 'live0'));
    await symlink(join(f.root, 'layers-v1', 'sha256', 'f'.repeat(64)), join(f.root, 'links-v1', 'dead0'));
    const r = await verifyStore(f.store);
    expect(problems(r).sort()).toEqual([
      ['entry', bad.key],
      ['entry', wrongSize.key],
    ].sort());
    expect(r.notes).toEqual([expect.objectContaining({ kind: 'link', id: 'links-v1/dead0' })]);
    expect(r.checked.links).toBe(2);
    const fixed = await verifyStore(f.store, { repair: true });
    expect(fixed.remaining).toBe(0);
    expect(await readdir(join(f.root, 'links-v1'))).toEqual(['live0']);
    expect((await f.index.lookup(wrongSize.key))?.layer?.size).toBe(l.size);
    expect(existsSync(f.index.entryPath(bad.key))).toBe(false);
    expect(await verifyStore(f.store)).toMatchObject({ problems: [], notes: [] });
  });
});
