/**
 * Debian minbase rootfs (mmdebstrap, from Debian's mirror — no registry) imported into a private
 * dockerd and run. The first run of the day builds the rootfs (~15 s here); later runs use the cache
 * in $OBOX_TEST_CACHE (see native-scripts/make-rootfs-debian.sh).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKERD_TOOLS, type Dockerd, startDockerd } from '../helpers/dockerd.js';
import { requires } from '../helpers/requirements.js';
import { DEBIAN_ROOTFS_TOOLS, makeDebianRootfs } from './rootfs.js';

describe.skipIf(!requires({ root: true, tools: [...DOCKERD_TOOLS, ...DEBIAN_ROOTFS_TOOLS, 'setpriv'] }))('Debian minbase rootfs in docker', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'obox-infra-deb-'));
  let d: Dockerd;

  beforeAll(async () => {
    d = await startDockerd();
  });
  afterAll(async () => {
    await d?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('mmdebstrap → docker import → docker run cat /etc/debian_version', async () => {
    let t = Date.now();
    const tar = await makeDebianRootfs(path.join(tmp, 'debian.tar'));
    console.log(`debian rootfs in ${Date.now() - t} ms`);
    t = Date.now();
    await d.importRootfs(tar, 'obox-test/debian:bookworm');
    console.log(`docker import in ${Date.now() - t} ms`);
    const r = await d.dockerOk(['run', '--rm', '--network', 'none', 'obox-test/debian:bookworm', 'cat', '/etc/debian_version']);
    expect(r.stdout).toMatch(/^12\.\d+\n$/);
    const sh = await d.dockerOk(['run', '--rm', '--network', 'none', 'obox-test/debian:bookworm', 'sh', '-c', "dpkg-query -W -f='${Package}\\n' dpkg apt; id -un"]);
    expect(sh.stdout).toBe('apt\ndpkg\nroot\n');
  }, 180_000);
});
