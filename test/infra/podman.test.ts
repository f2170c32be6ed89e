/**
 * Podman with private storage: import the busybox rootfs, run it, save → load into a second store.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountsUnder, processesReferencing } from '../helpers/dockerd.js';
import { PODMAN_TOOLS, type Podman, createPodman } from '../helpers/podman.js';
import { requires } from '../helpers/requirements.js';
import { BUSYBOX_ROOTFS_TOOLS, makeBusyboxRootfs } from './rootfs.js';

describe.skipIf(!requires({ root: true, tools: [...PODMAN_TOOLS, ...BUSYBOX_ROOTFS_TOOLS] }))('podman with private storage', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'obox-infra-podman-'));
  let p: Podman;
  let p2: Podman;
  let rootfs: string;

  beforeAll(async () => {
    rootfs = await makeBusyboxRootfs(path.join(tmp, 'busybox.tar'));
    p = createPodman();
    p2 = createPodman({ storageDriver: 'vfs' });
  });
  afterAll(async () => {
    await p?.stop();
    await p2?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('imports the busybox rootfs and runs it', async () => {
    const id = await p.importRootfs(rootfs, 'obox-test/busybox:latest');
    expect(id).toMatch(/^(sha256:)?[0-9a-f]{64}$/);
    const r = await p.podmanOk(['run', '--rm', '--network', 'none', 'obox-test/busybox:latest', 'echo', 'ok']);
    expect(r.stdout).toBe('ok\n');
    const who = await p.podmanOk(['run', '--rm', '--network', 'none', '--user', 'app', 'obox-test/busybox:latest', 'id', '-u']);
    expect(who.stdout).toBe('1000\n');
  });

  it('podman save (docker-archive) → podman load into another store → run', async () => {
    const archive = path.join(tmp, 'busybox-docker-archive.tar');
    await p.podmanOk(['save', '--format', 'docker-archive', '-o', archive, 'obox-test/busybox:latest']);
    const load = await p2.podmanOk(['load', '-i', archive]);
    expect(load.stdout).toMatch(/Loaded image.*obox-test\/busybox:latest/);
    const r = await p2.podmanOk(['run', '--rm', '--network', 'none', 'obox-test/busybox:latest', 'sh', '-c', 'echo loaded']);
    expect(r.stdout).toBe('loaded\n');
  });

  it('stop() leaves no processes, mounts or files', async () => {
    await p.podmanOk(['run', '-d', '--network', 'none', 'obox-test/busybox:latest', 'sleep', '1000']);
    expect(mountsUnder(p.dir).length).toBeGreaterThan(0);
    await p.stop();
    expect(processesReferencing(p.dir)).toEqual([]);
    expect(mountsUnder(p.dir)).toEqual([]);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(p.dir);
    expect(existsSync(p.dir)).toBe(false);
  }, 60_000);
});
