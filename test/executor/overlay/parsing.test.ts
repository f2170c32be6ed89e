/** mountinfo and kernel-log parsing, the cleanup registry, and tree removal (no mounts here). */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OboxError } from '../../../src/errors.js';
import { pendingCleanups, registerCleanup, runCleanups } from '../../../src/executor/cleanup.js';
import { parseOverlayMessages } from '../../../src/executor/overlay/kernel-log.js';
import { findMountsUnder, parseMountInfo, unescapeMountField } from '../../../src/executor/overlay/mountinfo.js';
import { makeTraversable, removeTree } from '../../../src/executor/overlay/remove-tree.js';
import { useTmp } from './helpers.js';

const MOUNTINFO = [
  '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard',
  '46 27 0:39 / /tmp/obox-x/s1/merged rw,relatime - overlay overlay rw,lowerdir=ab3de:q7x2z,upperdir=../s1/upper,workdir=../s1/work,uuid=on',
  '47 46 0:40 / /tmp/obox-x/s1/merged/proc rw shared:5 master:1 - proc proc rw',
  '48 27 0:41 / /tmp/obox-x/with\\040space rw - tmpfs tmpfs rw',
  '49 27 0:42 / /tmp/obox-xy rw - tmpfs tmpfs rw',
  '50 46 0:43 / /tmp/obox-x/s1/merged rw - tmpfs tmpfs rw',
  'garbage line',
].join('\n');

describe('mountinfo', () => {
  it('parses fields, optional fields and escapes', () => {
    const m = parseMountInfo(MOUNTINFO);
    expect(m).toHaveLength(6);
    expect(m[1]).toMatchObject({ id: 46, parentId: 27, device: '0:39', mountPoint: '/tmp/obox-x/s1/merged', fsType: 'overlay', source: 'overlay' });
    expect(m[1]!.superOptions).toContain('lowerdir=ab3de:q7x2z');
    expect(m[2]).toMatchObject({ mountPoint: '/tmp/obox-x/s1/merged/proc', fsType: 'proc' });
    expect(m[3]!.mountPoint).toBe('/tmp/obox-x/with space');
    expect(unescapeMountField('a\\011b\\012c\\134d')).toBe('a\tb\nc\\d');
  });

  it('finds mounts under a dir, deepest and newest first, not its name-prefixed siblings', async () => {
    const found = await findMountsUnder('/tmp/obox-x', parseMountInfo(MOUNTINFO));
    expect(found.map((m) => m.id)).toEqual([47, 50, 46, 48]);
  });

  it('reads the real mountinfo of this process', async () => {
    const root = await findMountsUnder('/');
    expect(root.some((m) => m.mountPoint === '/')).toBe(true);
  });
});

describe('kernel log', () => {
  it('keeps recent overlay lines only', () => {
    const dmesg = [
      '[  800.000000] overlayfs: old failure',
      '[  875.074538] overlayfs: failed to resolve \'nonexist\': -2',
      '[  875.080000] EXT4-fs (vda): something else',
      '[  876.000000] overlay: Bad value for \'redirect_dir\'',
    ].join('\n');
    expect(parseOverlayMessages(dmesg, 870)).toEqual(["overlayfs: failed to resolve 'nonexist': -2", "overlay: Bad value for 'redirect_dir'"]);
  });
});

describe('cleanup registry', () => {
  it('runs cleanups newest first, once each, and reports failures after running them all', async () => {
    const ran: string[] = [];
    registerCleanup(() => {
      ran.push('a');
    });
    const offB = registerCleanup(() => {
      ran.push('b');
    });
    registerCleanup(async () => {
      ran.push('c');
      throw new Error('c broke');
    });
    registerCleanup(() => {
      ran.push('d');
    });
    offB();
    offB();
    expect(pendingCleanups()).toBe(3);
    const err = await runCleanups().catch((e: unknown) => e);
    expect(ran).toEqual(['d', 'c', 'a']);
    expect(err).toBeInstanceOf(OboxError);
    expect((err as OboxError).message).toBe('cleanup failed: c broke');
    expect(pendingCleanups()).toBe(0);
    await runCleanups();
    expect(ran).toEqual(['d', 'c', 'a']);
  });

  it('joins a run that is under way', async () => {
    let calls = 0;
    registerCleanup(async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
    });
    await Promise.all([runCleanups(), runCleanups()]);
    expect(calls).toBe(1);
  });
});

describe('removeTree', () => {
  const tmp = useTmp('obox-rm-');

  it('removes trees with mode-000 dirs, as overlay leaves work/work', async () => {
    const work = path.join(tmp.dir, 'work');
    await fsp.mkdir(path.join(work, 'work', 'incompat', 'volatile'), { recursive: true });
    await fsp.writeFile(path.join(work, 'work', 'incompat', 'f'), 'x');
    await fsp.chmod(path.join(work, 'work', 'incompat', 'volatile'), 0);
    await fsp.chmod(path.join(work, 'work', 'incompat'), 0);
    await fsp.chmod(path.join(work, 'work'), 0);
    await makeTraversable(work);
    expect((await fsp.stat(path.join(work, 'work', 'incompat', 'volatile'))).mode & 0o777).toBe(0o700);
    await removeTree(work);
    await expect(fsp.stat(work)).rejects.toThrow(/ENOENT/);
    await removeTree(work); // gone already: fine
  });

  it('does not follow symlinks', async () => {
    const outside = path.join(tmp.dir, 'outside');
    await fsp.mkdir(outside);
    await fsp.chmod(outside, 0o500);
    const tree = path.join(tmp.dir, 'tree');
    await fsp.mkdir(tree);
    await fsp.symlink(outside, path.join(tree, 'link'));
    await makeTraversable(tree);
    expect((await fsp.stat(outside)).mode & 0o777).toBe(0o500);
    await removeTree(tree);
    expect((await fsp.stat(outside)).isDirectory()).toBe(true);
  });
});
