/**
 * The loader's choices: platform selection in multi-platform indexes, names from each kind of
 * archive, docker's legacy layouts, and the small pure helpers.
 */
import { createReadStream } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/cache/store/index.js';
import { ErrorCodes, OboxError } from '../../src/errors.js';
import type { Descriptor } from '../../src/image/descriptor.js';
import { Digest } from '../../src/image/digest.js';
import type { Image } from '../../src/image/image.js';
import { hostPlatform, type Platform } from '../../src/image/platform.js';
import { normaliseArchivePath, resolveSymlink } from '../../src/writers/load/entry-path.js';
import { namesFromAnnotations, namesFromRepoTags } from '../../src/writers/load/names.js';
import { selectPlatform } from '../../src/writers/load/platform-select.js';
import { load, loadFile, writeOciArchive, writeOciLayout } from '../../src/writers/index.js';
import { layerFromCompressed } from '../../src/image/layer.js';
import { MediaTypes } from '../../src/image/media-type.js';
import { zstdSupported } from '../../src/layer/index.js';
import { requires } from '../helpers/requirements.js';
import { imageOf, makeLayer, openStore, run, scratchDir, snapshot, type Scratch } from './helpers.js';

const corpus = join(import.meta.dirname, '../../fixtures/archives');
const host = hostPlatform();
const foreign: Platform = { os: 'linux', architecture: host.architecture === 's390x' ? 'ppc64le' : 's390x' };

describe('multi-platform archives', () => {
  let dir: Scratch;
  let hostImage: Image;
  let foreignImage: Image;

  beforeAll(async () => {
    dir = await scratchDir('obox-load-');
    const l = await makeLayer(dir.path, 'l', { 'x.txt': 'x\n' });
    hostImage = imageOf([l.layer], ['/host'], host.architecture);
    foreignImage = imageOf([l.layer], ['/foreign'], foreign.architecture);
  });

  afterAll(async () => dir?.cleanup());

  /** An OCI layout whose index.json holds one nested index (named) listing both images and an attestation. */
  async function nestedArchive(name: string): Promise<string> {
    const layout = join(dir.path, name);
    await writeOciLayout([{ image: hostImage }, { image: foreignImage }], layout);
    const top = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    const attestation: Descriptor = {
      ...(top.manifests[0] as Descriptor),
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
    };
    const nested = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [attestation, ...top.manifests] }));
    const d = Digest.of(nested);
    await writeFile(join(layout, 'blobs/sha256', Digest.hex(d)), nested);
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: d, size: nested.byteLength, annotations: { 'org.opencontainers.image.ref.name': 'obox-test/multi:1' } }],
    };
    await writeFile(join(layout, 'index.json'), JSON.stringify(index));
    const file = `${layout}.tar`;
    await run('tar', ['-C', layout, '-cf', file, '.']);
    await rm(layout, { recursive: true });
    return file;
  }

  it("takes the host's manifest from a nested index by default, under the index's name", async () => {
    const file = await nestedArchive('nested-host');
    const store = await openStore(dir.path, 'multi-host');
    const r = await loadFile(store, file);
    expect(r.images).toHaveLength(1);
    expect(r.images[0]?.manifestDigest).toBe(await hostImage.digest());
    expect(r.images[0]?.names).toEqual(['docker.io/obox-test/multi:1']);
    expect((await (await store.image('obox-test/multi:1')).config()).architecture).toBe(host.architecture);
  });

  it('takes another platform when asked', async () => {
    const file = await nestedArchive('nested-foreign');
    const store = await openStore(dir.path, 'multi-foreign');
    const r = await loadFile(store, file, { platform: foreign });
    expect(r.images[0]?.manifestDigest).toBe(await foreignImage.digest());
  });

  it('says which platforms there are when none matches, and leaves the store alone', async () => {
    const file = await nestedArchive('nested-none');
    const store = await openStore(dir.path, 'multi-none');
    const before = await snapshot(store);
    const err = await loadFile(store, file, { platform: { os: 'linux', architecture: 'riscv64' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OboxError);
    expect((err as OboxError).code).toBe(ErrorCodes.notFound);
    expect((err as OboxError).message).toMatch(/no image for linux\/riscv64/);
    expect((err as OboxError).hint).toContain(`linux/${foreign.architecture}`);
    expect((err as OboxError).hint).not.toContain('unknown');
    expect(await snapshot(store)).toEqual(before);
  });

  it('a name given to manifests of several platforms in index.json keeps the wanted one', async () => {
    const layout = join(dir.path, 'flat');
    await writeOciLayout([{ image: hostImage, names: ['obox-test/flat:1'] }], layout);
    const foreignLayout = join(dir.path, 'flat-foreign');
    await writeOciLayout([{ image: foreignImage, names: ['obox-test/flat:1'] }], foreignLayout);
    // Merge the foreign image's blobs and index entry into the first layout.
    await run('sh', ['-c', `cp -n ${foreignLayout}/blobs/sha256/* ${layout}/blobs/sha256/`]);
    const a = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: unknown[] };
    const b = JSON.parse(await readFile(join(foreignLayout, 'index.json'), 'utf8')) as { manifests: unknown[] };
    await writeFile(join(layout, 'index.json'), JSON.stringify({ ...a, manifests: [...b.manifests, ...a.manifests] }));
    const file = `${layout}.tar`;
    await run('tar', ['-C', layout, '-cf', file, '.']);
    const store = await openStore(dir.path, 'flat-store');
    const r = await loadFile(store, file);
    expect(r.images.map((i) => i.manifestDigest)).toEqual([await hostImage.digest()]);
    expect((await store.resolve('obox-test/flat:1')).digest).toBe(await hostImage.digest());
  });
});

