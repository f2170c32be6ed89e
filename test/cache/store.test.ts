import { execFile } from 'node:child_process';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, OboxError } from '../../src/errors.js';
import { Store } from '../../src/cache/store/store.js';
import { Digest } from '../../src/image/digest.js';
import { scratch } from '../../src/image/empty.js';
import { layerFromUncompressed } from '../../src/image/layer.js';
import { appendLayer, setFormat } from '../../src/image/mutate.js';
import { MediaTypes } from '../../src/image/media-type.js';
import { parseIndexBytes } from '../../src/image/oci-index.js';
import { readAll } from '../../src/image/streams.js';
import { listDir, tempDir } from './helpers.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let store: Store;

beforeEach(async () => {
  dir = await tempDir();
  store = await Store.open(dir.path);
});
afterEach(async () => dir.cleanup());

const tarLayer = (content: string) => layerFromUncompressed({ open: async () => Readable.from([Buffer.from(content)]) });
const imageWith = (content: string) => appendLayer(scratch, tarLayer(content), { created_by: `ADD ${content}` });

async function indexJson(): Promise<ReturnType<typeof parseIndexBytes>> {
  return parseIndexBytes(await readFile(join(dir.path, 'index.json')));
}

async function caught(p: Promise<unknown>): Promise<OboxError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OboxError);
    return e as OboxError;
  }
  throw new Error('expected a rejection');
}

describe('Store layout', () => {
  it('creates an OCI image layout with obox dirs beside it', async () => {
    expect(await listDir(dir.path)).toEqual(['blobs', 'index.json', 'layers-v1', 'locks', 'oci-layout', 'tmp']);
    expect(await readFile(join(dir.path, 'oci-layout'), 'utf8')).toBe('{"imageLayoutVersion":"1.0.0"}');
    expect(await readFile(join(dir.path, 'index.json'), 'utf8')).toBe(
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}',
    );
    await Store.open(dir.path); // reopening is fine
  });

  it('concurrent first opens agree', async () => {
    const fresh = join(dir.path, 'new');
    await Promise.all(Array.from({ length: 6 }, () => Store.open(fresh)));
    expect(await listDir(join(fresh, 'tmp'))).toEqual([]);
  });

  it('refuses a non-empty directory that is not a store', async () => {
    const other = join(dir.path, 'home');
    await mkdir(other);
    await writeFile(join(other, 'notes.txt'), 'mine');
    const err = await caught(Store.open(other));
    expect(err.code).toBe(ErrorCodes.store);
    expect(await listDir(other)).toEqual(['notes.txt']);
  });

  it('refuses an unknown layout version and a damaged index', async () => {
    await writeFile(join(dir.path, 'oci-layout'), '{"imageLayoutVersion":"9"}');
    expect((await caught(Store.open(dir.path))).message).toMatch(/unsupported image layout version/);
    await writeFile(join(dir.path, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(dir.path, 'index.json'), '{"schemaVersion":2}');
    expect((await caught(Store.open(dir.path))).code).toBe(ErrorCodes.store);
  });
});

