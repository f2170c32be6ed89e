/**
 * Thousands of random and mutated headers: the reader and the unpacker never crash, never hang,
 * never write outside the target. Each run either unpacks inside the target or throws OboxError.
 * Seeded, so a failure is reproducible (the seed and iteration are in the assertion message).
 */
import { existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OboxError } from '../../src/errors.js';
import { encodeHeader, readTar, unpackLayer, type TarHeader } from '../../src/layer/index.js';
import { BLOCK, END_OF_ARCHIVE, F, computeChecksum, paddingFor } from '../../src/layer/tar-format.js';
import { requires } from '../helpers/requirements.js';
import { listing, useScratch } from './helpers.js';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function h(over: Partial<TarHeader>): TarHeader {
  return { path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_700_000_000, linkpath: '', devMajor: 0, devMinor: 0, xattrs: [], ...over };
}

/** A small valid archive with every kind of entry; returns it and the offsets of its ustar headers. */
function baseArchive(): { tar: Buffer; headerOffsets: number[] } {
  const entries: TarHeader[] = [
    h({ path: 'dir', type: 'dir', mode: 0o755 }),
    h({ path: 'dir/file', size: 700, uid: 1000, gid: 1000 }),
    h({ path: 'link', type: 'symlink', linkpath: '../outside' }),
    h({ path: 'dir/hard', type: 'hardlink', linkpath: 'dir/file' }),
    h({ path: 'fifo', type: 'fifo' }),
    h({ path: 'char', type: 'char', devMajor: 1, devMinor: 3 }),
    h({ path: `${'l'.repeat(120)}/${'m'.repeat(60)}`, size: 3 }),
    h({ path: 'x', size: 5, xattrs: [{ name: 'user.x', value: Buffer.from('1') }] }),
    h({ path: '.wh.gone' }),
    h({ path: 'dir/.wh..wh..opq' }),
  ];
  const parts: Buffer[] = [];
  const headerOffsets: number[] = [];
  let off = 0;
  for (const e of entries) {
    const hb = encodeHeader(e);
    headerOffsets.push(off + hb.length - BLOCK);
    parts.push(hb);
    off += hb.length;
    if (e.size > 0) {
      const data = Buffer.concat([Buffer.alloc(e.size, 0x41), Buffer.alloc(paddingFor(e.size))]);
      parts.push(data);
      off += data.length;
    }
  }
  parts.push(END_OF_ARCHIVE);
  return { tar: Buffer.concat(parts), headerOffsets };
}

const NAMES = ['..', '../x', '/abs', 'link/x', 'link', 'dir', 'dir/file/x', '', '.', './', 'a/../b', '.wh.link', '.wh..wh..opq', 'x'.repeat(100), 'fifo/x', 'char/x', 'dir/hard/y', '.wh..', 'link/../../x'];
const LINKS = ['../outside/secret', '/etc/passwd', 'link', 'dir', 'link/secret', '', 'dir/file', 'nonexistent', '.', 'fifo', 'char', '.wh.gone'];
const FLAGS = [...'0123456x gLKSV7\0'];

function setField(block: Buffer, [off, len]: readonly [number, number], text: string): void {
  block.fill(0, off, off + len);
  block.write(text, off, len, 'latin1');
}

function fixChecksum(block: Buffer): void {
  block.write(`${computeChecksum(block).unsigned.toString(8).padStart(6, '0')}\0 `, F.chksum[0], 'latin1');
}

