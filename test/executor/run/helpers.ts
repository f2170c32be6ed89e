/** A tiny busybox root filesystem and a private state directory per test, removed afterwards. */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { pendingCleanups } from '../../../src/executor/cleanup.js';
import { listContainers, selectRuntime } from '../../../src/executor/run/index.js';

export const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'];

export const APPLETS = [
  'sh', 'echo', 'id', 'cat', 'ls', 'hostname', 'sleep', 'env', 'mkdir', 'touch', 'pwd', 'grep',
  'stat', 'true', 'false', 'wc', 'sed', 'head', 'cut', 'sort', 'tr',
];

export const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n';
export const GROUP = 'root:x:0:\nnobody:x:65534:\napp:x:1000:\nextra:x:2000:app\n';

/** Debian's busybox-static: one static binary, so it runs in an otherwise empty root. */
async function findBusybox(): Promise<string> {
  for (const p of BUSYBOX) {
    try {
      await fsp.access(p);
      return p;
    } catch {
      // next
    }
  }
  throw new Error('busybox not found (apt-get install busybox-static)');
}

/** Makes a busybox image root: /bin with applet links, /etc/passwd and /etc/group, empty /proc /dev /sys /tmp. */
export async function makeBusyboxRootfs(root: string): Promise<void> {
  await fsp.mkdir(path.join(root, 'bin'), { recursive: true });
  await fsp.copyFile(await findBusybox(), path.join(root, 'bin/busybox'));
  await fsp.chmod(path.join(root, 'bin/busybox'), 0o755);
  for (const a of APPLETS) await fsp.symlink('busybox', path.join(root, 'bin', a));
  for (const d of ['etc', 'proc', 'dev', 'sys', 'root']) await fsp.mkdir(path.join(root, d), { mode: 0o755 });
  await fsp.mkdir(path.join(root, 'tmp'), { mode: 0o1777 });
  await fsp.chmod(path.join(root, 'tmp'), 0o1777);
  await fsp.writeFile(path.join(root, 'etc/passwd'), PASSWD);
  await fsp.writeFile(path.join(root, 'etc/group'), GROUP);
}

export interface Scratch {
  dir: string;
  rootfs: string;
  stateDir: string;
}

/**
 * A fresh temp dir per test with a busybox rootfs and a state dir. After each test: no container
 * is left in any runtime's state root, no bundle is left, and the temp dir is removed.
 */
export function useScratch(runtimes: string[] = ['runc']): Scratch {
  const s: Scratch = { dir: '', rootfs: '', stateDir: '' };
  beforeEach(async () => {
    s.dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'obox-run-test-'));
    await fsp.chmod(s.dir, 0o755);
    s.rootfs = path.join(s.dir, 'rootfs');
    s.stateDir = path.join(s.dir, 'state');
    await makeBusyboxRootfs(s.rootfs);
  });
  afterEach(async () => {
    try {
      for (const r of runtimes) {
        expect(await listContainers(selectRuntime({ runtime: r, stateDir: s.stateDir })), `${r} containers left`).toEqual([]);
      }
      const bundles = await fsp.readdir(path.join(s.stateDir, 'bundles')).catch(() => []);
      expect(bundles, 'bundle directories left').toEqual([]);
      expect(pendingCleanups(), 'cleanups left registered').toBe(0);
    } finally {
      await fsp.rm(s.dir, { recursive: true, force: true });
    }
  });
  return s;
}