describe('Store images and names', () => {
  it('puts an image and reads it back with the same digests', async () => {
    const img = imageWith('one');
    const desc = await store.putImage(img, ['busybox']);
    expect(desc.digest).toBe(await img.digest());
    expect(desc.platform?.os).toBe('linux');
    const back = await store.image('busybox');
    expect(await back.digest()).toBe(await img.digest());
    expect(await back.configDigest()).toBe(await img.configDigest());
    const [layer] = await back.layers();
    expect(await readAll(await layer!.uncompressed())).toEqual(Buffer.from('one'));
    expect(await layer!.diffId()).toBe(Digest.of('one'));
    expect(await listDir(join(dir.path, 'tmp'))).toEqual([]);
  });

  it('normalises names in index.json and in lookups', async () => {
    await store.putImage(imageWith('one'), ['busybox', 'foo/bar:v1', 'localhost:5000/x/y:2']);
    const names = (await indexJson()).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']);
    expect(names).toEqual(['docker.io/foo/bar:v1', 'docker.io/library/busybox:latest', 'localhost:5000/x/y:2']);
    for (const n of ['busybox', 'busybox:latest', 'docker.io/library/busybox', 'index.docker.io/library/busybox:latest']) {
      expect((await store.resolve(n)).digest).toBeDefined();
    }
    expect((await store.listImages()).map((i) => i.name)).toEqual(names);
    expect((await store.listImages())[0]!.descriptor.annotations).toBeUndefined();
  });

  it('resolves by digest, hex and name@digest; unknown names are E_NOT_FOUND', async () => {
    const img = imageWith('one');
    await store.putImage(img, ['a']);
    const digest = await img.digest();
    for (const r of [digest, Digest.hex(digest), `whatever@${digest}`]) expect((await store.resolve(r)).digest).toBe(digest);
    const err = await caught(store.resolve('nope'));
    expect(err.code).toBe(ErrorCodes.notFound);
    expect(err.message).toMatch(/image nope:latest is not in the store/);
    expect((await caught(store.resolve(Digest.of('x')))).code).toBe(ErrorCodes.notFound);
    expect((await caught(store.resolve('Bad Name'))).code).toBe(ErrorCodes.usage);
  });

  it('re-putting a name moves it to the new image', async () => {
    await store.putImage(imageWith('one'), ['app']);
    const two = imageWith('two');
    await store.putImage(two, ['app']);
    expect((await store.resolve('app')).digest).toBe(await two.digest());
    expect((await indexJson()).manifests).toHaveLength(1);
  });

  it('tag adds a name, untag removes it and keeps the blobs', async () => {
    const img = imageWith('one');
    await store.putImage(img, ['app:1']);
    await store.tag('app:1', 'app:stable');
    expect((await store.resolve('app:stable')).digest).toBe(await img.digest());
    const removed = await store.untag('app:1');
    expect(removed.digest).toBe(await img.digest());
    expect((await caught(store.resolve('app:1'))).code).toBe(ErrorCodes.notFound);
    await store.untag('app:stable');
    expect(await store.listImages()).toEqual([]);
    expect(await store.hasBlob(await img.digest())).toBe(true);
    expect(await store.hasBlob(await img.configDigest())).toBe(true);
    // an untagged manifest is still reachable by digest until gc
    expect((await store.resolve(await img.digest())).digest).toBe(await img.digest());
    expect((await caught(store.untag('app:1'))).code).toBe(ErrorCodes.notFound);
    expect((await caught(store.tag('app:1', 'x'))).code).toBe(ErrorCodes.notFound);
  });

  it('refuses digest names', async () => {
    expect((await caught(store.putImage(imageWith('one'), [`x@${Digest.of('m')}`]))).code).toBe(ErrorCodes.usage);
    expect(await listDir(join(dir.path, 'blobs', 'sha256'))).toEqual([]);
  });

  it('keeps an unnamed image as one unannotated entry until it is named', async () => {
    const img = imageWith('one');
    await store.putImage(img);
    await store.putImage(img);
    expect(await store.listImages()).toEqual([{ name: undefined, descriptor: expect.objectContaining({ digest: await img.digest() }) }]);
    await store.tag(await img.digest(), 'named');
    expect((await store.listImages()).map((i) => i.name)).toEqual(['docker.io/library/named:latest']);
  });

  it('putManifest refuses a manifest whose blobs are missing, then accepts it', async () => {
    const img = imageWith('one');
    const raw = await img.rawManifest();
    const err = await caught(store.putManifest(raw, ['m']));
    expect(err.code).toBe(ErrorCodes.store);
    expect(err.message).toMatch(/config sha256:.*layer sha256:/);
    await store.putBlob(await img.rawConfig());
    await store.putBlob(await (await img.layers())[0]!.compressed());
    const desc = await store.putManifest(raw, ['m']);
    expect(desc.digest).toBe(await img.digest());
    expect(desc.platform).toEqual({ architecture: (await img.config()).architecture, os: 'linux' });
  });

  it('putManifest refuses Docker schema 2 manifests; putImage converts them to OCI', async () => {
    const img = setFormat(imageWith('one'), 'docker');
    await store.putBlob(await img.rawConfig());
    await store.putBlob(await (await img.layers())[0]!.compressed());
    expect((await caught(store.putManifest(await img.rawManifest(), ['d']))).message).toMatch(/Docker schema 2/);
    const desc = await store.putImage(img, ['d']);
    expect(desc.mediaType).toBe(MediaTypes.ociManifest);
    const back = await store.image('d');
    expect(await back.configDigest()).toBe(await img.configDigest());
    expect(await back.digest()).not.toBe(await img.digest());
  });

  it('a corrupted layer blob fails the stored image\'s layer stream', async () => {
    const img = imageWith('one');
    await store.putImage(img, ['c']);
    const layerDigest = (await img.manifest()).layers[0]!.digest;
    const blobPath = store.blobs.path(layerDigest);
    const bytes = await readFile(blobPath);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    await writeFile(blobPath, bytes);
    const [layer] = await (await store.image('c')).layers();
    await expect(readAll(await layer!.compressed())).rejects.toThrow(/does not match its digest/);
  });

  it('a corrupted manifest blob fails image()', async () => {
    const img = imageWith('one');
    await store.putImage(img, ['c']);
    await writeFile(store.blobs.path(await img.digest()), '{}');
    expect((await caught(store.image('c'))).code).toBe(ErrorCodes.invalidArchive);
  });
});

