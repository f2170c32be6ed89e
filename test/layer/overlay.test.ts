/**
 * Overlay upper dir ⇄ OCI layer, with real overlay mounts: whiteouts and opaque dirs made by the
 * kernel become .wh. entries; unpacked back into overlay form and mounted as a lower dir, the
 * layer shows the same merged view; flattened, the same tree.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OboxError, ErrorCodes } from '../../src/errors.js';
import { applyLayer, encodeHeader, flattenLayers, planDirectory, unpackLayer, type TarHeader } from '../../src/layer/index.js';
import { native } from '../../src/layer/native.js';
import { END_OF_ARCHIVE } from '../../src/layer/tar-format.js';
import { requires } from '../helpers/requirements.js';
import { layerFile, listLayer, snapshot, useScratch } from './helpers.js';

async function lowerTree(lower: string): Promise<void> {
  await fsp.mkdir(join(lower, 'dir/sub'), { recursive: true });
  await fsp.mkdir(join(lower, 'other'), { recursive: true });
  await fsp.writeFile(join(lower, 'keep.txt'), 'original\n');
  await fsp.writeFile(join(lower, 'gone.txt'), 'delete me\n');
  await fsp.writeFile(join(lower, 'dir/old1'), 'old\n');
  await fsp.writeFile(join(lower, 'dir/sub/old2'), 'old\n');
  await fsp.writeFile(join(lower, 'other/x'), 'x\n');
  await fsp.writeFile(join(lower, 'other/gone-too'), 'delete me too\n');
  await fsp.symlink('other', join(lower, 'linkdir'));
}

/** The changes a RUN step might make, through the merged view. */
async function changeMerged(merged: string): Promise<void> {
  await fsp.rm(join(merged, 'gone.txt'));
  await fsp.rm(join(merged, 'other/gone-too'));
  await fsp.rm(join(merged, 'dir'), { recursive: true });
  await fsp.mkdir(join(merged, 'dir'));
  await fsp.writeFile(join(merged, 'dir/new'), 'new\n');
  await fsp.writeFile(join(merged, 'keep.txt'), 'changed\n');
  await fsp.mkdir(join(merged, 'newdir'));
  await fsp.writeFile(join(merged, 'newdir/f'), 'f\n');
}

const EXPECTED_ENTRIES = ['.wh.gone.txt', 'dir/', 'dir/.wh..wh..opq', 'dir/new', 'keep.txt', 'newdir/', 'newdir/f', 'other/', 'other/.wh.gone-too'];

