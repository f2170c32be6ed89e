/**
 * The real consumers: Debian's dockerd (20.10) and podman load what obox writes and run it; what
 * `docker save` writes, obox loads with the same image ID, and writes back in a form docker loads.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/cache/store/index.js';
import type { Image } from '../../src/image/image.js';
import { layerFromUncompressed } from '../../src/image/layer.js';
import { appendLayer } from '../../src/image/mutate.js';
import { loadFile, writeDockerArchive, writeOciArchive } from '../../src/writers/index.js';
import { DOCKERD_TOOLS, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { createPodman, PODMAN_TOOLS, type Podman } from '../helpers/podman.js';
import { requires } from '../helpers/requirements.js';
import { imageOf, makeLayer, openStore, scratchDir, type Scratch } from './helpers.js';

const repoRoot = join(import.meta.dirname, '../..');

/** A busybox root filesystem image (one gzip layer) in a fresh store, plus a second image on top of it. */
async function busyboxImages(dir: string): Promise<{ store: Store; busybox: Image; derived: Image }> {
  const rootfs = join(dir, 'busybox.tar');
  await promisify(execFile)('bash', [join(repoRoot, 'native-scripts/make-rootfs-busybox.sh'), rootfs]);
  const layer = layerFromUncompressed({ open: async () => createReadStream(rootfs) });
  const store = await openStore(dir);
  await store.putImage(imageOf([layer], ['/bin/sh']), ['obox-test/busybox:1']);
  const busybox = await store.image('obox-test/busybox:1');
  const extra = await makeLayer(dir, 'greeting', { 'greeting.txt': 'hello from obox\n' });
  await store.putImage(appendLayer(busybox, extra.layer, { created_by: 'COPY greeting.txt /' }), ['obox-test/derived:1']);
  return { store, busybox, derived: await store.image('obox-test/derived:1') };
}

describe.skipIf(!requires({ root: true, tools: [...DOCKERD_TOOLS, 'bash', 'tar'] }))('docker load and docker run', () => {
  let dir: Scratch;
  let d: Dockerd;
  let busybox: Image;
  let derived: Image;

  beforeAll(async () => {
    dir = await scratchDir('obox-writers-docker-');
    ({ busybox, derived } = await busyboxImages(dir.path));
    d = await startDockerd();
  });

  afterAll(async () => {
    await d?.stop();
    await dir?.cleanup();
  });

  const idOf = async (name: string): Promise<string> => (await d.dockerOk(['image', 'inspect', '--format', '{{.Id}}', name])).stdout.trim();
  const runEcho = async (name: string, ...cmd: string[]): Promise<string> =>
    (await d.dockerOk(['run', '--rm', '--network', 'none', name, ...cmd])).stdout;

  it.each(['uncompressed', 'as-stored'] as const)('save (%s layers) → docker load → docker run echo ok', async (layers) => {
    const file = join(dir.path, `save-${layers}.tar`);
    await writeDockerArchive(
      [
        { image: busybox, names: ['obox-test/busybox:1'] },
        { image: derived, names: ['obox-test/derived:1', 'obox-test/derived:latest'] },
      ],
      file,
      { layers },
    );
    const loaded = await d.dockerOk(['load', '-i', file]);
    expect(loaded.stdout).toContain('Loaded image: obox-test/busybox:1');
    expect(loaded.stdout).toContain('Loaded image: obox-test/derived:latest');
    expect(await idOf('obox-test/busybox:1')).toBe(await busybox.configDigest());
    expect(await idOf('obox-test/derived:1')).toBe(await derived.configDigest());
    expect(await runEcho('obox-test/busybox:1', 'echo', 'ok')).toBe('ok\n');
    expect(await runEcho('obox-test/derived:1', 'cat', '/greeting.txt')).toBe('hello from obox\n');
    await d.dockerOk(['rmi', 'obox-test/busybox:1', 'obox-test/derived:1', 'obox-test/derived:latest']);
  });

  it('docker save → obox load keeps the image ID; obox writes it back and docker runs it', async () => {
    const rootfs = join(dir.path, 'busybox.tar');
    const id = await d.importRootfs(rootfs, 'obox-test/imported:1');
    await d.dockerOk(['tag', 'obox-test/imported:1', 'obox-test/imported:2']);
    const saved = join(dir.path, 'docker-save.tar');
    await d.dockerOk(['save', '-o', saved, 'obox-test/imported:1', 'obox-test/imported:2']);
    const dst = await openStore(dir.path, 'from-docker');
    const r = await loadFile(dst, saved);
    expect(r.format).toBe('docker-archive');
    expect(r.images.map((i) => i.configDigest)).toEqual([id]);
    expect([...(r.images[0]?.names ?? [])].sort()).toEqual(['docker.io/obox-test/imported:1', 'docker.io/obox-test/imported:2']);
    const image = await dst.image('obox-test/imported:1');
    expect(await image.configDigest()).toBe(id);

    await d.dockerOk(['rmi', 'obox-test/imported:1', 'obox-test/imported:2']);
    const back = join(dir.path, 'back.tar');
    await writeDockerArchive({ image, names: ['obox-test/imported:1'] }, back);
    await d.dockerOk(['load', '-i', back]);
    expect(await idOf('obox-test/imported:1')).toBe(id);
    expect(await runEcho('obox-test/imported:1', 'echo', 'ok')).toBe('ok\n');
  });
});

describe.skipIf(!requires({ root: true, tools: [...PODMAN_TOOLS, 'bash', 'tar'] }))('podman load', () => {
  let dir: Scratch;
  let p: Podman;
  let busybox: Image;
  let derived: Image;

  beforeAll(async () => {
    dir = await scratchDir('obox-writers-podman-');
    ({ busybox, derived } = await busyboxImages(dir.path));
    p = createPodman();
  });

  afterAll(async () => {
    await p?.stop();
    await dir?.cleanup();
  });

  it('loads a docker-archive with two images and runs them', async () => {
    const file = join(dir.path, 'two.tar');
    await writeDockerArchive(
      [
        { image: busybox, names: ['obox-test/busybox:1'] },
        { image: derived, names: ['obox-test/derived:1'] },
      ],
      file,
    );
    await p.podmanOk(['load', '-i', file]);
    const images = (await p.podmanOk(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).stdout;
    expect(images).toContain('docker.io/obox-test/busybox:1');
    expect(images).toContain('docker.io/obox-test/derived:1');
    const out = await p.podmanOk(['run', '--rm', '--network', 'none', 'obox-test/derived:1', 'cat', '/greeting.txt']);
    expect(out.stdout).toBe('hello from obox\n');
  });

  it('loads an OCI archive under its name', async () => {
    const file = join(dir.path, 'one.oci.tar');
    await writeOciArchive({ image: derived, names: ['obox-test/oci:1'] }, file);
    await p.podmanOk(['load', '-i', file]);
    const id = (await p.podmanOk(['image', 'inspect', '--format', '{{.Id}}', 'obox-test/oci:1'])).stdout.trim();
    expect(`sha256:${id}`).toBe(await derived.configDigest());
  });
});
