import { readFile, writeFile, truncate, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, OboxError } from '../../src/errors.js';
import { Store } from '../../src/cache/store/store.js';
import { Digest } from '../../src/image/digest.js';
import { readAll } from '../../src/image/streams.js';
import { failingStream, listDir, tempDir } from './helpers.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let store: Store;

beforeEach(async () => {
  dir = await tempDir();
  store = await Store.open(dir.path);
});
afterEach(async () => dir.cleanup());

const data = Buffer.from('hello, blob store\n');
const digest = Digest.of(data);

async function caught(p: Promise<unknown>): Promise<OboxError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OboxError);
    return e as OboxError;
  }
  throw new Error('expected a rejection');
}

describe('putBlob', () => {
  it('stores content under blobs/sha256/<hex> and reports it', async () => {
    const r = await store.putBlob(Readable.from([data.subarray(0, 5), data.subarray(5)]));
    expect(r).toEqual({ digest, size: data.byteLength, written: true });
    expect(await readFile(`${dir.path}/blobs/sha256/${Digest.hex(digest)}`)).toEqual(data);
    expect(await store.hasBlob(digest)).toBe(true);
    expect(await store.statBlob(digest)).toEqual({ digest, size: data.byteLength });
    expect(await listDir(`${dir.path}/tmp`)).toEqual([]);
  });

  it('treats "already exists" as success without rewriting', async () => {
    await store.putBlob(data);
    const before = await stat(store.blobs.path(digest));
    expect(await store.putBlob(data)).toMatchObject({ digest, written: false });
    expect(await store.putBlob(Readable.from([data]), { digest, size: data.byteLength })).toMatchObject({ written: false });
    expect((await stat(store.blobs.path(digest))).ino).toBe(before.ino);
  });

  it('a source failing mid-write leaves no blob and no temp file', async () => {
    const e = store.putBlob(failingStream([data, data]));
    await expect(e).rejects.toThrow('source broke');
    expect(await listDir(`${dir.path}/blobs/sha256`)).toEqual([]);
    expect(await listDir(`${dir.path}/tmp`)).toEqual([]);
  });

  it('a digest mismatch is E_INVALID_ARCHIVE and leaves nothing', async () => {
    const err = await caught(store.putBlob(data, { digest: Digest.of('something else') }));
    expect(err.code).toBe(ErrorCodes.invalidArchive);
    expect(err.message).toMatch(/content has digest/);
    expect(await listDir(`${dir.path}/blobs/sha256`)).toEqual([]);
    expect(await listDir(`${dir.path}/tmp`)).toEqual([]);
  });

  it('a size mismatch is caught, early when the source is longer', async () => {
    let pulled = 0;
    const endless = Readable.from(
      (async function* () {
        for (;;) {
          pulled++;
          yield Buffer.alloc(1024);
        }
      })(),
    );
    const err = await caught(store.putBlob(endless, { size: 4096 }));
    expect(err.code).toBe(ErrorCodes.invalidArchive);
    expect(pulled).toBeLessThan(10);
    const short = await caught(store.putBlob(data, { digest, size: data.byteLength + 1 }));
    expect(short.message).toMatch(/bytes, expected/);
    expect(await listDir(`${dir.path}/tmp`)).toEqual([]);
  });

  it('stores sha512 content when the expected digest says so', async () => {
    const d512 = Digest.of(data, 'sha512');
    expect((await store.putBlob(data, { digest: d512 })).digest).toBe(d512);
    expect(await readFile(`${dir.path}/blobs/sha512/${Digest.hex(d512)}`)).toEqual(data);
    expect(await readAll(await store.getBlob(d512))).toEqual(data);
  });

  it('handles the same content written concurrently from many promises', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 'x');
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.putBlob(
          Readable.from([big.subarray(0, i * 1000), big.subarray(i * 1000)]),
          i % 2 === 0 ? { digest: Digest.of(big) } : {},
        ),
      ),
    );
    expect(new Set(results.map((r) => r.digest))).toEqual(new Set([Digest.of(big)]));
    expect(await listDir(`${dir.path}/blobs/sha256`)).toEqual([Digest.hex(Digest.of(big))]);
    expect(await listDir(`${dir.path}/tmp`)).toEqual([]);
    expect((await readAll(await store.getBlob(Digest.of(big)))).equals(big)).toBe(true);
  });
});

describe('getBlob verifies on read', () => {
  it('returns the content', async () => {
    await store.putBlob(data);
    expect(await readAll(await store.getBlob(digest, data.byteLength))).toEqual(data);
  });

  it('a missing blob is E_NOT_FOUND', async () => {
    expect((await caught(store.getBlob(digest))).code).toBe(ErrorCodes.notFound);
    expect(await store.statBlob(digest)).toBeUndefined();
  });

  it('catches a corrupted blob (same size, one byte flipped)', async () => {
    await store.putBlob(data);
    const corrupted = Buffer.from(data);
    corrupted[3] = corrupted[3]! ^ 0xff;
    await writeFile(store.blobs.path(digest), corrupted);
    const err = await caught(readAll(await store.getBlob(digest)));
    expect(err.code).toBe(ErrorCodes.invalidArchive);
    expect(err.message).toContain(digest);
  });

  it('catches a truncated blob, by size when the descriptor gives one', async () => {
    await store.putBlob(data);
    await truncate(store.blobs.path(digest), 4);
    await expect(readAll(await store.getBlob(digest, data.byteLength))).rejects.toThrow(/4 bytes, expected/);
    await expect(readAll(await store.getBlob(digest))).rejects.toThrow(/content has digest/);
  });
});
