/**
 * Real readers of what the writers make: skopeo (containers/image) for OCI archives, OCI layout
 * directories and docker-archives, and umoci for layout directories.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Digest } from '../../src/image/digest.js';
import type { Image } from '../../src/image/image.js';
import { writeDockerArchive, writeOciArchive, writeOciLayout } from '../../src/writers/index.js';
import { requires } from '../helpers/requirements.js';
import { imageOf, makeLayer, openStore, run, scratchDir, type Scratch, type TestLayer } from './helpers.js';

interface Inspect {
  Digest: string;
  Layers: string[];
  Os: string;
  Architecture: string;
  Name?: string;
}

const inspect = async (ref: string): Promise<Inspect> => JSON.parse(await run('skopeo', ['inspect', ref])) as Inspect;

describe.skipIf(!requires({ tools: ['skopeo', 'umoci', 'tar', 'gzip'] }))('skopeo and umoci read what obox writes', () => {
  let dir: Scratch;
  let base: TestLayer;
  let top: TestLayer;
  let image: Image;
  let other: Image;

  beforeAll(async () => {
    dir = await scratchDir('obox-writers-oracle-');
    base = await makeLayer(dir.path, 'base', { 'etc/hello': 'hello\n' });
    top = await makeLayer(dir.path, 'top', { 'app/x': 'x\n' });
    const store = await openStore(dir.path);
    await store.putImage(imageOf([base.layer, top.layer], ['/app/x']), ['obox-test/oracle:1']);
    await store.putImage(imageOf([base.layer], ['/etc/hello']), ['obox-test/other:1']);
    image = await store.image('obox-test/oracle:1');
    other = await store.image('obox-test/other:1');
  });

  afterAll(async () => dir?.cleanup());

  it('skopeo inspect oci-archive:FILE, and skopeo copy oci-archive:FILE dir:DIR', async () => {
    const file = join(dir.path, 'one.oci.tar');
    await writeOciArchive({ image, names: ['obox-test/oracle:1'] }, file);
    const out = await inspect(`oci-archive:${file}`);
    expect(out.Digest).toBe(await image.digest());
    expect(out.Layers).toEqual([base.digest, top.digest]);
    expect([out.Os, out.Architecture]).toEqual(['linux', 'amd64']);
    const copied = join(dir.path, 'copied');
    await run('skopeo', ['copy', '--quiet', `oci-archive:${file}`, `dir:${copied}`]);
    const files = await readdir(copied);
    expect(files).toContain('manifest.json');
    expect(files).toContain(base.digest.slice(7));
    expect(Digest.of(await readFile(join(copied, base.digest.slice(7))))).toBe(base.digest);
  });

  it('skopeo picks one image of a multi-image OCI archive by its ref.name', async () => {
    const file = join(dir.path, 'two.oci.tar');
    await writeOciArchive(
      [
        { image, names: ['obox-test/oracle:1'] },
        { image: other, names: ['obox-test/other:1'] },
      ],
      file,
    );
    expect((await inspect(`oci-archive:${file}:docker.io/obox-test/other:1`)).Digest).toBe(await other.digest());
    expect((await inspect(`oci-archive:${file}:docker.io/obox-test/oracle:1`)).Digest).toBe(await image.digest());
  });

  it('skopeo inspect oci:DIR:NAME and umoci ls read a layout directory', async () => {
    const layout = join(dir.path, 'layout');
    await writeOciLayout(
      [
        { image, names: ['obox-test/oracle:1'] },
        { image: other, names: ['obox-test/other:1'] },
      ],
      layout,
    );
    const out = await inspect(`oci:${layout}:docker.io/obox-test/oracle:1`);
    expect(out.Digest).toBe(await image.digest());
    expect(out.Layers).toEqual([base.digest, top.digest]);
    const tags = (await run('umoci', ['ls', '--layout', layout])).split('\n').filter(Boolean).sort();
    expect(tags).toEqual(['docker.io/obox-test/oracle:1', 'docker.io/obox-test/other:1']);
    await run('umoci', ['stat', '--image', `${layout}:docker.io/obox-test/oracle:1`]);
  });

  it('skopeo reads the docker-archive, with plain tar layers named by their diffIDs', async () => {
    const file = join(dir.path, 'docker.tar');
    await writeDockerArchive({ image, names: ['obox-test/oracle:1'] }, file);
    const out = await inspect(`docker-archive:${file}`);
    expect(out.Layers).toEqual([base.diffId, top.diffId]);
    // The same file is an OCI archive too (docker ≥ 25's layout).
    const asOci = await inspect(`oci-archive:${file}`);
    expect(asOci.Layers).toEqual([base.diffId, top.diffId]);
    const copied = join(dir.path, 'from-docker');
    await run('skopeo', ['copy', '--quiet', `docker-archive:${file}`, `oci:${copied}:x`]);
  });

  it('skopeo reads a docker-archive with gzip layers (as stored)', async () => {
    const file = join(dir.path, 'docker-gz.tar');
    await writeDockerArchive({ image, names: ['obox-test/oracle:1'] }, file, { layers: 'as-stored' });
    const out = await inspect(`docker-archive:${file}`);
    expect(out.Layers).toHaveLength(2);
    expect((await inspect(`oci-archive:${file}`)).Digest).toBe(await image.digest());
  });
});