describe('index.json under concurrency', () => {
  it('keeps every name when many promises tag at once', async () => {
    const img = imageWith('one');
    await store.putImage(img, ['base']);
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.tag('base', `t/n${i}`)));
    expect((await indexJson()).manifests).toHaveLength(41);
  });

  it('keeps every name when several processes tag at once', async () => {
    const img = imageWith('one');
    await store.putImage(img, ['base']);
    const worker = new URL('tag-worker.ts', import.meta.url).pathname;
    const run = (prefix: string) => promisify(execFile)(process.execPath, ['--import', 'tsx', worker, dir.path, 'base', prefix, '15']);
    await Promise.all(['p1', 'p2', 'p3', 'p4'].map(run));
    const names = new Set((await store.listImages()).map((i) => i.name));
    expect(names.size).toBe(61);
    for (const p of ['p1', 'p2', 'p3', 'p4']) for (let i = 0; i < 15; i++) expect(names.has(`docker.io/library/${p}-${i}:latest`)).toBe(true);
    expect(await listDir(join(dir.path, 'locks'))).toEqual([]);
    expect(await listDir(join(dir.path, 'tmp'))).toEqual([]);
  }, 60_000);
});

describe('unpacked layer directories', () => {
  const diffId = Digest.of('a layer');

  it('installs a populated directory under layers-v1/sha256/<hex>', async () => {
    const r = await store.installLayerDir(diffId, async (d) => writeFile(join(d, 'file'), 'content'));
    expect(r).toEqual({ path: join(dir.path, 'layers-v1', 'sha256', Digest.hex(diffId)), installed: true });
    expect(await readFile(join(r.path, 'file'), 'utf8')).toBe('content');
    expect(await store.hasLayerDir(diffId)).toBe(true);
    expect(store.layerDir(diffId)).toBe(r.path);
  });

  it('already installed is success and does not populate again', async () => {
    await store.installLayerDir(diffId, async (d) => writeFile(join(d, 'file'), 'first'));
    let called = false;
    const r = await store.installLayerDir(diffId, async () => {
      called = true;
    });
    expect(r.installed).toBe(false);
    expect(called).toBe(false);
  });

  it('concurrent installs: one wins, the rest succeed, nothing left in tmp', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        store.installLayerDir(diffId, async (d) => {
          await writeFile(join(d, 'file'), `writer ${i}`);
          await new Promise((r) => setTimeout(r, 5));
        }),
      ),
    );
    expect(results.filter((r) => r.installed)).toHaveLength(1);
    expect(await readFile(join(store.layerDir(diffId), 'file'), 'utf8')).toMatch(/^writer \d$/);
    expect(await listDir(join(dir.path, 'tmp'))).toEqual([]);
  });

  it('a failing populate leaves neither the directory nor a temp', async () => {
    await expect(
      store.installLayerDir(diffId, async (d) => {
        await writeFile(join(d, 'half'), 'x');
        throw new Error('unpack failed');
      }),
    ).rejects.toThrow('unpack failed');
    expect(await store.hasLayerDir(diffId)).toBe(false);
    expect(await listDir(join(dir.path, 'tmp'))).toEqual([]);
  });
});
