/**
 * Real overlay mounts (root): what the merged view shows, what lands in the upper dir, deep layer
 * chains through short links, and that every way out (unmount, failure, abort, the cleanup
 * registry) leaves nothing mounted and nothing on disk.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, OboxError } from '../../../src/errors.js';
import { pendingCleanups, runCleanups } from '../../../src/executor/cleanup.js';
import {
  findMountsUnder,
  kernelMounter,
  mountOverlay,
  readMountInfo,
  unmountAllUnder,
  type OverlayMount,
  type OverlayMountOptions,
  type OverlayMounter,
  type UnmountResult,
} from '../../../src/executor/overlay/index.js';
import { requires } from '../../helpers/requirements.js';
import { findXattrs, getXattr, makeLayer, makeLayerChain, sh, useTmp } from './helpers.js';

/** The kernel mounter, recording what each unmount call returned ("busy", "lazy:unmounted", …). */
function recordingMounter(): OverlayMounter & { results: string[] } {
  const results: string[] = [];
  return {
    name: 'recording',
    results,
    mount: (req) => kernelMounter.mount(req),
    async unmount(target, opts): Promise<UnmountResult> {
      const r = await kernelMounter.unmount(target, opts);
      results.push(opts?.lazy ? `lazy:${r}` : r);
      return r;
    },
  };
}

const canMount = requires({ root: true, tools: ['mount', 'umount', 'getfattr', 'mv', 'sync'] });

