/**
 * dir → tar → dir keeps everything a layer must carry, checked against the real filesystem and
 * against GNU tar as an independent reader and writer.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { native } from '../../src/layer/native.js';
import { planDirectory, unpackLayer } from '../../src/layer/index.js';
import { requires } from '../helpers/requirements.js';
import { layerFile, listLayer, sh, sha256File, snapshot, useScratch } from './helpers.js';

const LONG_DIRS = ['a'.repeat(95), 'b'.repeat(95), 'c'.repeat(95)];
const LONG_PATH = `${LONG_DIRS.join('/')}/${'f'.repeat(30)}.txt`; // 318 bytes
const LONG_TARGET = `../${'t'.repeat(117)}`; // 120 bytes
const NON_ASCII = 'ünïcode-名前.txt';

/** A tree with every kind of thing a layer carries. */
async function buildTree(root: string): Promise<void> {
  const p = (rel: string): string => join(root, rel);
  await fsp.mkdir(p('sub'), { recursive: true });
  await fsp.writeFile(p('plain.txt'), 'hello\n');
  await fsp.writeFile(p('empty'), '');
  await fsp.writeFile(p('big.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a));
  await fsp.writeFile(p(NON_ASCII), 'unicode\n');
  await fsp.mkdir(p('empty-dir'));

  // File capabilities on a copy of a real binary.
  await fsp.mkdir(p('bin'));
  await fsp.copyFile('/bin/true', p('bin/ping'));
  await fsp.chmod(p('bin/ping'), 0o755);
  sh('setcap', ['cap_net_raw+ep', p('bin/ping')]);

  // A hardlink pair (the later path in byte order becomes the hardlink entry).
  await fsp.writeFile(p('hard-a'), 'linked\n');
  await fsp.link(p('hard-a'), p('sub/hard-b'));

  // Devices and a fifo.
  sh('mknod', [p('null'), 'c', '1', '3']);
  sh('mknod', [p('loop9'), 'b', '7', '9']);
  sh('mkfifo', [p('fifo')]);

  // Long path and long symlink target.
  await fsp.mkdir(p(LONG_DIRS.join('/')), { recursive: true });
  await fsp.writeFile(p(LONG_PATH), 'deep\n');
  await fsp.symlink(LONG_TARGET, p('long-link'));
  await fsp.symlink('plain.txt', p('short-link'));

  // setuid / setgid / sticky.
  await fsp.writeFile(p('suid'), '#!/bin/sh\n');
  await fsp.chmod(p('suid'), 0o4755);
  await fsp.writeFile(p('sgid'), '#!/bin/sh\n');
  await fsp.chmod(p('sgid'), 0o2711);
  await fsp.mkdir(p('sgid-dir'));
  await fsp.chmod(p('sgid-dir'), 0o2775);
  await fsp.mkdir(p('tmp'));
  await fsp.chmod(p('tmp'), 0o1777);

  // xattrs.
  native().lsetxattr(p('plain.txt'), 'user.foo', Buffer.from('bar'), 0);
  native().lsetxattr(p('sub'), 'user.dir-attr', Buffer.from([0, 1, 2, 255]), 0);

  // Ownership (chown before the capability would clear it: set ids on other files).
  await fsp.writeFile(p('owned'), 'mine\n');
  await fsp.lchown(p('owned'), 1234, 5678);
  await fsp.chmod(p('owned'), 0o640);
  await fsp.lchown(p('short-link'), 1234, 5678);
  await fsp.lchown(p('sgid-dir'), 1234, 5678);
  await fsp.chmod(p('sgid-dir'), 0o2775);

  // Distinct, fixed mtimes everywhere (children before parents).
  let t = 1_600_000_000;
  async function stamp(dir: string): Promise<void> {
    for (const name of (await fsp.readdir(dir)).sort()) {
      const child = join(dir, name);
      if ((await fsp.lstat(child)).isDirectory()) await stamp(child);
      await fsp.lutimes(child, t, t);
      t += 1000;
    }
  }
  await stamp(root);
}

describe.skipIf(!requires({ root: true, tools: ['setcap', 'getcap', 'getfattr', 'mknod', 'mkfifo', 'tar'] }))('layer round trip', () => {
  const scratch = useScratch();

  it('dir → tar → dir preserves everything', async () => {
    const base = await scratch.dir('roundtrip');
    const src = join(base, 'src');
    await fsp.mkdir(src);
    await buildTree(src);
    const layer = join(base, 'layer.tar.gz');
    const result = await layerFile(src, layer);
    expect(result.digest).toBe(sha256File(layer));
    expect(result.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');

    const dst = join(base, 'dst');
    const unpacked = await unpackLayer(layer, dst);
    expect(unpacked.diffId).toBe(result.diffId);
    expect(unpacked.digest).toBe(result.digest);
    expect(unpacked.uncompressedSize).toBe(result.uncompressedSize);

    expect(await snapshot(dst)).toEqual(await snapshot(src));

    // Independent checks of the things most easily lost.
    expect(sh('getcap', [join(dst, 'bin/ping')]).stdout).toMatch(/cap_net_raw[=+]ep/);
    expect(sh('getfattr', ['--only-values', '-n', 'user.foo', join(dst, 'plain.txt')]).stdout).toBe('bar');
    const a = await fsp.stat(join(dst, 'hard-a'));
    const b = await fsp.stat(join(dst, 'sub/hard-b'));
    expect(a.ino).toBe(b.ino);
    expect(a.nlink).toBe(2);
    expect(await fsp.readlink(join(dst, 'long-link'))).toBe(LONG_TARGET);
    expect(await fsp.readFile(join(dst, LONG_PATH), 'utf8')).toBe('deep\n');
    const owned = await fsp.lstat(join(dst, 'owned'));
    expect([owned.uid, owned.gid]).toEqual([1234, 5678]);
  });

  it('writes entries sorted by path, numeric ids, no names, hardlinks after their file', async () => {
    const base = await scratch.dir('entries');
    const src = join(base, 'src');
    await fsp.mkdir(src);
    await buildTree(src);
    const headers = await planDirectory(src);
    const paths = headers.map((h) => h.path);
    const sorted = [...paths].sort((x, y) => Buffer.compare(Buffer.from(x, 'latin1'), Buffer.from(y, 'latin1')));
    expect(paths).toEqual(sorted);
    const hard = headers.find((h) => h.path === 'sub/hard-b');
    expect(hard).toMatchObject({ type: 'hardlink', linkpath: 'hard-a', size: 0 });
    expect(headers.find((h) => h.path === 'hard-a')?.type).toBe('file');
    expect(headers.find((h) => h.path === 'owned')).toMatchObject({ uid: 1234, gid: 5678 });
    expect(headers.find((h) => h.path === 'null')).toMatchObject({ type: 'char', devMajor: 1, devMinor: 3 });
    expect(headers.find((h) => h.path === 'bin/ping')?.xattrs.map((x) => x.name)).toEqual(['security.capability']);
  });

  it('remaps ownership on the way out and on the way in', async () => {
    const base = await scratch.dir('remap');
    const src = join(base, 'src');
    await fsp.mkdir(join(src, 'd'), { recursive: true });
    await fsp.writeFile(join(src, 'd/f'), 'x');
    await fsp.lchown(join(src, 'd/f'), 100_1234, 100_5678);
    await fsp.symlink('f', join(src, 'd/l'));
    await fsp.lchown(join(src, 'd/l'), 100_0000, 100_0000);
    const toImage = (uid: number, gid: number) => ({ uid: uid >= 100_0000 ? uid - 100_0000 : uid, gid: gid >= 100_0000 ? gid - 100_0000 : gid });
    const layer = join(base, 'l.tgz');
    await layerFile(src, layer, { mapOwner: toImage });
    expect((await listLayer(layer)).map((h) => [h.path, h.uid, h.gid])).toEqual([
      ['d/', 0, 0],
      ['d/f', 1234, 5678],
      ['d/l', 0, 0],
    ]);
    const dst = join(base, 'dst');
    await unpackLayer(layer, dst, { mapOwner: (uid, gid) => ({ uid: uid + 200_000, gid: gid + 200_000 }) });
    const ids = async (rel: string) => {
      const st = await fsp.lstat(join(dst, rel));
      return [st.uid, st.gid];
    };
    expect(await ids('d')).toEqual([200_000, 200_000]);
    expect(await ids('d/f')).toEqual([201_234, 205_678]);
    expect(await ids('d/l')).toEqual([200_000, 200_000]);
  });

  it('keeps file names that are not UTF-8, byte for byte', async () => {
    const base = await scratch.dir('bytes');
    const src = join(base, 'src');
    await fsp.mkdir(src);
    const name = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x74]); // "f\xff\xfe.t"
    await fsp.writeFile(Buffer.concat([Buffer.from(`${src}/`), name]), 'latin');
    await fsp.symlink(name, Buffer.concat([Buffer.from(`${src}/`), Buffer.from('link')]));
    const layer = join(base, 'l.tar');
    await layerFile(src, layer, { compression: 'none' });
    const dst = join(base, 'dst');
    await unpackLayer(layer, dst);
    const names = await fsp.readdir(dst, { encoding: 'buffer' });
    expect(names.some((n) => n.equals(name))).toBe(true);
    expect((await fsp.readlink(Buffer.from(`${dst}/link`), { encoding: 'buffer' })).equals(name)).toBe(true);
    // GNU tar reads the same name.
    const gnu = spawnSync('tar', ['-tf', layer, '--quoting-style=literal'], { encoding: 'buffer' });
    expect(gnu.stderr.toString()).toBe('');
    expect(gnu.stdout.includes(name)).toBe(true);
  });

  it('skips sockets', async () => {
    const base = await scratch.dir('socket');
    const src = join(base, 'src');
    await fsp.mkdir(src);
    await fsp.writeFile(join(src, 'keep'), 'x');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(src, 'sock'), resolve));
    try {
      expect((await fsp.lstat(join(src, 'sock'))).isSocket()).toBe(true);
      expect((await planDirectory(src)).map((h) => h.path)).toEqual(['keep']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('GNU tar lists and extracts what obox writes, identically', async () => {
    const base = await scratch.dir('gnutar');
    const src = join(base, 'src');
    await fsp.mkdir(src);
    await buildTree(src);
    const layer = join(base, 'layer.tar');
    const result = await layerFile(src, layer, { compression: 'none' });
    expect(result.digest).toBe(result.diffId);

    const list = spawnSync('tar', ['-tvf', layer, '--numeric-owner'], { encoding: 'utf8' });
    expect(list.stderr).toBe('');
    expect(list.status).toBe(0);
    const lines = list.stdout.split('\n');
    const line = (suffix: string): string | undefined => lines.find((l) => l.endsWith(` ${suffix}`));
    expect(line('sub/hard-b link to hard-a')).toMatch(/^hrw-r--r-- 0\/0/);
    expect(line('null')).toMatch(/^crw-r--r-- 0\/0 +1,3 /);
    expect(line('loop9')).toMatch(/^brw-r--r-- 0\/0 +7,9 /);
    expect(line('fifo')).toMatch(/^prw-r--r-- /);
    expect(line('suid')).toMatch(/^-rwsr-xr-x /);
    expect(line('sgid')).toMatch(/^-rwx--s--x /);
    expect(line('tmp/')).toMatch(/^drwxrwxrwt /);
    expect(line('owned')).toMatch(/^-rw-r----- 1234\/5678 /);
    expect(line(LONG_PATH)).toBeDefined();
    expect(line(`long-link -> ${LONG_TARGET}`)).toMatch(/^lrwxrwxrwx /);
    expect(line(NON_ASCII)).toBeDefined();

    const out = join(base, 'gnu-out');
    await fsp.mkdir(out);
    const x = spawnSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', layer, '-C', out], { encoding: 'utf8' });
    expect(x.stderr).toBe('');
    expect(x.status).toBe(0);
    expect(await snapshot(out)).toEqual(await snapshot(src));
  });

  it('unpacks what GNU tar writes (PAX with xattrs) identically', async () => {
    const base = await scratch.dir('gnutar-in');
    const src = join(base, 'src');
    await fsp.mkdir(src);
    await buildTree(src);
    const archive = join(base, 'gnu.tar');
    sh('tar', ['--xattrs', '--xattrs-include=*', '--format=pax', '--numeric-owner', '-cf', archive, '-C', src, '.']);
    const dst = join(base, 'dst');
    await unpackLayer(archive, dst);
    expect(await snapshot(dst)).toEqual(await snapshot(src));
    // GNU tar's PAX headers carry atime/ctime and its own header names; none of that leaks.
    expect((await listLayer(archive)).every((h) => !h.path.includes('PaxHeaders'))).toBe(true);
  });
});
