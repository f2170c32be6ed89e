/** The option string, its page limit, and how lower dirs are named in it (no mounts here). */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, OboxError } from '../../../src/errors.js';
import { layoutMount, shortest } from '../../../src/executor/overlay/layout.js';
import { LINK_ID_LENGTH, ensureLink, ensureLinks, linkId } from '../../../src/executor/overlay/links.js';
import {
  MAX_LOWER_DIRS,
  MAX_MOUNT_DATA_BYTES,
  buildMountData,
  checkMountDataFits,
  isPlainOptionPath,
} from '../../../src/executor/overlay/options.js';
import { storeLayerDir, useTmp } from './helpers.js';

describe('buildMountData', () => {
  it('lists lower dirs as given (topmost first) and always keeps the upper dir a plain diff', () => {
    expect(buildMountData({ lowers: ['/l/top', '/l/base'], upper: '/s/upper', work: '/s/work' })).toBe(
      'lowerdir=/l/top:/l/base,upperdir=/s/upper,workdir=/s/work,redirect_dir=nofollow,metacopy=off,index=off',
    );
  });

  it('adds userxattr when rootless and volatile only with an upper dir', () => {
    expect(buildMountData({ lowers: ['/a'], upper: '/u', work: '/w', userxattr: true, volatile: true })).toBe(
      'lowerdir=/a,upperdir=/u,workdir=/w,redirect_dir=nofollow,metacopy=off,index=off,userxattr,volatile',
    );
    expect(buildMountData({ lowers: ['/a', '/b'], volatile: true })).toBe('lowerdir=/a:/b,redirect_dir=nofollow,metacopy=off,index=off');
  });

  it('refuses an upper dir without a work dir', () => {
    expect(() => buildMountData({ lowers: ['/a'], upper: '/u' })).toThrow(OboxError);
  });

  it('knows which paths cannot go into the string', () => {
    expect(isPlainOptionPath('/var/lib/obox/layers-v1/sha256-abc')).toBe(true);
    for (const bad of ['/a,b', '/a:b', '/a\\b', '/a b', '/a\tb', '']) expect(isPlainOptionPath(bad), bad).toBe(false);
  });

  it('fails clearly past one page, counting bytes not characters', () => {
    expect(() => checkMountDataFits('x'.repeat(MAX_MOUNT_DATA_BYTES), 1)).not.toThrow();
    expect(() => checkMountDataFits('x'.repeat(MAX_MOUNT_DATA_BYTES + 1), 7)).toThrow(/7 layers take 4096 bytes; the kernel reads at most 4095/);
    expect(() => checkMountDataFits('é'.repeat(2048), 1)).toThrow(OboxError);
  });
});

describe('links', () => {
  const tmp = useTmp('obox-links-');

  it('derives short, stable ids from the layer path', () => {
    const a = linkId('/var/lib/obox/layers-v1/sha256-aaa');
    expect(a).toMatch(new RegExp(`^[a-z2-7]{${LINK_ID_LENGTH}}$`));
    expect(linkId('/var/lib/obox/layers-v1/sha256-aaa')).toBe(a);
    expect(linkId('/var/lib/obox/layers-v1/sha256-aaa', 1)).not.toBe(a);
    expect(linkId('/var/lib/obox/layers-v1/sha256-bbb')).not.toBe(a);
  });

  it('creates a link once and reuses it', async () => {
    const layer = path.join(tmp.dir, 'layer');
    await fsp.mkdir(layer);
    const links = path.join(tmp.dir, 'l');
    const id = await ensureLink(links, layer);
    expect(id).toBe(linkId(layer));
    expect(await fsp.readlink(path.join(links, id))).toBe(layer);
    expect(await ensureLink(links, layer)).toBe(id);
    expect(await fsp.readdir(links)).toEqual([id]);
  });

  it('moves on to the next id when a name is held by another layer, and keeps finding it', async () => {
    const links = path.join(tmp.dir, 'l');
    await fsp.mkdir(links);
    const layer = path.join(tmp.dir, 'layer');
    await fsp.symlink('/somewhere/else', path.join(links, linkId(layer, 0)));
    const id = await ensureLink(links, layer);
    expect(id).toBe(linkId(layer, 1));
    expect(await ensureLink(links, layer)).toBe(id);
    expect(await fsp.readlink(path.join(links, linkId(layer, 0)))).toBe('/somewhere/else');
  });

  it('gives racing creators of the same link the same id', async () => {
    const links = path.join(tmp.dir, 'l');
    const layer = path.join(tmp.dir, 'layer');
    const ids = await Promise.all(Array.from({ length: 20 }, () => ensureLink(links, layer)));
    expect(new Set(ids).size).toBe(1);
    expect(await fsp.readdir(links)).toHaveLength(1);
  });

  it('gives 500 layers 500 distinct links', async () => {
    const layers = Array.from({ length: 500 }, (_, i) => storeLayerDir(tmp.dir, i));
    const ids = await ensureLinks(path.join(tmp.dir, 'l'), layers);
    expect(new Set(ids).size).toBe(500);
  });
});

