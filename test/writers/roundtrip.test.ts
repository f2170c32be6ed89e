/**
 * store → archive → load → store: the same images come back (config digest = image ID, diffIDs,
 * layer contents), in every form the writers make and the loader reads.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/cache/store/index.js';
import type { Image } from '../../src/image/image.js';
import { layerFromCompressed } from '../../src/image/layer.js';
import { MediaTypes } from '../../src/image/media-type.js';
import { load, loadFile, writeDockerArchive, writeOciArchive, writeOciLayout, type ExportProgress } from '../../src/writers/index.js';
import { imageOf, layerTarDigests, listTar, makeLayer, openStore, scratchDir, snapshot, type Scratch, type TestLayer } from './helpers.js';

const NAME_A = 'obox-test/a:1';
const NAME_B = 'localhost/obox-test/b:2';

describe('round trips', () => {
  let dir: Scratch;
  let src: Store;
  let base: TestLayer;
  let top: TestLayer;
  let imageA: Image;
  let imageB: Image;

  beforeAll(async () => {
    dir = await scratchDir();
    base = await makeLayer(dir.path, 'base', { 'etc/hello': 'hello\n', 'bin/tool': '#!/bin/sh\necho tool\n' });
    top = await makeLayer(dir.path, 'top', { 'app/data.txt': 'data '.repeat(1000) });
    src = await openStore(dir.path, 'src');
    await src.putImage(imageOf([base.layer], ['/bin/tool']), [NAME_A]);
    await src.putImage(imageOf([base.layer, top.layer], ['/app/data.txt']), [NAME_B, 'obox-test/b:latest']);
    imageA = await src.image(NAME_A);
    imageB = await src.image(NAME_B);
  });

  afterAll(async () => dir?.cleanup());

  async function expectSameImage(store: Store, name: string, original: Image): Promise<void> {
    const loaded = await store.image(name);
    expect(await loaded.configDigest()).toBe(await original.configDigest());
    expect((await loaded.config()).rootfs.diff_ids).toEqual((await original.config()).rootfs.diff_ids);
    expect(await layerTarDigests(loaded)).toEqual((await original.config()).rootfs.diff_ids);
  }

  it('docker-archive (plain tar layers): same image IDs and diffIDs after load', async () => {
    const file = join(dir.path, 'docker.tar');
    const written = await writeDockerArchive(
      [
        { image: imageA, names: [NAME_A] },
        { image: imageB, names: [NAME_B, 'obox-test/b'] },
      ],
      file,
    );
    expect(written.images.map((i) => i.names)).toEqual([['docker.io/obox-test/a:1'], ['localhost/obox-test/b:2', 'docker.io/obox-test/b:latest']]);
    const dst = await openStore(dir.path, 'dst-docker');
    const result = await loadFile(dst, file);
    expect(result.format).toBe('docker-archive');
    expect(result.images.map((i) => i.configDigest)).toEqual([await imageA.configDigest(), await imageB.configDigest()]);
    await expectSameImage(dst, NAME_A, imageA);
    await expectSameImage(dst, NAME_B, imageB);
    await expectSameImage(dst, 'obox-test/b', imageB);
    // Plain tars are stored as they came: the layer blob is the tar, named by its diffID.
    const m = await (await dst.image(NAME_B)).manifest();
    expect(m.layers.map((l) => [l.mediaType, l.digest])).toEqual([
      ['application/vnd.oci.image.layer.v1.tar', base.diffId],
      ['application/vnd.oci.image.layer.v1.tar', top.diffId],
    ]);
    expect((await snapshot(dst)).tmp).toEqual([]);
  });

  it('docker-archive layout: docker ≥ 25 form, manifest.json and repositories as docker writes them', async () => {
    const file = join(dir.path, 'layout.tar');
    await writeDockerArchive({ image: imageB, names: [NAME_B] }, file);
    const entries = await listTar(file);
    const configHex = (await imageB.configDigest()).slice(7);
    const paths = entries.map((e) => e.path);
    expect(paths.slice(0, 2)).toEqual(['blobs/', 'blobs/sha256/']);
    expect(paths.slice(-4)).toEqual(['index.json', 'manifest.json', 'oci-layout', 'repositories']);
    expect([...paths].sort()).toEqual(paths);
    expect(paths).toContain(`blobs/sha256/${configHex}`);
    expect(paths).toContain(`blobs/sha256/${base.diffId.slice(7)}`);
    expect(paths).toContain(`blobs/sha256/${top.diffId.slice(7)}`);
    // config, two layers, the OCI manifest
    expect(paths.filter((p) => p.startsWith('blobs/sha256/') && p.length > 'blobs/sha256/'.length)).toHaveLength(4);
    const manifestJson = JSON.parse(entries.find((e) => e.path === 'manifest.json')?.text ?? '') as unknown;
    expect(manifestJson).toEqual([
      {
        Config: `blobs/sha256/${configHex}`,
        RepoTags: ['localhost/obox-test/b:2'],
        Layers: [`blobs/sha256/${base.diffId.slice(7)}`, `blobs/sha256/${top.diffId.slice(7)}`],
      },
    ]);
    expect(JSON.parse(entries.find((e) => e.path === 'repositories')?.text ?? '')).toEqual({
      'localhost/obox-test/b': { '2': top.diffId.slice(7) },
    });
    const index = JSON.parse(entries.find((e) => e.path === 'index.json')?.text ?? '') as { manifests: Array<{ annotations: Record<string, string> }> };
    expect(index.manifests[0]?.annotations).toEqual({
      'io.containerd.image.name': 'localhost/obox-test/b:2',
      'org.opencontainers.image.ref.name': 'localhost/obox-test/b:2',
    });
    expect(entries.find((e) => e.path === 'oci-layout')?.text).toBe('{"imageLayoutVersion":"1.0.0"}');
    for (const e of entries) {
      expect([e.uid, e.gid, e.mtime]).toEqual([0, 0, 0]);
      expect(e.mode).toBe(e.type === 'dir' ? 0o755 : 0o644);
    }
  });

  it('docker-archive with layers as stored (gzip): the manifest digest survives the round trip', async () => {
    const file = join(dir.path, 'docker-gz.tar');
    await writeDockerArchive({ image: imageB, names: [NAME_B] }, file, { layers: 'as-stored' });
    const paths = (await listTar(file)).map((e) => e.path);
    expect(paths).toContain(`blobs/sha256/${base.digest.slice(7)}`);
    expect(paths).not.toContain(`blobs/sha256/${base.diffId.slice(7)}`);
    const dst = await openStore(dir.path, 'dst-docker-gz');
    const result = await loadFile(dst, file);
    expect(result.images[0]?.manifestDigest).toBe(await imageB.digest());
    expect((await dst.resolve(NAME_B)).digest).toBe(await imageB.digest());
    await expectSameImage(dst, NAME_B, imageB);
  });

  it('OCI archive: blobs as stored, manifest digests kept, names from ref.name', async () => {
    const file = join(dir.path, 'oci.tar');
    await writeOciArchive(
      [
        { image: imageA, names: [NAME_A] },
        { image: imageB, names: [NAME_B] },
      ],
      file,
    );
    const dst = await openStore(dir.path, 'dst-oci');
    const result = await loadFile(dst, file);
    expect(result.format).toBe('oci-archive');
    expect((await dst.resolve(NAME_A)).digest).toBe(await imageA.digest());
    expect((await dst.resolve(NAME_B)).digest).toBe(await imageB.digest());
    await expectSameImage(dst, NAME_B, imageB);
    expect((await listTar(file)).map((e) => e.path)).not.toContain('manifest.json');
  });

  it('OCI layout directory, then an OCI archive of it made by GNU tar, loads', async () => {
    const out = join(dir.path, 'layout-dir');
    const r = await writeOciLayout({ image: imageB, names: [NAME_B] }, out);
    expect(r.images[0]?.manifestDigest).toBe(await imageB.digest());
    const tarred = join(dir.path, 'layout-dir.tar.gz');
    const { run } = await import('./helpers.js');
    await run('tar', ['-C', out, '-czf', tarred, '.']);
    const dst = await openStore(dir.path, 'dst-dir');
    await loadFile(dst, tarred);
    await expectSameImage(dst, NAME_B, imageB);
    await expect(writeOciLayout({ image: imageB, names: [NAME_B] }, out)).rejects.toThrow(/not empty/);
  });

  it('a gzipped docker-archive streamed from memory loads the same', async () => {
    const file = join(dir.path, 'docker-for-gz.tar');
    await writeDockerArchive({ image: imageA, names: [NAME_A] }, file);
    const gz = join(dir.path, 'docker.tar.gz');
    await writeFile(gz, gzipSync(await readFile(file)));
    const dst = await openStore(dir.path, 'dst-gz');
    await load(dst, createReadStream(gz), { archiveName: 'docker.tar.gz' });
    await expectSameImage(dst, NAME_A, imageA);
  });

  it('writes into a stream the caller owns', async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const r = await writeOciArchive({ image: imageA, names: [NAME_A] }, sink);
    expect(Buffer.concat(chunks).byteLength).toBe(r.bytes);
  });

  it('reports progress: measuring, then writing up to the exact archive size', async () => {
    const events: ExportProgress[] = [];
    const file = join(dir.path, 'progress.tar');
    const r = await writeDockerArchive({ image: imageB, names: [NAME_B] }, file, { onProgress: (p) => events.push(p) });
    const size = (await readFile(file)).byteLength;
    expect(r.bytes).toBe(size);
    const measure = events.filter((e) => e.phase === 'measure');
    const write = events.filter((e) => e.phase === 'write');
    expect(measure.at(-1)?.bytes).toBeGreaterThan(0);
    expect(write.at(-1)).toEqual({ phase: 'write', bytes: size, total: size });
    expect(write.every((e, i) => i === 0 || e.bytes >= (write[i - 1] as ExportProgress).bytes)).toBe(true);
  });

  it('loading the same archive twice is idempotent', async () => {
    const file = join(dir.path, 'twice.tar');
    await writeDockerArchive({ image: imageA, names: [NAME_A] }, file);
    const dst = await openStore(dir.path, 'dst-twice');
    await loadFile(dst, file);
    const before = await snapshot(dst);
    await loadFile(dst, file);
    expect(await snapshot(dst)).toEqual(before);
  });

  it('a blob that is not what it claims fails the write, leaving no file and no temp file', async () => {
    const out = await scratchDir('obox-writers-fail-');
    try {
      const gz = await readFile(`${base.tarPath}.gz`);
      const tampered = Buffer.from(gz);
      tampered[tampered.length - 9] = (tampered[tampered.length - 9] ?? 0) ^ 0xff;
      const liar = layerFromCompressed({
        open: async () => Readable.from([tampered]),
        mediaType: MediaTypes.ociLayerGzip,
        digest: base.digest,
        size: gz.byteLength,
        diffId: base.diffId,
      });
      const bad = imageOf([liar], ['/x']);
      const file = join(out.path, 'bad.tar');
      await expect(writeOciArchive({ image: bad, names: ['obox-test/bad:1'] }, file)).rejects.toThrow(/does not match its digest/);
      await expect(writeOciLayout({ image: bad, names: ['obox-test/bad:1'] }, join(out.path, 'bad-dir'))).rejects.toThrow(/does not match/);
      expect(await readdir(out.path)).toEqual([]);
    } finally {
      await out.cleanup();
    }
  });

  it('an unnamed image is written without RepoTags and loads unnamed', async () => {
    const file = join(dir.path, 'unnamed.tar');
    await writeDockerArchive(imageA, file);
    const entries = await listTar(file);
    expect(JSON.parse(entries.find((e) => e.path === 'manifest.json')?.text ?? '')).toEqual([
      expect.objectContaining({ RepoTags: null }),
    ]);
    expect(entries.map((e) => e.path)).not.toContain('repositories');
    const dst = await openStore(dir.path, 'dst-unnamed');
    const r = await loadFile(dst, file);
    expect(r.images[0]?.names).toEqual([]);
    expect((await dst.listImages()).map((i) => i.name)).toEqual([undefined]);
  });
});