describe.skipIf(!requires({ root: true, tools: ['mount', 'umount'] }))('overlay upper dir ⇄ layer', () => {
  const scratch = useScratch();

  for (const ns of ['trusted', 'user'] as const) {
    it(`converts a real upper dir (${ns}.overlay.*), and the unpacked layer mounts back to the same view`, async () => {
      const base = await scratch.dir(`overlay-${ns}`);
      const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => join(base, d)) as [string, string, string, string];
      for (const d of [lower, upper, work]) await fsp.mkdir(d);
      await lowerTree(lower);
      // userxattr rejects redirect_dir=off ("follow" on kernels built to always follow): nofollow.
      const extra = ns === 'user' ? ['redirect_dir=nofollow', 'metacopy=off', 'index=off'] : undefined;
      const mountOpts = { userxattr: ns === 'user', ...(extra ? { extra } : {}) };

      await scratch.mountOverlay({ lower: [lower], upper, work, merged, ...mountOpts });
      let view;
      try {
        await changeMerged(merged);
        view = await snapshot(merged, { dirMtimes: false });
      } finally {
        scratch.umount(merged);
      }

      // What the kernel left in the upper dir.
      const gone = await fsp.lstat(join(upper, 'gone.txt'));
      expect(gone.isCharacterDevice() && gone.rdev === 0).toBe(true);
      expect(native().lgetxattr(join(upper, 'dir'), `${ns}.overlay.opaque`)?.toString()).toBe('y');

      const layer = join(base, 'layer.tgz');
      await layerFile(upper, layer, { overlay: { xattrs: ns } });
      const headers = await listLayer(layer);
      expect(headers.map((h) => h.path)).toEqual(EXPECTED_ENTRIES);
      for (const h of headers.filter((x) => x.path.includes('.wh.'))) {
        expect(h).toMatchObject({ type: 'file', size: 0, mode: 0, uid: 0, gid: 0, mtime: 0 });
      }
      // Nothing of overlay's own bookkeeping travels.
      expect(headers.flatMap((h) => h.xattrs.map((x) => x.name)).filter((n) => n.includes('overlay'))).toEqual([]);

      // Unpack in overlay form and mount it as the upper lower dir.
      const l2 = join(base, 'l2');
      await unpackLayer(layer, l2, { overlayXattrs: ns });
      const wh = await fsp.lstat(join(l2, 'gone.txt'));
      expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
      expect(native().lgetxattr(join(l2, 'dir'), `${ns}.overlay.opaque`)?.toString()).toBe('y');
      const m2 = join(base, 'm2');
      await scratch.mountOverlay({ lower: [l2, lower], merged: m2, ...mountOpts });
      try {
        expect(await snapshot(m2, { dirMtimes: false })).toEqual(view);
      } finally {
        scratch.umount(m2);
      }

      // Flattened (whiteouts applied by deleting): the same tree.
      const lowerLayer = join(base, 'lower.tgz');
      await layerFile(lower, lowerLayer);
      const flat = join(base, 'flat');
      await flattenLayers([lowerLayer, layer], flat);
      expect(await snapshot(flat, { dirMtimes: false })).toEqual(view);
    });
  }

  it('refuses an upper dir written with redirect_dir=on', async () => {
    const base = await scratch.dir('overlay-redirect');
    const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => join(base, d)) as [string, string, string, string];
    for (const d of [lower, upper, work]) await fsp.mkdir(d);
    await lowerTree(lower);
    await scratch.mountOverlay({ lower: [lower], upper, work, merged, extra: ['redirect_dir=on', 'metacopy=off', 'index=off'] });
    try {
      await fsp.rename(join(merged, 'dir'), join(merged, 'moved'));
    } finally {
      scratch.umount(merged);
    }
    const err = await planDirectory(upper, { overlay: { xattrs: 'trusted' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OboxError);
    expect((err as OboxError).code).toBe(ErrorCodes.environment);
    expect((err as OboxError).message).toMatch(/"moved" carries trusted\.overlay\.redirect/);
  });

  it('refuses names starting with .wh. in the directory it writes', async () => {
    const base = await scratch.dir('overlay-whname');
    await fsp.mkdir(join(base, 'up/d'), { recursive: true });
    await fsp.writeFile(join(base, 'up/d/.wh.sneaky'), '');
    for (const opts of [{ overlay: { xattrs: 'trusted' as const } }, {}]) {
      const err = await planDirectory(join(base, 'up'), opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OboxError);
      expect((err as OboxError).message).toMatch(/"d\/\.wh\.sneaky".*reserved for whiteouts/);
    }
  });

  it('in plain mode a char device 0:0 is just a device', async () => {
    const base = await scratch.dir('overlay-plain');
    await fsp.mkdir(join(base, 'd'));
    native().mknod(join(base, 'd/wh'), 0o020000 | 0o600, 0, 0);
    expect(await planDirectory(join(base, 'd'))).toMatchObject([{ path: 'wh', type: 'char', devMajor: 0, devMinor: 0 }]);
    expect(await planDirectory(join(base, 'd'), { overlay: { xattrs: 'trusted' } })).toMatchObject([{ path: '.wh.wh', type: 'file' }]);
  });

  it('delete mode: an opaque marker keeps what the same layer wrote, even when it comes later', async () => {
    const base = await scratch.dir('overlay-delete');
    const root = join(base, 'root');
    await fsp.mkdir(join(root, 'dir/sub'), { recursive: true });
    await fsp.writeFile(join(root, 'dir/old'), 'old');
    await fsp.writeFile(join(root, 'dir/sub/old2'), 'old');
    await fsp.mkdir(join(root, 'gone/deep'), { recursive: true });
    await fsp.writeFile(join(root, 'gone/deep/f'), 'f');
    await fsp.writeFile(join(root, 'other'), 'stays');
    const h = (over: Partial<TarHeader>): TarHeader => ({
      path: '',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 1_700_000_000,
      linkpath: '',
      devMajor: 0,
      devMinor: 0,
      xattrs: [],
      ...over,
    });
    const tar = Buffer.concat([
      encodeHeader(h({ path: 'dir/', type: 'dir', mode: 0o755 })),
      encodeHeader(h({ path: 'dir/sub/', type: 'dir', mode: 0o755 })),
      encodeHeader(h({ path: 'dir/sub/new' })),
      encodeHeader(h({ path: 'dir/.wh..wh..opq' })),
      encodeHeader(h({ path: '.wh.gone' })),
      encodeHeader(h({ path: '.wh.never-existed' })),
      encodeHeader(h({ path: 'missing-parent/.wh.x' })),
      END_OF_ARCHIVE,
    ]);
    await fsp.writeFile(join(base, 'l.tar'), tar);
    await applyLayer(join(base, 'l.tar'), root);
    const paths = (await snapshot(root)).map((e) => e.path);
    expect(paths).toEqual(['dir', 'dir/sub', 'dir/sub/new', 'other']);
  });
});
