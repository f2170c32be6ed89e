/** Same directory → same bytes → same digests; SOURCE_DATE_EPOCH clamping; compression choices. */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OboxError, ErrorCodes } from '../../src/errors.js';
import { planDirectory, unpackLayer, zstdSupported } from '../../src/layer/index.js';
import { native } from '../../src/layer/native.js';
import { requires } from '../helpers/requirements.js';
import { layerFile, listLayer, sha256File, snapshot, useScratch } from './helpers.js';

const T0 = 1_650_000_000;

/** Creates the same tree in the given order of top-level names, then fixes every mtime. */
async function tree(root: string, order: string[]): Promise<void> {
  await fsp.mkdir(root, { recursive: true });
  for (const name of order) {
    const p = join(root, name);
    if (name.endsWith('-dir')) {
      await fsp.mkdir(p);
      for (const child of ['z', 'a', 'm']) await fsp.writeFile(join(p, child), `${name}/${child}\n`);
    } else {
      await fsp.writeFile(p, `${name}\n`.repeat(1000));
    }
  }
  await fsp.symlink('a-dir/z', join(root, 'link'));
  native().lsetxattr(join(root, 'b'), 'user.b', Buffer.from('2'), 0);
  native().lsetxattr(join(root, 'b'), 'user.a', Buffer.from('1'), 0);
  async function stamp(dir: string, t: number): Promise<void> {
    for (const name of await fsp.readdir(dir)) {
      const p = join(dir, name);
      if ((await fsp.lstat(p)).isDirectory()) await stamp(p, t);
      await fsp.lutimes(p, t, t);
    }
  }
  await stamp(root, T0);
}