function mutate(rand: () => number, base: { tar: Buffer; headerOffsets: number[] }): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const tar = Buffer.from(base.tar);
  const kind = Math.floor(rand() * 6);
  if (kind === 0) {
    // Raw byte flips anywhere (mostly caught by checksums).
    for (let n = 1 + Math.floor(rand() * 8); n > 0; n--) tar[Math.floor(rand() * tar.length)] = Math.floor(rand() * 256);
    return tar;
  }
  if (kind === 1) return tar.subarray(0, Math.floor(rand() * tar.length)); // truncation
  if (kind === 2) {
    // A random header with a valid checksum spliced in at a header boundary.
    const block = Buffer.alloc(BLOCK);
    for (let i = 0; i < BLOCK; i++) block[i] = rand() < 0.5 ? 0 : Math.floor(rand() * 256);
    block[F.typeflag[0]] = pick(FLAGS).charCodeAt(0);
    setField(block, F.size, Math.floor(rand() * 4096).toString(8));
    fixChecksum(block);
    const at = pick(base.headerOffsets);
    return Buffer.concat([tar.subarray(0, at), block, tar.subarray(at)]);
  }
  // Structured field mutations with valid checksums, so they reach the unpacker.
  for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
    const at = pick(base.headerOffsets);
    const block = tar.subarray(at, at + BLOCK);
    switch (Math.floor(rand() * 7)) {
      case 0:
        setField(block, F.name, pick(NAMES));
        break;
      case 1:
        setField(block, F.linkname, pick(LINKS));
        break;
      case 2:
        block[F.typeflag[0]] = pick(FLAGS).charCodeAt(0);
        break;
      case 3:
        setField(block, F.size, pick(['0', '1', '777', '1000', '1001', '77777777777', 'zz', Math.floor(rand() * 1e6).toString(8)]));
        break;
      case 4:
        setField(block, pick([F.mode, F.uid, F.gid]), pick(['7777777', '0', '4755', '-1', '7777 77', Math.floor(rand() * 1e6).toString(8)]));
        break;
      case 5:
        setField(block, F.mtime, pick(['0', '77777777777', '', 'abc', Math.floor(rand() * 1e9).toString(8)]));
        break;
      case 6:
        setField(block, F.prefix, pick(['..', '/', 'link', 'dir', '']));
        break;
    }
    if (rand() < 0.95) fixChecksum(block);
  }
  return tar;
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  // Odd chunk sizes exercise the reader's buffering.
  for (let i = 0; i < b.length; i += 777) yield b.subarray(i, i + 777);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

describe('fuzzed tar input', () => {
  it('the reader ends or throws OboxError on 20000 mutated archives', async () => {
    const base = baseArchive();
    const rand = mulberry32(0x0b0c5eed);
    let ok = 0;
    for (let i = 0; i < 20000; i++) {
      const input = mutate(rand, base);
      try {
        await withTimeout(
          (async () => {
            for await (const e of readTar(once(input), { archiveName: `fuzz#${i}` })) {
              if (i % 2 === 0) for await (const _ of e.body()) void _; // read half, skip half
            }
          })(),
          5000,
          `reader iteration ${i}`,
        );
        ok++;
      } catch (e) {
        if (!(e instanceof OboxError)) throw new Error(`iteration ${i}: ${String(e)}`, { cause: e });
      }
    }
    expect(ok).toBeGreaterThan(100); // the mutations are not all fatal: deeper paths are reached
  });
});

describe.skipIf(!requires({ root: true }))('fuzzed layers unpacked', () => {
  const scratch = useScratch();

  it('2000 mutated layers: unpacked inside the target or refused with OboxError, never outside', async () => {
    const dir = await scratch.dir('fuzz');
    const outside = join(dir, 'outside');
    await fsp.mkdir(outside);
    await fsp.writeFile(join(outside, 'secret'), 'secret\n');
    const before = await listing(dir);
    const base = baseArchive();
    const rand = mulberry32(0x5eed0b0c);
    let unpacked = 0;
    for (let i = 0; i < 2000; i++) {
      const input = mutate(rand, base);
      const target = join(dir, 'target');
      try {
        await withTimeout(unpackLayer(once(input), target, { archiveName: `fuzz#${i}` }), 10_000, `unpack iteration ${i}`);
        unpacked++;
      } catch (e) {
        if (!(e instanceof OboxError)) throw new Error(`iteration ${i}: ${String(e)}`, { cause: e });
        expect(existsSync(target), `iteration ${i} left the target`).toBe(false);
      }
      await fsp.rm(target, { recursive: true, force: true });
      const now = await listing(dir);
      expect(now, `iteration ${i} left something beside the target`).toEqual(before);
      expect(await listing(outside), `iteration ${i} wrote outside`).toEqual(['secret']);
      const st = await fsp.stat(join(outside, 'secret'));
      expect([st.size, st.nlink, st.mode & 0o7777], `iteration ${i} touched outside/secret`).toEqual([7, 1, 0o644]);
    }
    expect(existsSync('/x')).toBe(false);
    expect(unpacked).toBeGreaterThan(50);
  }, 240_000);
});
