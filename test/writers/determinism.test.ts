/**
 * Same images → same bytes; shared layers written once; memory independent of layer size.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Digest } from '../../src/image/digest.js';
import type { Image } from '../../src/image/image.js';
import { layerFromUncompressed } from '../../src/image/layer.js';
import { prepareDockerArchive, writeDockerArchive, writeOciArchive, writeOciLayout } from '../../src/writers/index.js';
import { imageOf, listTar, makeLayer, run, scratchDir, type Scratch, type TestLayer } from './helpers.js';

describe('determinism and sharing', () => {
  let dir: Scratch;
  let base: TestLayer;
  let one: Image;
  let two: Image;

  beforeAll(async () => {
    dir = await scratchDir();
    base = await makeLayer(dir.path, 'base', { 'etc/os-release': 'ID=test\n' });
    const extra = await makeLayer(dir.path, 'extra', { 'srv/x': 'x\n' });
    one = imageOf([base.layer], ['/bin/one']);
    two = imageOf([base.layer, extra.layer], ['/bin/two']);
  });

  afterAll(async () => dir?.cleanup());

  const images = (): Array<{ image: Image; names: string[] }> => [
    { image: one, names: ['obox-test/one:1'] },
    { image: two, names: ['obox-test/two:1'] },
  ];

  it.each([
    ['docker-archive', writeDockerArchive],
    ['OCI archive', writeOciArchive],
  ] as const)('%s: two writes give identical bytes', async (_name, write) => {
    const a = join(dir.path, `${_name}-a.tar`);
    const b = join(dir.path, `${_name}-b.tar`);
    await write(images(), a);
    await write(images(), b);
    expect(Digest.of(await readFile(a))).toBe(Digest.of(await readFile(b)));
  });

  it('SOURCE_DATE_EPOCH sets every mtime and nothing else', async () => {
    const a = join(dir.path, 'epoch-a.tar');
    const b = join(dir.path, 'epoch-b.tar');
    await writeDockerArchive(images(), a, { sourceDateEpoch: 1_700_000_000 });
    await writeDockerArchive(images(), b, { sourceDateEpoch: 1_700_000_000 });
    expect(await readFile(a)).toEqual(await readFile(b));
    const entries = await listTar(a);
    expect(new Set(entries.map((e) => e.mtime))).toEqual(new Set([1_700_000_000]));
    const zero = await listTar(join(dir.path, 'docker-archive-a.tar'));
    expect(entries.map((e) => [e.path, e.size])).toEqual(zero.map((e) => [e.path, e.size]));
    await expect(writeDockerArchive(images(), join(dir.path, 'bad.tar'), { sourceDateEpoch: -1 })).rejects.toThrow(/SOURCE_DATE_EPOCH/);
  });

  it('the order of names does not change the bytes', async () => {
    const a = join(dir.path, 'names-a.tar');
    const b = join(dir.path, 'names-b.tar');
    await writeOciArchive({ image: one, names: ['z/z:1', 'a/a:1'] }, a);
    await writeOciArchive({ image: one, names: ['a/a:1', 'z/z:1'] }, b);
    expect(await readFile(a)).toEqual(await readFile(b));
  });

  it('an OCI layout directory is the same whatever the run', async () => {
    const a = join(dir.path, 'dir-a');
    const b = join(dir.path, 'dir-b');
    await writeOciLayout(images(), a);
    await writeOciLayout(images(), b);
    const list = async (d: string): Promise<string> => run('sh', ['-c', `cd ${d} && find . -printf '%p %m %s %T@\\n' | sort && cat index.json`]);
    expect(await list(a)).toBe(await list(b));
  });

  it.each(['uncompressed', 'as-stored'] as const)('a layer shared by two images is written once (%s)', async (layers) => {
    const file = join(dir.path, `shared-${layers}.tar`);
    await writeDockerArchive(images(), file, { layers });
    const entries = await listTar(file);
    const baseBlob = `blobs/sha256/${(layers === 'uncompressed' ? base.diffId : base.digest).slice(7)}`;
    expect(entries.filter((e) => e.path === baseBlob)).toHaveLength(1);
    expect(new Set(entries.map((e) => e.path)).size).toBe(entries.length);
    const manifest = JSON.parse(entries.find((e) => e.path === 'manifest.json')?.text ?? '') as Array<{ Layers: string[] }>;
    expect(manifest.map((m) => m.Layers[0])).toEqual([baseBlob, baseBlob]);
  });

  it('the same image under two entries becomes one manifest.json entry with both tags', async () => {
    const file = join(dir.path, 'same-twice.tar');
    await writeDockerArchive(
      [
        { image: one, names: ['obox-test/one:1'] },
        { image: one, names: ['obox-test/one:2'] },
      ],
      file,
    );
    const entries = await listTar(file);
    const manifest = JSON.parse(entries.find((e) => e.path === 'manifest.json')?.text ?? '') as Array<{ RepoTags: string[] }>;
    expect(manifest.map((m) => m.RepoTags)).toEqual([['docker.io/obox-test/one:1', 'docker.io/obox-test/one:2']]);
    await expect(writeDockerArchive([{ image: one, names: ['x:1'] }, { image: two, names: ['x:1'] }], join(dir.path, 'dup.tar'))).rejects.toThrow(
      /given to two images/,
    );
  });
});

describe('streaming', () => {
  it('peak memory does not grow with the layer: a 256 MiB layer through a 64 KiB-at-a-time sink', async () => {
    const SIZE = 256 * 1024 * 1024;
    const CHUNK = 1024 * 1024;
    const chunk = Buffer.alloc(CHUNK, 0x61);
    // Not a valid tar, but the writer never parses layer content: it only streams and hashes it.
    const open = async (): Promise<Readable> =>
      Readable.from(
        (function* () {
          for (let i = 0; i < SIZE / CHUNK; i++) yield chunk;
        })(),
      );
    const layer = layerFromUncompressed({ open, compression: 'none' });
    const image = imageOf([layer], ['/x']);
    const prepared = await prepareDockerArchive({ image, names: ['obox-test/big:1'] });
    expect(prepared.size).toBeGreaterThan(SIZE);
    global.gc?.();
    const baseline = process.memoryUsage();
    let peak = 0;
    const sample = (): void => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.heapUsed + m.arrayBuffers - baseline.heapUsed - baseline.arrayBuffers);
    };
    const timer = setInterval(sample, 5);
    let written = 0;
    const sink = new Writable({
      highWaterMark: 64 * 1024,
      write(c: Buffer, _e, cb) {
        written += c.byteLength;
        setImmediate(cb);
      },
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const s = prepared.stream();
        s.on('error', reject);
        sink.on('error', reject);
        sink.on('finish', resolve);
        s.pipe(sink);
      });
    } finally {
      clearInterval(timer);
    }
    sample();
    expect(written).toBe(prepared.size);
    // Garbage is collected lazily, so allow some slack; buffering the layer would need 256 MiB (measured: ~2 MiB).
    expect(peak).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);
});
