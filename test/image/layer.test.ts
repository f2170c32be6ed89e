import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Digest } from '../../src/image/digest.js';
import { layerDescriptor, layerFromCompressed, layerFromUncompressed } from '../../src/image/layer.js';
import { MediaTypes } from '../../src/image/media-type.js';
import { decompressed, readAll, verifyingStream, chain } from '../../src/image/streams.js';

const TAR = Buffer.alloc(10_240, 7); // stand-in bytes; the layer code does not look inside
const bytesOpener = (b: Buffer, counter?: { n: number }) => async () => {
  if (counter) counter.n++;
  // Chunked, to exercise streaming paths.
  return Readable.from([b.subarray(0, 3), b.subarray(3, 5000), b.subarray(5000)].filter((c) => c.byteLength > 0));
};

describe('layers', () => {
  it('derives blob digest, size and diffID from the tar, once', async () => {
    const opens = { n: 0 };
    const layer = layerFromUncompressed({ open: bytesOpener(TAR, opens) });
    const [digest, size, diffId, again] = await Promise.all([layer.digest(), layer.size(), layer.diffId(), layer.digest()]);
    expect(diffId).toBe(Digest.of(TAR));
    const blob = await readAll(await layer.compressed());
    expect(digest).toBe(Digest.of(blob));
    expect(again).toBe(digest);
    expect(size).toBe(blob.byteLength);
    expect(gunzipSync(blob)).toEqual(TAR);
    expect(await layer.mediaType()).toBe(MediaTypes.ociLayerGzip);
    expect(opens.n).toBe(2); // one pass for all digests, one for compressed()
    expect(await readAll(await layer.uncompressed())).toEqual(TAR);
  });

  it('compresses deterministically: the same tar gives the same digest', async () => {
    const a = layerFromUncompressed({ open: bytesOpener(TAR) });
    const b = layerFromUncompressed({ open: async () => Readable.from([TAR]) });
    expect(await a.digest()).toBe(await b.digest());
  });

  it('stores uncompressed when asked: digest equals diffID', async () => {
    const layer = layerFromUncompressed({ open: bytesOpener(TAR), compression: 'none' });
    expect(await layer.digest()).toBe(Digest.of(TAR));
    expect(await layer.diffId()).toBe(Digest.of(TAR));
    expect(await layer.mediaType()).toBe(MediaTypes.ociLayer);
  });

  it('fails when a given diffID does not match the tar', async () => {
    const layer = layerFromUncompressed({ open: bytesOpener(TAR), diffId: Digest.of('other') });
    await expect(layer.digest()).rejects.toThrow(/diffID mismatch/);
  });

  it('reads a compressed blob: digest, diffID by gunzip, uncompressed stream', async () => {
    const gz = gzipSync(TAR);
    const layer = layerFromCompressed({ open: bytesOpener(gz), mediaType: MediaTypes.dockerLayerGzip });
    expect(await layer.digest()).toBe(Digest.of(gz));
    expect(await layer.size()).toBe(gz.byteLength);
    expect(await layer.diffId()).toBe(Digest.of(TAR));
    expect(await readAll(await layer.uncompressed())).toEqual(TAR);
    expect(await layerDescriptor(layer, 'oci')).toEqual({ mediaType: MediaTypes.ociLayerGzip, digest: Digest.of(gz), size: gz.byteLength });
    expect((await layerDescriptor(layer)).mediaType).toBe(MediaTypes.dockerLayerGzip);
  });

  it('sniffs content: a plain tar under a gzip media type still uncompresses', async () => {
    const layer = layerFromCompressed({ open: bytesOpener(TAR), mediaType: MediaTypes.dockerLayerGzip });
    expect(await layer.diffId()).toBe(Digest.of(TAR));
  });

  it('uses the digests it was given without reading', async () => {
    const opens = { n: 0 };
    const layer = layerFromCompressed({
      open: bytesOpener(TAR, opens),
      mediaType: MediaTypes.ociLayerGzip,
      digest: Digest.of('x'),
      size: 5,
      diffId: Digest.of('y'),
    });
    expect([await layer.digest(), await layer.size(), await layer.diffId()]).toEqual([Digest.of('x'), 5, Digest.of('y')]);
    expect(opens.n).toBe(0);
  });
});

describe('stream helpers', () => {
  it('verifyingStream passes good content and fails bad digest or size', async () => {
    const data = Buffer.from('hello');
    const ok = chain(Readable.from([data]), verifyingStream({ digest: Digest.of(data), size: 5 }));
    expect(await readAll(ok)).toEqual(data);
    const bad = chain(Readable.from([data]), verifyingStream({ digest: Digest.of('other') }));
    await expect(readAll(bad)).rejects.toThrow(/does not match its digest: content has digest/);
    const long = chain(Readable.from([data]), verifyingStream({ digest: Digest.of(data), size: 4 }));
    await expect(readAll(long)).rejects.toThrow(/more than the expected 4 bytes/);
    const short = chain(Readable.from([data]), verifyingStream({ digest: Digest.of(data), size: 6 }));
    await expect(readAll(short)).rejects.toThrow(/5 bytes, expected 6/);
  });

  it('propagates a source error through chain and decompressed', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield gzipSync(TAR).subarray(0, 20);
      throw new Error('disk on fire');
    }
    await expect(readAll(await decompressed(Readable.from(failing())))).rejects.toThrow(/disk on fire/);
  });

  it('decompresses an empty stream to nothing', async () => {
    expect((await readAll(await decompressed(Readable.from([])))).byteLength).toBe(0);
  });

  it('readAll enforces a limit', async () => {
    await expect(readAll(Readable.from([Buffer.alloc(10)]), 5)).rejects.toThrow(/larger than the 5-byte limit/);
  });
});
