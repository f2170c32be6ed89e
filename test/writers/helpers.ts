/** Test images for the writer tests: tiny layers made with GNU tar, composed with the image helpers. */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Store } from '../../src/cache/store/index.js';
import { Digest } from '../../src/image/digest.js';
import { emptyImage } from '../../src/image/empty.js';
import type { Image } from '../../src/image/image.js';
import { layerFromCompressed, type Layer } from '../../src/image/layer.js';
import { MediaTypes } from '../../src/image/media-type.js';
import { appendLayer, setContainerConfig } from '../../src/image/mutate.js';
import { readTar, type TarEntry } from '../../src/layer/index.js';

export const run = async (cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> =>
  (await promisify(execFile)(cmd, args, { maxBuffer: 64 * 1024 * 1024, ...opts })).stdout;

export interface Scratch {
  path: string;
  cleanup(): Promise<void>;
}

export async function scratchDir(prefix = 'obox-writers-'): Promise<Scratch> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export interface TestLayer {
  layer: Layer;
  diffId: Digest;
  digest: Digest;
  tarPath: string;
}

/** A layer holding `files` (path → content), a gzip blob made by GNU tar and gzip -n. */
export async function makeLayer(dir: string, name: string, files: Record<string, string>): Promise<TestLayer> {
  const content = join(dir, `${name}-content`);
  await mkdir(content, { recursive: true });
  for (const [p, text] of Object.entries(files)) {
    await mkdir(dirname(join(content, p)), { recursive: true });
    await writeFile(join(content, p), text);
  }
  const tarPath = join(dir, `${name}.tar`);
  await run('tar', ['-C', content, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', tarPath, '.']);
  await run('gzip', ['-n', '-k', '-f', tarPath]);
  const diffId = Digest.of(await readFile(tarPath));
  const digest = Digest.of(await readFile(`${tarPath}.gz`));
  const layer = layerFromCompressed({ open: async () => createReadStream(`${tarPath}.gz`), mediaType: MediaTypes.ociLayerGzip });
  return { layer, diffId, digest, tarPath };
}

export function imageOf(layers: readonly Layer[], cmd: string[], architecture = 'amd64'): Image {
  let img = emptyImage({ architecture, os: 'linux' });
  for (const [i, l] of layers.entries()) img = appendLayer(img, l, { created_by: `layer ${i}`, created: '2024-01-01T00:00:00Z' });
  return setContainerConfig(img, { Cmd: cmd, Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] });
}

/** What must not change when a load is refused. */
export interface StoreSnapshot {
  images: string;
  blobs: string[];
  tmp: string[];
}

async function listTree(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries.map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).sort();
}

export async function snapshot(store: Store): Promise<StoreSnapshot> {
  return {
    images: JSON.stringify(await store.listImages()),
    blobs: await listTree(store.paths.blobs),
    tmp: await listTree(store.paths.tmp),
  };
}

export async function openStore(dir: string, name = 'store'): Promise<Store> {
  return Store.open(join(dir, name));
}

/** The entries of a tar file: header fields and, for small files, their text. */
export async function listTar(path: string): Promise<Array<{ path: string; type: string; size: number; mode: number; uid: number; gid: number; mtime: number; text?: string }>> {
  const out = [];
  for await (const e of readTar(createReadStream(path) as AsyncIterable<Buffer>, { archiveName: path })) {
    const h = (e as TarEntry).header;
    let text: string | undefined;
    if (h.type === 'file' && h.size < 64 * 1024 && !/^blobs\/sha256\/[a-f0-9]{64}$/.test(h.path)) {
      const chunks: Buffer[] = [];
      for await (const c of e.body()) chunks.push(c);
      text = Buffer.concat(chunks).toString('utf8');
    }
    out.push({ path: h.path, type: h.type, size: h.size, mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime, ...(text !== undefined ? { text } : {}) });
  }
  return out;
}

/** The uncompressed tar digests of an image's layers, read through the store. */
export async function layerTarDigests(image: Image): Promise<Digest[]> {
  const out: Digest[] = [];
  for (const l of await image.layers()) {
    const s = await l.uncompressed();
    const h = Digest.hasher();
    for await (const c of s as AsyncIterable<Buffer>) h.update(c);
    out.push(h.digest());
  }
  return out;
}