describe('layoutMount', () => {
  const tmp = useTmp('obox-layout-');

  function input(count: number, extra: Partial<Parameters<typeof layoutMount>[0]> = {}): Parameters<typeof layoutMount>[0] {
    const lowers = Array.from({ length: count }, (_, i) => storeLayerDir(tmp.dir, i)).reverse();
    const state = path.join(tmp.dir, 'tmp', 'step-0123456789abcdef');
    return { lowers, upper: path.join(state, 'upper'), work: path.join(state, 'work'), linksDir: path.join(tmp.dir, 'l'), volatile: true, ...extra };
  }

  it('uses absolute paths while they fit', async () => {
    const l = await layoutMount(input(3));
    expect(l.cwd).toBeUndefined();
    expect(l.linkIds).toEqual([]);
    expect(l.data).toContain(`lowerdir=${storeLayerDir(tmp.dir, 2)}:`);
  });

  it('switches to links relative to the links dir when they do not fit', async () => {
    const l = await layoutMount(input(120));
    expect(l.cwd).toBe(path.join(tmp.dir, 'l'));
    expect(l.linkIds).toHaveLength(120);
    expect(l.data.startsWith(`lowerdir=${l.linkIds.join(':')},upperdir=../tmp/step-0123456789abcdef/upper,`)).toBe(true);
  });

  it.each([120, 300, MAX_LOWER_DIRS])('keeps %i layers under a page', async (count) => {
    const l = await layoutMount(input(count, { userxattr: true }));
    expect(Buffer.byteLength(l.data)).toBeLessThan(4096);
    expect(l.linkIds).toHaveLength(count);
  });

  it('fails before mounting past the kernel stacking limit', async () => {
    const err = await layoutMount(input(MAX_LOWER_DIRS + 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OboxError);
    expect((err as OboxError).code).toBe(ErrorCodes.environment);
    expect((err as OboxError).message).toMatch(/501 overlay lower dirs: the kernel's limit is 500/);
  });

  it('fails clearly when even links do not fit', async () => {
    const deep = path.join(tmp.dir, 'x'.repeat(200), 'y'.repeat(200), 'z'.repeat(200));
    const long = path.join(deep, 'a'.repeat(250), 'b'.repeat(250), 'c'.repeat(250), 'd'.repeat(250));
    const err = await layoutMount(
      input(500, { upper: path.join(long, 'e'.repeat(250), 'upper'), work: path.join(long, 'f'.repeat(250), 'work') }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OboxError);
    expect((err as OboxError).message).toMatch(/the overlay mount options for 500 layers take \d+ bytes; the kernel reads at most 4095/);
  });

  it('without a links dir, reports that the absolute form does not fit', async () => {
    await expect(layoutMount(input(120, { linksDir: undefined }))).rejects.toThrow(/120 layers take \d+ bytes/);
  });

  it('routes lower dirs with unsafe characters through links, and refuses such an upper dir', async () => {
    const odd = path.join(tmp.dir, 'odd,name:x');
    const l = await layoutMount({ ...input(1), lowers: [odd] });
    expect(l.linkIds).toHaveLength(1);
    expect(await fsp.readlink(path.join(tmp.dir, 'l', l.linkIds[0]!))).toBe(odd);
    await expect(layoutMount({ ...input(1), upper: '/a b/upper' })).rejects.toThrow(/contains , : /);
    await expect(layoutMount({ ...input(1), lowers: [odd], linksDir: undefined })).rejects.toThrow(/no links dir/);
  });

  it('honours links: never and links: always', async () => {
    expect((await layoutMount(input(2, { links: 'always' }))).linkIds).toHaveLength(2);
    await expect(layoutMount(input(120, { links: 'never' }))).rejects.toThrow(/kernel reads at most 4095/);
  });

  it('writes upper and work dirs relative to the links dir only when shorter', () => {
    expect(shortest('/var/lib/obox/l', '/var/lib/obox/tmp/s/upper')).toBe('../tmp/s/upper');
    expect(shortest('/var/lib/obox/l', '/u')).toBe('/u');
  });
});