describe.skipIf(!requires({ root: true }))('deterministic layers', () => {
  const scratch = useScratch();

  it('writes identical bytes twice, and after atimes change', async () => {
    const base = await scratch.dir('determinism');
    const src = join(base, 'src');
    await tree(src, ['a-dir', 'b', 'c', 'a-dir2', 'a']);
    const first = await layerFile(src, join(base, '1.tgz'));
    const second = await layerFile(src, join(base, '2.tgz'));
    expect(second).toEqual(first);
    expect(await fsp.readFile(join(base, '2.tgz'))).toEqual(await fsp.readFile(join(base, '1.tgz')));

    // Reading every file and touching atimes must change nothing.
    for (const name of ['a', 'b', 'c', 'a-dir/z']) await fsp.readFile(join(src, name));
    const later = Date.now() / 1000 + 5000;
    for (const name of ['a', 'b', 'a-dir', 'a-dir/m']) {
      const st = await fsp.lstat(join(src, name));
      await fsp.utimes(join(src, name), later, st.mtime);
    }
    const third = await layerFile(src, join(base, '3.tgz'));
    expect(third).toEqual(first);
    expect(sha256File(join(base, '3.tgz'))).toBe(first.digest);
  });

  it('does not depend on creation order or directory order', async () => {
    const base = await scratch.dir('order');
    await tree(join(base, 'x'), ['a-dir', 'b', 'c', 'a-dir.txt', 'a-dir2', 'a']);
    await tree(join(base, 'y'), ['a', 'a-dir2', 'c', 'b', 'a-dir.txt', 'a-dir']);
    const x = await layerFile(join(base, 'x'), join(base, 'x.tgz'));
    const y = await layerFile(join(base, 'y'), join(base, 'y.tgz'));
    expect(y.diffId).toBe(x.diffId);
    expect(y.digest).toBe(x.digest);
    // Byte order of the full path: "a-dir" < "a-dir.txt" < "a-dir/…" < "a-dir2" ('.' < '/' < '2').
    expect((await planDirectory(join(base, 'x'))).map((h) => h.path)).toEqual([
      'a',
      'a-dir',
      'a-dir.txt',
      'a-dir/a',
      'a-dir/m',
      'a-dir/z',
      'a-dir2',
      'b',
      'c',
      'link',
    ]);
  });

  it('clamps mtimes to SOURCE_DATE_EPOCH, leaving older ones alone', async () => {
    const base = await scratch.dir('sde');
    const src = join(base, 'src');
    await fsp.mkdir(join(src, 'dir'), { recursive: true });
    await fsp.writeFile(join(src, 'old'), 'old');
    await fsp.writeFile(join(src, 'new'), 'new');
    await fsp.symlink('old', join(src, 'dir/link'));
    const epoch = 1_700_000_000;
    await fsp.utimes(join(src, 'old'), epoch - 1000, epoch - 1000);
    await fsp.utimes(join(src, 'new'), epoch + 1000, epoch + 1000);
    await fsp.lutimes(join(src, 'dir/link'), epoch + 5, epoch + 5);
    await fsp.utimes(join(src, 'dir'), epoch + 99999, epoch + 99999);
    const headers = await planDirectory(src, { sourceDateEpoch: epoch });
    const mtimes = Object.fromEntries(headers.map((h) => [h.path, h.mtime]));
    expect(mtimes).toEqual({ dir: epoch, 'dir/link': epoch, new: epoch, old: epoch - 1000 });

    // Two trees differing only in mtimes after the epoch give the same layer.
    const layerA = await layerFile(src, join(base, 'a.tgz'), { sourceDateEpoch: epoch });
    await fsp.utimes(join(src, 'new'), epoch + 123456, epoch + 123456);
    const layerB = await layerFile(src, join(base, 'b.tgz'), { sourceDateEpoch: epoch });
    expect(layerB.digest).toBe(layerA.digest);
    expect((await listLayer(join(base, 'b.tgz'))).find((h) => h.path === 'new')?.mtime).toBe(epoch);
  });

  it('compression none: digest is the diffID; gzip levels are reproducible', async () => {
    const base = await scratch.dir('compression');
    const src = join(base, 'src');
    await tree(src, ['a', 'b', 'c', 'a-dir', 'a-dir2']);
    const plain = await layerFile(src, join(base, 'l.tar'), { compression: 'none' });
    expect(plain.digest).toBe(plain.diffId);
    expect(plain.size).toBe(plain.uncompressedSize);
    expect(plain.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    const gz9 = await layerFile(src, join(base, 'l9.tgz'), { gzipLevel: 9 });
    expect(gz9.diffId).toBe(plain.diffId);
    expect((await layerFile(src, join(base, 'l9b.tgz'), { gzipLevel: 9 })).digest).toBe(gz9.digest);
    // Reading detects each format from its magic bytes.
    const fromPlain = await unpackLayer(join(base, 'l.tar'), join(base, 'u1'));
    const fromGzip = await unpackLayer(join(base, 'l9.tgz'), join(base, 'u2'));
    expect(fromPlain.diffId).toBe(plain.diffId);
    expect(fromGzip.diffId).toBe(plain.diffId);
    expect(await snapshot(join(base, 'u2'))).toEqual(await snapshot(src));
  });

  it.skipIf(!zstdSupported())('zstd round trip (this Node has zstd)', async () => {
    const base = await scratch.dir('zstd');
    const src = join(base, 'src');
    await tree(src, ['a', 'b', 'c', 'a-dir', 'a-dir2']);
    const z = await layerFile(src, join(base, 'l.tar.zst'), { compression: 'zstd' });
    expect(z.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect((await unpackLayer(join(base, 'l.tar.zst'), join(base, 'u'))).diffId).toBe(z.diffId);
  });

  it.skipIf(zstdSupported())('zstd is refused with a clear error on a Node without it', async () => {
    const base = await scratch.dir('nozstd');
    const src = join(base, 'src');
    await tree(src, ['a', 'b', 'c', 'a-dir', 'a-dir2']);
    const err = await layerFile(src, join(base, 'l.tar.zst'), { compression: 'zstd' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OboxError);
    expect((err as OboxError).code).toBe(ErrorCodes.environment);
    expect((err as OboxError).message).toMatch(/zstd/);
    // A zstd blob (magic bytes) is recognised and refused the same way.
    const zst = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(100)]);
    await fsp.writeFile(join(base, 'x.zst'), zst);
    await expect(unpackLayer(join(base, 'x.zst'), join(base, 'u'))).rejects.toThrow(/zstd/);
  });
});
