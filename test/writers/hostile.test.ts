/**
 * The hostile-archive corpus (fixtures/archives, made by native-scripts/make-hostile-archives.ts):
 * each bad archive is refused with an OboxError(invalidArchive) naming the archive and the entry,
 * and leaves the store exactly as it was — no names, no blobs, nothing in tmp/. The valid ones in
 * the corpus load.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/cache/store/index.js';
import { ErrorCodes, OboxError } from '../../src/errors.js';
import { loadFile } from '../../src/writers/index.js';
import { imageOf, makeLayer, openStore, scratchDir, snapshot, type Scratch } from './helpers.js';

const corpus = join(import.meta.dirname, '../../fixtures/archives');

interface Expected {
  file: string;
  ok: boolean;
  entry: string | null;
  reason: string;
}

const cases = JSON.parse(readFileSync(join(corpus, 'expected.json'), 'utf8')) as Expected[];

describe('hostile archives', () => {
  let dir: Scratch;
  let store: Store;

  beforeAll(async () => {
    dir = await scratchDir();
    store = await openStore(dir.path);
    // Something already in the store, which must survive every refused load untouched.
    const l = await makeLayer(dir.path, 'pre', { 'pre.txt': 'already here\n' });
    await store.putImage(imageOf([l.layer], ['/pre.txt']), ['obox-test/pre:1']);
  });

  afterAll(async () => dir?.cleanup());

  it('the corpus is there', () => {
    expect(cases.filter((c) => !c.ok).length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases.filter((c) => !c.ok).map((c) => [c.file, c] as const))('%s is refused, the store unchanged', async (_file, c) => {
    const path = join(corpus, c.file);
    const before = await snapshot(store);
    const err = await loadFile(store, path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, `${c.file} was loaded`).toBeInstanceOf(OboxError);
    const e = err as OboxError;
    expect(e.code).toBe(ErrorCodes.invalidArchive);
    expect(e.message).toContain(path);
    if (c.entry !== null) expect(e.message).toContain(JSON.stringify(c.entry));
    expect(e.message).toMatch(new RegExp(c.reason));
    expect(await snapshot(store)).toEqual(before);
  });

  it.each(cases.filter((c) => c.ok).map((c) => [c.file, c] as const))('%s loads', async (_file, c) => {
    const fresh = await openStore(dir.path, `ok-${c.file}`);
    const r = await loadFile(fresh, join(corpus, c.file));
    expect(r.images.length).toBeGreaterThan(0);
    for (const img of r.images) {
      const image = await fresh.image(img.manifestDigest);
      expect((await image.config()).rootfs.diff_ids).toHaveLength((await image.layers()).length);
    }
    expect((await snapshot(fresh)).tmp).toEqual([]);
  });
});
