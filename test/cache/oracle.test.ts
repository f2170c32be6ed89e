/**
 * Real tools read the store directly as an OCI image layout: skopeo (containers/image) and umoci.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/cache/store/store.js';
import { Digest } from '../../src/image/digest.js';
import { scratch } from '../../src/image/empty.js';
import type { Image } from '../../src/image/image.js';
import { layerFromCompressed } from '../../src/image/layer.js';
import { MediaTypes } from '../../src/image/media-type.js';
import { appendLayer, setContainerConfig, setFormat } from '../../src/image/mutate.js';
import { hasTool, requires } from '../helpers/requirements.js';
import { tempDir } from './helpers.js';

const run = async (cmd: string, args: string[]): Promise<string> => (await promisify(execFile)(cmd, args)).stdout;

describe.skipIf(!requires({ tools: ['skopeo', 'tar', 'gzip'] }))('the store as an OCI layout, read by real tools', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let root: string;
  let image: Image;
  let layerDigest: Digest;
  let diffId: Digest;

  beforeAll(async () => {
    dir = await tempDir('obox-oracle-');
    const content = join(dir.path, 'content');
    await mkdir(content);
    await writeFile(join(content, 'hello.txt'), 'hello from obox\n');
    const tar = join(dir.path, 'layer.tar');
    await run('tar', ['-C', content, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-cf', tar, '.']);
    await run('gzip', ['-n', '-k', tar]);
    diffId = Digest.of(await readFileBytes(tar));
    layerDigest = Digest.of(await readFileBytes(`${tar}.gz`));
    const layer = layerFromCompressed({ open: async () => createReadStream(`${tar}.gz`), mediaType: MediaTypes.ociLayerGzip });
    image = setContainerConfig(appendLayer(scratch, layer, { created_by: 'ADD hello.txt /', created: '2024-01-01T00:00:00Z' }), {
      Cmd: ['/hello.txt'],
    });
    root = join(dir.path, 'store');
    const store = await Store.open(root);
    await store.putImage(image, ['obox-test/tiny:1']);
    await store.putImage(setFormat(image, 'docker'), ['obox-test/tiny:docker']);
  });

  afterAll(async () => dir?.cleanup());

  it('skopeo inspect oci:ROOT:NAME finds the image and its layer', async () => {
    const out = JSON.parse(await run('skopeo', ['inspect', `oci:${root}:docker.io/obox-test/tiny:1`])) as {
      Digest: string;
      Layers: string[];
      Os: string;
      Architecture: string;
    };
    expect(out.Digest).toBe(await image.digest());
    expect(out.Layers).toEqual([layerDigest]);
    expect(out.Os).toBe('linux');
    expect(out.Architecture).toBe((await image.config()).architecture);
  });

  it('skopeo reads the config: diff_ids and Cmd', async () => {
    const cfg = JSON.parse(await run('skopeo', ['inspect', '--config', `oci:${root}:docker.io/obox-test/tiny:1`])) as {
      rootfs: { diff_ids: string[] };
      config: { Cmd: string[] };
    };
    expect(cfg.rootfs.diff_ids).toEqual([diffId]);
    expect(cfg.config.Cmd).toEqual(['/hello.txt']);
  });

  it('skopeo copies every blob out, verifying digests', async () => {
    const out = join(dir.path, 'copied');
    await run('skopeo', ['copy', '--quiet', `oci:${root}:docker.io/obox-test/tiny:1`, `dir:${out}`]);
    expect((await readdir(out)).sort()).toContain(Digest.hex(layerDigest));
  });

  it('a Docker-format image is stored with OCI media types, same config (image ID), readable by skopeo', async () => {
    const out = JSON.parse(await run('skopeo', ['inspect', '--raw', `oci:${root}:docker.io/obox-test/tiny:docker`])) as {
      mediaType: string;
      config: { digest: string };
      layers: Array<{ mediaType: string; digest: string }>;
    };
    expect(out.mediaType).toBe(MediaTypes.ociManifest);
    expect(out.config.digest).toBe(await setFormat(image, 'docker').configDigest());
    expect(out.layers[0]).toMatchObject({ mediaType: MediaTypes.ociLayerGzip, digest: layerDigest });
  });

  it.skipIf(!hasTool('umoci'))('umoci ls --layout lists the names', async () => {
    const names = (await run('umoci', ['ls', '--layout', root])).trim().split('\n').sort();
    expect(names).toEqual(['docker.io/obox-test/tiny:1', 'docker.io/obox-test/tiny:docker']);
  });

  it.skipIf(!hasTool('umoci'))('umoci stat reads the image history', async () => {
    const out = await run('umoci', ['stat', '--image', `${root}:docker.io/obox-test/tiny:1`, '--json']);
    const stat = JSON.parse(out) as { history: Array<{ created_by: string; layer: { digest: string } | null }> };
    expect(stat.history[0]?.created_by).toBe('ADD hello.txt /');
    expect(stat.history[0]?.layer?.digest).toBe(layerDigest);
  });
});

async function readFileBytes(p: string): Promise<Buffer> {
  const { readFile } = await import('node:fs/promises');
  return readFile(p);
}