describe('docker layouts and names', () => {
  let dir: Scratch;
  let store: Store;

  beforeAll(async () => {
    dir = await scratchDir('obox-load-docker-');
    store = await openStore(dir.path);
  });

  afterAll(async () => dir?.cleanup());

  it("docker 1.10–24's layout with a layer shared through a symlink: both images, one layer blob", async () => {
    const r = await loadFile(store, join(corpus, 'valid-docker-symlink.tar'));
    expect(r.format).toBe('docker-archive');
    expect(r.images.map((i) => i.names)).toEqual([['docker.io/library/fixture:1'], ['docker.io/library/fixture:2']]);
    const one = await (await store.image('fixture:1')).manifest();
    const two = await (await store.image('fixture:2')).manifest();
    expect(one.layers[0]?.digest).toBe(two.layers[0]?.digest);
    expect(one.layers[0]?.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
  });

  it.skipIf(!requires({ tools: ['zstd'] }))('a zstd layer loads where Node.js can decompress zstd, else a clear environment error', async () => {
    const l = await makeLayer(dir.path, 'z', { 'z.txt': 'zstd\n' });
    await run('zstd', ['-q', '-f', '--no-check', l.tarPath, '-o', `${l.tarPath}.zst`]);
    const layer = layerFromCompressed({ open: async () => createReadStream(`${l.tarPath}.zst`), mediaType: MediaTypes.ociLayerZstd, diffId: l.diffId });
    const file = join(dir.path, 'zstd.tar');
    await writeOciArchive({ image: imageOf([layer], ['/z.txt']), names: ['obox-test/zstd:1'] }, file);
    const fresh = await openStore(dir.path, 'zstd');
    const before = await snapshot(fresh);
    const result = await loadFile(fresh, file).catch((e: unknown) => e);
    if (zstdSupported()) {
      expect((await (await fresh.image('obox-test/zstd:1')).manifest()).layers[0]?.mediaType).toBe(MediaTypes.ociLayerZstd);
    } else {
      expect(result).toBeInstanceOf(OboxError);
      expect((result as OboxError).code).toBe(ErrorCodes.environment);
      expect((result as OboxError).message).toMatch(/zstd/);
      expect(await snapshot(fresh)).toEqual(before);
    }
  });

  it('reports progress as the archive is read', async () => {
    const file = join(corpus, 'valid-oci.tar.gz');
    const size = (await readFile(file)).byteLength;
    const seen: Array<{ bytes: number; total?: number }> = [];
    const fresh = await openStore(dir.path, 'progress');
    await load(fresh, createReadStream(file), { totalBytes: size, onProgress: (p) => seen.push(p) });
    expect(seen.at(-1)).toEqual({ bytes: size, total: size });
  });

  it('names: RepoTags normalised; io.containerd.image.name before ref.name; bad names dropped', () => {
    expect(namesFromRepoTags(['busybox:1', 'localhost/x:2', 'busybox:1'])).toEqual(['docker.io/library/busybox:1', 'localhost/x:2']);
    expect(namesFromAnnotations({ 'io.containerd.image.name': 'docker.io/library/app:3', 'org.opencontainers.image.ref.name': '3' })).toEqual([
      'docker.io/library/app:3',
    ]);
    expect(namesFromAnnotations({ 'org.opencontainers.image.ref.name': 'quay.io/a/b:c' })).toEqual(['quay.io/a/b:c']);
    expect(namesFromAnnotations({ 'org.opencontainers.image.ref.name': 'Not A Name' })).toEqual([]);
    expect(namesFromAnnotations(undefined)).toEqual([]);
  });

  it('archive paths: normalised, hostile ones refused; symlinks resolved inside the archive only', () => {
    expect(normaliseArchivePath('./a//b/')).toEqual({ ok: true, path: 'a/b' });
    expect(normaliseArchivePath('./')).toEqual({ ok: true, path: '' });
    expect(normaliseArchivePath('a/../b').ok).toBe(false);
    expect(normaliseArchivePath('/a').ok).toBe(false);
    expect(normaliseArchivePath('a\0b').ok).toBe(false);
    expect(resolveSymlink('x/layer.tar', '../y/layer.tar')).toBe('y/layer.tar');
    expect(resolveSymlink('x/layer.tar', '../../etc/passwd')).toBeUndefined();
    expect(resolveSymlink('x/layer.tar', '/etc/passwd')).toBeUndefined();
  });

  it('platform selection: os and architecture must match; variants rank', () => {
    const d = (architecture: string, variant?: string): Descriptor => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json' as Descriptor['mediaType'],
      digest: Digest.of(`${architecture}${variant ?? ''}`),
      size: 1,
      platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) },
    });
    const list = [d('amd64'), d('arm', 'v6'), d('arm', 'v7'), d('arm64', 'v8')];
    expect(selectPlatform(list, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'x')).toBe(list[2]);
    expect(selectPlatform(list, { os: 'linux', architecture: 'arm64' }, 'x')).toBe(list[3]);
    expect(selectPlatform(list, { os: 'linux', architecture: 'amd64' }, 'x')).toBe(list[0]);
    expect(() => selectPlatform(list, { os: 'windows', architecture: 'amd64' }, 'x')).toThrow(/no image for windows\/amd64/);
  });
});