describe.skipIf(!canMount)('mountOverlay', () => {
  const tmp = useTmp();

  /** Mounts, runs `body`, and always unmounts (removing everything) afterwards. */
  async function withMount<T>(opts: Partial<OverlayMountOptions> & { layers: readonly string[] }, body: (m: OverlayMount) => Promise<T>): Promise<T> {
    const m = await mountOverlay({ stateDir: path.join(tmp.dir, 'state'), ...opts });
    try {
      return await body(m);
    } finally {
      await m.unmount();
    }
  }

  async function threeLayers(): Promise<string[]> {
    return [
      await makeLayer(path.join(tmp.dir, 'l0'), { f: 'zero', only0: 'zero', 'd/x': 'x0', 'd/y': 'y0' }),
      await makeLayer(path.join(tmp.dir, 'l1'), { f: 'one', only1: 'one', 'd/x': 'x1' }),
      await makeLayer(path.join(tmp.dir, 'l2'), { f: 'two' }),
    ];
  }

  it('shows the topmost version of each file from three overlapping layers', async () => {
    const layers = await threeLayers();
    await withMount({ layers }, async (m) => {
      const read = (rel: string): Promise<string> => fsp.readFile(path.join(m.target, rel), 'utf8');
      expect(await read('f')).toBe('two');
      expect(await read('only0')).toBe('zero');
      expect(await read('only1')).toBe('one');
      expect(await read('d/x')).toBe('x1');
      expect(await read('d/y')).toBe('y0');
      expect((await fsp.readdir(m.target)).sort()).toEqual(['d', 'f', 'only0', 'only1']);
      expect(await fsp.readdir(m.upperDir!)).toEqual([]);
      // The option string is the plain-diff one, and the kernel took it.
      expect(m.data).toMatch(/redirect_dir=nofollow,metacopy=off,index=off/);
      const info = (await readMountInfo()).find((i) => i.mountPoint === m.target);
      expect(info?.fsType).toBe('overlay');
      // mount(8) shows one lowerdir=a:b:c; the new mount API (fsconfig lowerdir+) one per layer.
      const one = `lowerdir=${layers[2]}:${layers[1]}:${layers[0]}`;
      const each = `lowerdir+=${layers[2]},lowerdir+=${layers[1]},lowerdir+=${layers[0]}`;
      expect([one, each].some((form) => info?.superOptions.includes(form))).toBe(true);
    });
  });

  it('puts writes in the upper dir and leaves the lower dirs alone', async () => {
    const layers = await threeLayers();
    await withMount({ layers }, async (m) => {
      await fsp.writeFile(path.join(m.target, 'new'), 'new');
      await fsp.writeFile(path.join(m.target, 'only0'), 'changed');
      await fsp.mkdir(path.join(m.target, 'd', 'sub'));
      expect(await fsp.readFile(path.join(m.upperDir!, 'new'), 'utf8')).toBe('new');
      expect(await fsp.readFile(path.join(m.upperDir!, 'only0'), 'utf8')).toBe('changed');
      expect((await fsp.stat(path.join(m.upperDir!, 'd', 'sub'))).isDirectory()).toBe(true);
      // Copy-up of the parent dir only, not of its other entries.
      expect(await fsp.readdir(path.join(m.upperDir!, 'd'))).toEqual(['sub']);
      expect(await fsp.readFile(path.join(layers[0]!, 'only0'), 'utf8')).toBe('zero');
    });
  });

  it('records a deleted lower file as a 0:0 character device whiteout', async () => {
    const layers = await threeLayers();
    await withMount({ layers }, async (m) => {
      await fsp.rm(path.join(m.target, 'only1'));
      await fsp.rm(path.join(m.target, 'd', 'y'));
      for (const rel of ['only1', 'd/y']) {
        const st = await fsp.lstat(path.join(m.upperDir!, rel));
        expect(st.isCharacterDevice(), rel).toBe(true);
        expect(st.rdev, rel).toBe(0);
      }
      await expect(fsp.stat(path.join(m.target, 'only1'))).rejects.toThrow(/ENOENT/);
    });
  });

  it('records a replaced lower dir as an opaque dir', async () => {
    const layers = await threeLayers();
    await withMount({ layers }, async (m) => {
      await fsp.rm(path.join(m.target, 'd'), { recursive: true });
      await fsp.mkdir(path.join(m.target, 'd'));
      await fsp.writeFile(path.join(m.target, 'd', 'fresh'), 'fresh');
      expect(getXattr(path.join(m.upperDir!, 'd'), 'trusted.overlay.opaque')).toBe('y');
      expect(await fsp.readdir(path.join(m.target, 'd'))).toEqual(['fresh']);
      expect(m.xattrNamespace).toBe('trusted');
    });
  });

  it('copies a renamed lower dir up in full instead of writing a redirect', async () => {
    const layers = await threeLayers();
    await withMount({ layers }, async (m) => {
      // redirect_dir=nofollow: rename(2) of a merged dir from a lower layer refuses with EXDEV…
      await expect(fsp.rename(path.join(m.target, 'd'), path.join(m.target, 'd2'))).rejects.toThrow(/EXDEV/);
      // …so mv(1) copies and deletes, as it does across filesystems.
      const mv = sh('mv', [path.join(m.target, 'd'), path.join(m.target, 'd2')]);
      expect(mv.status, mv.stderr).toBe(0);
      expect(getXattr(path.join(m.upperDir!, 'd2'), 'trusted.overlay.redirect')).toBeUndefined();
      expect((await fsp.readdir(path.join(m.upperDir!, 'd2'))).sort()).toEqual(['x', 'y']);
      expect(await fsp.readFile(path.join(m.upperDir!, 'd2', 'y'), 'utf8')).toBe('y0');
      expect((await fsp.lstat(path.join(m.upperDir!, 'd'))).isCharacterDevice()).toBe(true);
      // metacopy=off: a chmod copies the data up too.
      await fsp.chmod(path.join(m.target, 'only0'), 0o600);
      expect(await fsp.readFile(path.join(m.upperDir!, 'only0'), 'utf8')).toBe('zero');
      // (origin and impure xattrs may appear: harmless bookkeeping the layer writer drops.)
      expect(findXattrs(m.upperDir!, '^trusted\\.overlay\\.(redirect|metacopy)$')).toEqual([]);
    });
  });

  it('mounts FROM scratch (no layers) on an empty lower dir', async () => {
    await withMount({ layers: [] }, async (m) => {
      expect(await fsp.readdir(m.target)).toEqual([]);
      await fsp.writeFile(path.join(m.target, 'hello'), 'hi');
      expect(await fsp.readdir(m.upperDir!)).toEqual(['hello']);
      expect(m.data).toContain(`lowerdir=${path.join(m.stateDir, 'empty-0')},`);
    });
  });

  it('gives a read-only view of a single layer', async () => {
    const layer = await makeLayer(path.join(tmp.dir, 'only'), { a: 'A' });
    await withMount({ layers: [layer], readOnly: true }, async (m) => {
      expect(m.upperDir).toBeUndefined();
      expect(await fsp.readFile(path.join(m.target, 'a'), 'utf8')).toBe('A');
      await expect(fsp.writeFile(path.join(m.target, 'b'), 'B')).rejects.toThrow(/EROFS/);
    });
    expect(await fsp.readdir(tmp.dir)).toEqual(['only']);
  });

  it.each([120, 300, 500])('stacks %i layers through short links and shows each layer', async (count) => {
    const layers = await makeLayerChain(path.join(tmp.dir, 'store'), count);
    const linksDir = path.join(tmp.dir, 'store', 'l');
    await withMount({ layers, linksDir, stateDir: path.join(tmp.dir, 'store', 'tmp', 'step-1') }, async (m) => {
      expect(m.cwd).toBe(linksDir);
      expect(Buffer.byteLength(m.data)).toBeLessThan(4096);
      expect(await fsp.readFile(path.join(m.target, 'top'), 'utf8')).toBe(String(count - 1));
      const names = await fsp.readdir(m.target);
      expect(names).toHaveLength(count + 1);
      for (let i = 0; i < count; i++) expect(await fsp.readFile(path.join(m.target, `f${i}`), 'utf8')).toBe(String(i));
      await fsp.writeFile(path.join(m.target, 'f0'), 'changed');
      expect(await fsp.readdir(m.upperDir!)).toEqual(['f0']);
    });
    expect(await fsp.readdir(linksDir)).toHaveLength(count);
  });

  it('reuses the same links for the next mount of the same chain', async () => {
    const layers = await makeLayerChain(path.join(tmp.dir, 'store'), 5);
    const linksDir = path.join(tmp.dir, 'store', 'l');
    const first = await withMount({ layers, linksDir, links: 'always' }, async (m) => m.data);
    const second = await withMount({ layers, linksDir, links: 'always' }, async (m) => m.data);
    expect(second).toBe(first);
    expect(await fsp.readdir(linksDir)).toHaveLength(5);
  });

  it('refuses 501 layers before mounting, and leaves nothing behind', async () => {
    const layers = Array.from({ length: 501 }, (_, i) => path.join(tmp.dir, `layer-${i}`));
    const err = await mountOverlay({ layers, stateDir: path.join(tmp.dir, 'state'), linksDir: path.join(tmp.dir, 'l') }).catch((e: unknown) => e);
    if (!(err instanceof Error)) await (err as OverlayMount).unmount();
    expect((err as OboxError).code).toBe(ErrorCodes.environment);
    expect((err as OboxError).message).toMatch(/kernel's limit is 500/);
    await expect(fsp.stat(path.join(tmp.dir, 'state'))).rejects.toThrow(/ENOENT/);
  });

  it('unmounts once, however often unmount() is called, and removes what it made', async () => {
    const layers = await threeLayers();
    const m = await mountOverlay({ layers, stateDir: path.join(tmp.dir, 'state') });
    await fsp.writeFile(path.join(m.target, 'new'), 'x');
    expect(m.mounted).toBe(true);
    expect(pendingCleanups()).toBe(1);
    await Promise.all([m.unmount(), m.unmount()]);
    await m.unmount();
    expect(m.mounted).toBe(false);
    expect(pendingCleanups()).toBe(0);
    expect(await findMountsUnder(tmp.dir)).toEqual([]);
    await expect(fsp.stat(m.stateDir)).rejects.toThrow(/ENOENT/);
  });

  it('keeps the upper dir when asked, removing the work dir (mode 000 inside) and the rest', async () => {
    const layers = await threeLayers();
    const m = await mountOverlay({ layers, stateDir: path.join(tmp.dir, 'state') });
    try {
      await fsp.writeFile(path.join(m.target, 'new'), 'x');
      await fsp.rm(path.join(m.target, 'f'));
      expect((await fsp.stat(path.join(m.workDir!, 'work'))).mode & 0o777).toBe(0);
      await m.unmount({ keepUpper: true });
    } finally {
      await m.unmount(); // after a successful keepUpper unmount this does nothing
    }
    expect(await fsp.readdir(m.stateDir)).toEqual(['upper']);
    expect((await fsp.readdir(m.upperDir!)).sort()).toEqual(['f', 'new']);
  });

  it('mounts volatile by default and not when asked', async () => {
    const layers = await threeLayers();
    await withMount({ layers }, async (m) => {
      expect(m.volatile).toBe(true);
      const info = (await readMountInfo()).find((i) => i.mountPoint === m.target);
      expect(info?.superOptions).toMatch(/(^|,)(fsync=)?volatile(,|$)/); // 6.x shows fsync=volatile
    });
    await withMount({ layers, volatile: false }, async (m) => {
      const info = (await readMountInfo()).find((i) => i.mountPoint === m.target);
      expect(info?.superOptions).not.toMatch(/volatile/);
    });
  });

  it('keeps overlay xattrs in user.* with userxattr (rootless mode)', async () => {
    const layers = await threeLayers();
    await withMount({ layers, rootless: true }, async (m) => {
      expect(m.data).toContain(',userxattr');
      await fsp.rm(path.join(m.target, 'd'), { recursive: true });
      await fsp.mkdir(path.join(m.target, 'd'));
      expect(m.xattrNamespace).toBe('user');
      expect(getXattr(path.join(m.upperDir!, 'd'), 'user.overlay.opaque')).toBe('y');
      expect(getXattr(path.join(m.upperDir!, 'd'), 'trusted.overlay.opaque')).toBeUndefined();
    });
  });

  it('waits for a busy mount to be released', async () => {
    const layers = await threeLayers();
    const mounter = recordingMounter();
    const m = await mountOverlay({ layers, stateDir: path.join(tmp.dir, 'state'), mounter, busyRetryDelaysMs: [100, 200, 400, 800, 1600] });
    const holder = spawn('sleep', ['30'], { cwd: m.target, stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100));
      setTimeout(() => holder.kill(), 300);
      await m.unmount({ keepUpper: true });
      expect(mounter.results[0]).toBe('busy');
      expect(mounter.results.at(-1)).toBe('unmounted');
      expect(await fsp.readdir(m.stateDir)).toEqual(['upper']);
    } finally {
      holder.kill();
      await m.unmount();
    }
  });

  it('detaches lazily as a last resort, and then refuses to keep the upper dir', async () => {
    const layers = await threeLayers();
    const mounter = recordingMounter();
    const m = await mountOverlay({ layers, stateDir: path.join(tmp.dir, 'state'), mounter, busyRetryDelaysMs: [20, 20] });
    const holder = spawn('sleep', ['30'], { cwd: m.target, stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const err = await m.unmount({ keepUpper: true }).catch((e: unknown) => e);
      expect(mounter.results).toEqual(['busy', 'busy', 'busy', 'lazy:unmounted']);
      expect((err as OboxError).message).toMatch(/detached lazily; its upper dir cannot be trusted/);
      expect(await findMountsUnder(tmp.dir)).toEqual([]);
      expect(m.mounted).toBe(true); // not done: a later unmount() removes the rest
    } finally {
      holder.kill();
      await m.unmount();
    }
    await expect(fsp.stat(m.stateDir)).rejects.toThrow(/ENOENT/);
  });

  it('mounts at a target outside the state dir, removing it only if it made it', async () => {
    const layers = await threeLayers();
    const made = path.join(tmp.dir, 'targets', 'made');
    await withMount({ layers, target: made }, async (m) => {
      expect(m.target).toBe(made);
      expect(await fsp.readFile(path.join(made, 'f'), 'utf8')).toBe('two');
    });
    await expect(fsp.stat(made)).rejects.toThrow(/ENOENT/);
    const existing = path.join(tmp.dir, 'targets', 'existing');
    await fsp.mkdir(existing);
    await withMount({ layers, target: existing }, async () => undefined);
    expect(await fsp.readdir(path.join(tmp.dir, 'targets'))).toEqual(['existing']);
  });

  it('unmounts what was mounted inside the merged view first', async () => {
    const layers = await threeLayers();
    await withMount({ layers }, async (m) => {
      await fsp.mkdir(path.join(m.target, 'd', 'tmp'));
      const r = sh('mount', ['-t', 'tmpfs', 'tmpfs', path.join(m.target, 'd', 'tmp')]);
      expect(r.status, r.stderr).toBe(0);
      expect(await findMountsUnder(m.target)).toHaveLength(2);
    });
    expect(await findMountsUnder(tmp.dir)).toEqual([]);
  });

  it('cleans up through the process-wide registry (what the CLI runs on SIGINT/SIGTERM)', async () => {
    const layers = await threeLayers();
    const a = await mountOverlay({ layers, stateDir: path.join(tmp.dir, 'a') });
    const b = await mountOverlay({ layers, stateDir: path.join(tmp.dir, 'b') });
    expect(await findMountsUnder(tmp.dir)).toHaveLength(2);
    await runCleanups();
    expect(await findMountsUnder(tmp.dir)).toEqual([]);
    expect(a.mounted || b.mounted).toBe(false);
    expect((await fsp.readdir(tmp.dir)).sort()).toEqual(['l0', 'l1', 'l2']);
  });

  it('undoes everything when aborted', async () => {
    const layers = await threeLayers();
    const ac = new AbortController();
    ac.abort();
    const err = await mountOverlay({ layers, stateDir: path.join(tmp.dir, 'state'), signal: ac.signal }).catch((e: unknown) => e);
    expect((err as OboxError).code).toBe(ErrorCodes.interrupted);
    await expect(fsp.stat(path.join(tmp.dir, 'state'))).rejects.toThrow(/ENOENT/);
  });

  it('reports a missing layer dir before mounting', async () => {
    const err = await mountOverlay({ layers: [path.join(tmp.dir, 'nope')], stateDir: path.join(tmp.dir, 'state') }).catch((e: unknown) => e);
    expect((err as OboxError).code).toBe(ErrorCodes.store);
    expect(pendingCleanups()).toBe(0);
    expect(await fsp.readdir(tmp.dir)).toEqual([]);
  });

  it("reports the kernel's reason when the mount fails", async () => {
    // procfs refuses to be stacked on ("overlayfs: maximum fs stacking depth exceeded").
    const err = await mountOverlay({ layers: ['/proc'], stateDir: path.join(tmp.dir, 'state') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OboxError);
    expect((err as OboxError).code).toBe(ErrorCodes.environment);
    expect((err as OboxError).message).toMatch(/^overlay mount at \S+ failed: overlayfs?: \S/);
    expect(await fsp.readdir(tmp.dir)).toEqual([]);
    expect(pendingCleanups()).toBe(0);
  });

  it('mounts a chain that holds the same layer twice (overlay alone would refuse)', async () => {
    const [l0, l1] = await threeLayers();
    await withMount({ layers: [l0!, l1!, l0!] }, async (m) => {
      expect(await fsp.readFile(path.join(m.target, 'f'), 'utf8')).toBe('zero');
      expect(await fsp.readFile(path.join(m.target, 'd/x'), 'utf8')).toBe('x0');
      expect(await fsp.readFile(path.join(m.target, 'only1'), 'utf8')).toBe('one');
      expect(m.data).toContain(`lowerdir=${l0}:${l1},`);
    });
  });

  it('refuses a state dir that is not empty, and a target that is already a mount point', async () => {
    const state = path.join(tmp.dir, 'state');
    await makeLayer(state, { precious: 'keep me' });
    await expect(mountOverlay({ layers: [], stateDir: state })).rejects.toThrow(/is not empty/);
    expect(await fsp.readFile(path.join(state, 'precious'), 'utf8')).toBe('keep me');
    await withMount({ layers: [], stateDir: path.join(tmp.dir, 'first') }, async (m) => {
      await expect(mountOverlay({ layers: [], stateDir: path.join(tmp.dir, 'other'), target: m.target })).rejects.toThrow(/already mounted/);
    });
  });

  it('finds and removes mounts a crashed run left behind', async () => {
    const layers = await threeLayers();
    // No registry entry and no unmount: as if the process had died.
    await mountOverlay({ layers, stateDir: path.join(tmp.dir, 'crashed', 'a'), registerCleanup: false });
    await mountOverlay({ layers, stateDir: path.join(tmp.dir, 'crashed', 'b'), registerCleanup: false });
    const left = await findMountsUnder(path.join(tmp.dir, 'crashed'));
    expect(left.map((m) => m.fsType)).toEqual(['overlay', 'overlay']);
    const report = await unmountAllUnder(path.join(tmp.dir, 'crashed'));
    expect(report.unmounted).toHaveLength(2);
    expect(report.lazy).toEqual([]);
    expect(await findMountsUnder(tmp.dir)).toEqual([]);
  });
});
