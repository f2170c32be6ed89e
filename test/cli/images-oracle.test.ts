/**
 * Acceptance tests of the "Images on disk" issue, through the real CLI (bin/obox.js) and real
 * readers: Debian's dockerd 20.10 (a private daemon, test/helpers/dockerd.ts), podman 4.3 with
 * private storage (test/helpers/podman.ts) and skopeo.
 *
 *  1. an image imported from the busybox rootfs: `obox save` → docker load → docker run; `obox save
 *     --format oci` → skopeo inspect oci-archive: and podman load → podman run; the store directory
 *     itself → skopeo inspect oci:ROOT:NAME.
 *  2. `docker save` and `podman save` (docker-archive and oci-archive) → obox load → obox save →
 *     docker load → docker run, with the image ID kept all the way.
 *  3. several images sharing a layer in one archive: the shared blob stored once, docker loads
 *     them all under their tags.
 *
 * Special files in layers (whiteouts, devices, capabilities, …) are in images-special-files.test.ts,
 * bad archives and progress output in images-load-errors.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER_CLI, DOCKERD_TOOLS, type Dockerd, startDockerd } from '../helpers/dockerd.js';
import { createPodman, PODMAN_TOOLS, type Podman } from '../helpers/podman.js';
import { requires } from '../helpers/requirements.js';
import { BUSYBOX_ROOTFS_TOOLS, makeBusyboxRootfs } from '../infra/rootfs.js';
import { bash, cmdOk, imageNamed, images, obox, oboxOk, tarNames } from './oracle-helpers.js';

const ok = requires({ root: true, tools: [...DOCKERD_TOOLS, ...PODMAN_TOOLS, ...BUSYBOX_ROOTFS_TOOLS, 'skopeo', 'setpriv'] });

interface DockerManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

interface SkopeoInspect {
  Digest: string;
  Layers: string[];
  Architecture: string;
  Os: string;
}

describe.skipIf(!ok)('obox images on disk, read by docker, podman and skopeo (CLI)', () => {
  let tmp: string;
  let root: string;
  let rootfs: string;
  let d: Dockerd;
  let p: Podman;

  const file = (name: string): string => path.join(tmp, name);
  const dockerId = async (ref: string): Promise<string> => (await d.dockerOk(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim();
  const dockerRun = async (ref: string, ...argv: string[]): Promise<string> =>
    (await d.dockerOk(['run', '--rm', '--network', 'none', ref, ...argv], { timeoutMs: 60_000 })).stdout;
  /** Removes every image from the private daemon, so each test loads into an empty docker. */
  const dockerReset = async (): Promise<void> => {
    const ids = (await d.dockerOk(['images', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await d.dockerOk(['rmi', '-f', ...new Set(ids)]);
  };
  /** `obox build` of a Containerfile given as text, in its own context directory. */
  const build = async (tag: string, containerfile: string): Promise<string> => {
    const ctx = mkdtempSync(path.join(tmp, 'ctx-'));
    writeFileSync(path.join(ctx, 'Containerfile'), containerfile);
    const r = await oboxOk(root, ['build', '--network', 'none', '--progress', 'plain', '-t', tag, ctx]);
    return r.stdout.trim();
  };

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'obox-images-oracle-'));
    root = file('store');
    rootfs = await makeBusyboxRootfs(file('busybox.tar'));
    p = createPodman();
    d = await startDockerd();
    const imported = await oboxOk(root, ['import', rootfs, '-t', 'busybox']);
    expect(imported.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  afterAll(async () => {
    await d?.stop();
    await p?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('1. an imported busybox image', () => {
    it('obox save → docker load → docker run echo ok, with the same image ID', async () => {
      await dockerReset();
      const bb = await imageNamed(root, 'docker.io/library/busybox:latest');
      const r = await oboxOk(root, ['save', '-o', file('busybox.docker.tar'), 'busybox']);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('');
      const loaded = await d.dockerOk(['load', '-i', file('busybox.docker.tar')]);
      expect(loaded.stdout).toContain('Loaded image: busybox:latest');
      expect(await dockerId('busybox:latest')).toBe(bb.id);
      expect(await dockerRun('busybox', 'echo', 'ok')).toBe('ok\n');
    });

    it('obox save to a pipe → docker load from stdin', async () => {
      await dockerReset();
      const bb = await imageNamed(root, 'docker.io/library/busybox:latest');
      const r = await bash('$OBOX --root "$ROOT" save busybox | "$DOCKER" load', { env: { ...d.env, ROOT: root, DOCKER: DOCKER_CLI } });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Loaded image: busybox:latest');
      expect(await dockerId('busybox')).toBe(bb.id);
      expect(await dockerRun('busybox', 'echo', 'ok')).toBe('ok\n');
    });

    it('obox save --format oci → skopeo inspect oci-archive: (1 layer) and podman load → podman run echo ok', async () => {
      const bb = await imageNamed(root, 'docker.io/library/busybox:latest');
      const oci = file('busybox.oci.tar');
      await oboxOk(root, ['save', '--format', 'oci', '-o', oci, 'busybox']);
      const names = await tarNames(oci);
      expect(names).toContain('oci-layout');
      expect(names).toContain('index.json');
      expect(names).not.toContain('manifest.json');

      const sk = JSON.parse((await cmdOk('skopeo', ['inspect', `oci-archive:${oci}`])).stdout) as SkopeoInspect;
      expect(sk.Layers).toHaveLength(1);
      expect(sk.Layers).toEqual(bb.layerDigests);
      expect(sk.Digest).toBe(bb.digest);
      expect(sk.Os).toBe('linux');
      // The image's own config, as skopeo reads it, has the same digest as the image ID.
      const config = (await cmdOk('skopeo', ['inspect', '--raw', '--config', `oci-archive:${oci}`])).stdout;
      expect(`sha256:${createHash('sha256').update(config).digest('hex')}`).toBe(bb.id);

      const loaded = await p.podmanOk(['load', '-i', oci]);
      expect(loaded.stdout).toContain('docker.io/library/busybox:latest');
      const podmanId = (await p.podmanOk(['image', 'inspect', '--format', '{{.Id}}', 'docker.io/library/busybox:latest'])).stdout.trim();
      expect(`sha256:${podmanId}`).toBe(bb.id);
      const run = await p.podmanOk(['run', '--rm', '--network', 'none', 'docker.io/library/busybox:latest', 'echo', 'ok'], { timeoutMs: 60_000 });
      expect(run.stdout).toBe('ok\n');
    });

    it('the store directory is an OCI layout: skopeo inspect oci:ROOT:docker.io/library/busybox:latest', async () => {
      const bb = await imageNamed(root, 'docker.io/library/busybox:latest');
      const sk = JSON.parse((await cmdOk('skopeo', ['inspect', `oci:${root}:docker.io/library/busybox:latest`])).stdout) as SkopeoInspect;
      expect(sk.Digest).toBe(bb.digest);
      expect(sk.Layers).toEqual(bb.layerDigests);
      // skopeo can copy it out of the store, too (every blob is where the layout says).
      await cmdOk('skopeo', ['copy', '--quiet', `oci:${root}:docker.io/library/busybox:latest`, `dir:${file('busybox.dir')}`]);
      const manifest = JSON.parse(readFileSync(path.join(file('busybox.dir'), 'manifest.json'), 'utf8')) as { layers: unknown[] };
      expect(manifest.layers).toHaveLength(1);
    });
  });

  describe('2. images saved by docker and podman → obox load → obox save → docker', () => {
    it('docker save (20.10 layout) → obox load keeps the ID → obox save → docker load → docker run', async () => {
      await dockerReset();
      const id = await d.importRootfs(rootfs, 'from-docker/busybox:1');
      await d.dockerOk(['tag', 'from-docker/busybox:1', 'from-docker/busybox:2']);
      const saved = file('docker-save.tar');
      await d.dockerOk(['save', '-o', saved, 'from-docker/busybox:1', 'from-docker/busybox:2']);
      // docker 20.10's own layout: <id>.json config, <v1 id>/layer.tar, manifest.json, repositories.
      const names = await tarNames(saved);
      expect(names).toContain(`${id.slice(7)}.json`);
      expect(names.some((n) => n.endsWith('/layer.tar'))).toBe(true);

      const store = file('store-from-docker');
      const loaded = await oboxOk(store, ['load', '-i', saved]);
      expect(loaded.stderr).toBe('');
      expect(loaded.stdout.split('\n').filter(Boolean).sort()).toEqual([
        'Loaded image: docker.io/from-docker/busybox:1',
        'Loaded image: docker.io/from-docker/busybox:2',
      ]);
      // The ID is the digest of the config bytes, which obox keeps byte for byte: docker's ID.
      const row = await imageNamed(store, 'docker.io/from-docker/busybox:1');
      expect(row.id).toBe(id);
      expect(row.names.sort()).toEqual(['docker.io/from-docker/busybox:1', 'docker.io/from-docker/busybox:2']);

      await dockerReset();
      const back = file('docker-back.tar');
      await oboxOk(store, ['save', '-o', back, 'from-docker/busybox:1']);
      const reloaded = await d.dockerOk(['load', '-i', back]);
      expect(reloaded.stdout).toContain('Loaded image: from-docker/busybox:1');
      expect(await dockerId('from-docker/busybox:1')).toBe(id);
      expect(await dockerRun('from-docker/busybox:1', 'echo', 'ok')).toBe('ok\n');
    });

    it.each(['docker-archive', 'oci-archive'] as const)('podman save --format %s → obox load → obox save → docker load → docker run', async (format) => {
      await dockerReset();
      const name = `localhost/from-podman/${format}:1`;
      const podmanId = await p.importRootfs(rootfs, name);
      const saved = file(`podman-save.${format}.tar`);
      await p.podmanOk(['save', '--format', format, '-o', saved, name], { timeoutMs: 120_000 });

      const store = file(`store-from-podman-${format}`);
      const loaded = await oboxOk(store, ['load', '-i', saved]);
      expect(loaded.stderr).toBe('');
      const rows = await images(store);
      expect(rows).toHaveLength(1);
      const row = rows[0]!;
      // podman's image ID is the digest of its config; both archive formats carry the config blob
      // unchanged (the docker-archive as <hex>.json, the OCI archive as blobs/sha256/<hex>), and
      // obox keeps it byte for byte: the same ID.
      expect(row.id).toBe(`sha256:${podmanId.replace(/^sha256:/, '')}`);
      // Names: podman's docker-archive carries the name in manifest.json's RepoTags; its OCI archive
      // only as the index's ref.name annotation.
      expect(loaded.stdout).toContain(`Loaded image: ${name}`);
      expect(row.names).toEqual([name]);

      const back = file(`podman-back.${format}.tar`);
      await oboxOk(store, ['save', '-o', back, name]);
      const reloaded = await d.dockerOk(['load', '-i', back]);
      expect(reloaded.stdout).toContain(`Loaded image: ${name}`);
      // docker's ID is also the config digest, and obox wrote the config bytes it loaded.
      expect(await dockerId(name)).toBe(row.id);
      expect(await dockerRun(name, 'echo', 'ok')).toBe('ok\n');
    });
  });

  describe('3. several images sharing layers in one archive', () => {
    let ids: Record<'busybox' | 'app-a' | 'app-b', string>;
    let baseLayerDigest: string;

    beforeAll(async () => {
      const a = await build('app-a', 'FROM busybox\nRUN echo a > /a.txt\n');
      const b = await build('app-b', 'FROM busybox\nRUN echo b > /b.txt\n');
      const bb = await imageNamed(root, 'docker.io/library/busybox:latest');
      ids = { busybox: bb.id, 'app-a': a, 'app-b': b };
      baseLayerDigest = bb.layerDigests[0]!;
    }, 120_000);

    it('obox save busybox app-a app-b: the shared layer once; docker load loads all three with their tags', async () => {
      await dockerReset();
      const out = file('three.docker.tar');
      const r = await oboxOk(root, ['save', '-o', out, 'busybox', 'app-a', 'app-b']);
      expect(r.stderr).toBe('');

      const names = await tarNames(out);
      expect(names.length).toBe(new Set(names).size); // no member twice
      const baseBlob = `blobs/sha256/${baseLayerDigest.slice(7)}`;
      expect(names.filter((n) => n === baseBlob)).toHaveLength(1);
      // 3 configs + the base layer + one layer per app (stored gzip blobs, written as they are)
      // in blobs/sha256/, plus OCI manifests; nothing about the shared layer is repeated.
      const manifest = JSON.parse((await cmdOk('tar', ['-xOf', out, 'manifest.json'])).stdout) as DockerManifestEntry[];
      expect(manifest).toHaveLength(3);
      for (const m of manifest) {
        expect(m.Layers[0]).toBe(baseBlob);
        expect(names).toContain(m.Config);
        for (const l of m.Layers) expect(names).toContain(l);
      }
      expect(manifest.map((m) => m.Layers.length)).toEqual([1, 2, 2]);
      const layerBlobs = new Set(manifest.flatMap((m) => m.Layers));
      expect(layerBlobs.size).toBe(3);

      const loaded = await d.dockerOk(['load', '-i', out]);
      for (const tag of ['busybox:latest', 'app-a:latest', 'app-b:latest']) expect(loaded.stdout).toContain(`Loaded image: ${tag}`);
      for (const [name, id] of Object.entries(ids)) expect(await dockerId(`${name}:latest`), name).toBe(id);
      expect(await dockerRun('app-a', 'cat', '/a.txt')).toBe('a\n');
      expect(await dockerRun('app-b', 'cat', '/b.txt')).toBe('b\n');
      expect(await dockerRun('app-b', 'sh', '-c', 'test ! -e /a.txt && echo ok')).toBe('ok\n');
    });

    it('the same three as an OCI archive: every blob once; skopeo reads each image by its ref.name', async () => {
      const out = file('three.oci.tar');
      await oboxOk(root, ['save', '--format', 'oci', '-o', out, 'busybox', 'app-a', 'app-b']);
      const names = await tarNames(out);
      expect(names.length).toBe(new Set(names).size);
      const rows = await images(root);
      const row = (n: string): (typeof rows)[number] => rows.find((i) => i.names.includes(`docker.io/library/${n}:latest`))!;
      const base = row('busybox').layerDigests[0]!;
      expect(row('app-a').layerDigests[0]).toBe(base);
      expect(row('app-b').layerDigests[0]).toBe(base);
      expect(names.filter((n) => n === `blobs/sha256/${base.slice(7)}`)).toHaveLength(1);
      const index = JSON.parse((await cmdOk('tar', ['-xOf', out, 'index.json'])).stdout) as { manifests: unknown[] };
      expect(index.manifests).toHaveLength(3);
      for (const n of ['busybox', 'app-a', 'app-b']) {
        const sk = JSON.parse((await cmdOk('skopeo', ['inspect', `oci-archive:${out}:docker.io/library/${n}:latest`])).stdout) as SkopeoInspect;
        expect(sk.Digest, n).toBe(row(n).digest);
        expect(sk.Layers, n).toEqual(row(n).layerDigests);
      }
    });

    it('saving by ID writes the image unnamed; docker loads it by ID', async () => {
      await dockerReset();
      const out = file('by-id.tar');
      await oboxOk(root, ['save', '-o', out, ids['app-a'].slice(7, 19)]);
      const manifest = JSON.parse((await cmdOk('tar', ['-xOf', out, 'manifest.json'])).stdout) as DockerManifestEntry[];
      expect(manifest).toHaveLength(1);
      expect(manifest[0]!.RepoTags ?? []).toEqual([]);
      const loaded = await d.dockerOk(['load', '-i', out]);
      expect(loaded.stdout).toContain(`Loaded image ID: ${ids['app-a']}`);
      expect(await dockerRun(ids['app-a'], 'cat', '/a.txt')).toBe('a\n');
    });
  });

  it('a missing image is an error naming it, and writes no archive', async () => {
    mkdirSync(file('none'), { recursive: true });
    const out = path.join(file('none'), 'x.tar');
    const r = await obox(root, ['save', '-o', out, 'busybox', 'no-such-image']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no-such-image');
    expect(readdirSync(file('none'))).toEqual([]); // not even a temp file
  });
});
