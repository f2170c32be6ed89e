import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OboxError, ErrorCodes } from '../../src/errors.js';
import {
  BLOCK,
  F,
  PAX_HEADER_NAME,
  computeChecksum,
  encodeHeader,
  END_OF_ARCHIVE,
  paddingFor,
  parsePax,
  paxRecord,
  readNumeric,
  readString,
  writeNumeric,
  type TarHeader,
} from '../../src/layer/tar-format.js';
import { readTar } from '../../src/layer/tar-reader.js';
import { normaliseEntryPath } from '../../src/layer/safe-path.js';
import { parseWhiteout } from '../../src/layer/overlay.js';
import { selectXattrs } from '../../src/layer/xattrs.js';
import { hasTool } from '../helpers/requirements.js';
import { useScratch } from './helpers.js';

function hdr(over: Partial<TarHeader>): TarHeader {
  return { path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1700000000, linkpath: '', devMajor: 0, devMinor: 0, xattrs: [], ...over };
}

/** An archive of headers whose file contents are `size` bytes of 'x'. */
function archive(headers: TarHeader[]): Buffer {
  const parts: Buffer[] = [];
  for (const h of headers) {
    parts.push(encodeHeader(h));
    if (h.type === 'file' && h.size > 0) parts.push(Buffer.alloc(h.size, 0x78), Buffer.alloc(paddingFor(h.size)));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

async function* chunks(b: Buffer, size = 333): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function readAll(b: Buffer): Promise<Array<{ header: TarHeader; content: Buffer }>> {
  const out: Array<{ header: TarHeader; content: Buffer }> = [];
  for await (const e of readTar(chunks(b), { archiveName: 'test.tar' })) {
    const parts: Buffer[] = [];
    for await (const c of e.body()) parts.push(c);
    out.push({ header: e.header, content: Buffer.concat(parts) });
  }
  return out;
}

describe('tar numeric fields', () => {
  it('writes octal with a NUL when it fits, base-256 beyond', () => {
    const b = Buffer.alloc(BLOCK);
    writeNumeric(b, F.uid, 0o7777777);
    expect(b.toString('latin1', 108, 116)).toBe('7777777\0');
    expect(readNumeric(b, F.uid, 'uid')).toBe(0o7777777);
    writeNumeric(b, F.uid, 0o7777777 + 1);
    expect(b[108]).toBe(0x80);
    expect(readNumeric(b, F.uid, 'uid')).toBe(0o7777777 + 1);
    writeNumeric(b, F.size, 20 * 1024 ** 3);
    expect(readNumeric(b, F.size, 'size')).toBe(20 * 1024 ** 3);
  });

  it('reads space-padded octal and rejects garbage', () => {
    const b = Buffer.alloc(BLOCK);
    b.write('   644 \0', 100, 'latin1');
    expect(readNumeric(b, F.mode, 'mode')).toBe(0o644);
    b.write('12x4567\0', 100, 'latin1');
    expect(() => readNumeric(b, F.mode, 'mode')).toThrow(/invalid character/);
  });
});

describe('PAX records', () => {
  it('gets the self-counting length right around digit boundaries', () => {
    for (let n = 0; n < 1100; n++) {
      const rec = paxRecord('k', Buffer.alloc(n, 0x61));
      const len = Number(rec.toString('latin1').split(' ')[0]);
      expect(len).toBe(rec.length);
      expect(parsePax(rec).get('k')?.length).toBe(n);
    }
  });

  it('keeps binary values (capabilities) intact and rejects malformed records', () => {
    const value = Buffer.from([0, 1, 0x0a, 0x3d, 0xff, 0]);
    const parsed = parsePax(Buffer.concat([paxRecord('SCHILY.xattr.security.capability', value), paxRecord('path', Buffer.from('a=b'))]));
    expect(parsed.get('SCHILY.xattr.security.capability')).toEqual(value);
    expect(parsed.get('path')?.toString()).toBe('a=b');
    expect(() => parsePax(Buffer.from('5 a=b\n'))).toThrow();
    expect(() => parsePax(Buffer.from('99 a=b\n'))).toThrow();
    expect(() => parsePax(Buffer.from('x a=b\n'))).toThrow();
  });
});

describe('encodeHeader', () => {
  it('writes plain ustar for short ASCII names, with a valid checksum and empty uname/gname', () => {
    const b = encodeHeader(hdr({ path: 'usr/bin/x', uid: 1234, gid: 5678 }));
    expect(b.length).toBe(BLOCK);
    expect(readString(b, F.magic)).toBe('ustar');
    expect(readString(b, F.uname)).toBe('');
    expect(readString(b, F.gname)).toBe('');
    expect(readNumeric(b, F.chksum, 'chksum')).toBe(computeChecksum(b).unsigned);
  });

  it('uses one fixed PAX header for long and non-ASCII names, big sizes and xattrs, records sorted', () => {
    const longPath = `${'d'.repeat(150)}/${'f'.repeat(150)}`;
    const b = encodeHeader(
      hdr({
        path: longPath,
        size: 9 * 1024 ** 3,
        xattrs: [{ name: 'user.foo', value: Buffer.from('bar') }],
      }),
    );
    expect(readString(b, F.name)).toBe(PAX_HEADER_NAME);
    expect(String.fromCharCode(b[156] as number)).toBe('x');
    const size = readNumeric(b, F.size, 'size');
    const recs = parsePax(b.subarray(BLOCK, BLOCK + size));
    expect([...recs.keys()]).toEqual(['SCHILY.xattr.user.foo', 'path', 'size']);
    expect(recs.get('path')?.toString('latin1')).toBe(longPath);
    expect(recs.get('size')?.toString()).toBe(String(9 * 1024 ** 3));
    const nonAscii = encodeHeader(hdr({ path: Buffer.from('ünï/名前', 'utf8').toString('latin1') }));
    expect(readString(nonAscii, F.name)).toBe(PAX_HEADER_NAME);
  });

  it('is a pure function: same header, same bytes', () => {
    const h = hdr({ path: `${'x'.repeat(200)}`, xattrs: [{ name: 'user.a', value: Buffer.from('1') }] });
    expect(encodeHeader(h).equals(encodeHeader({ ...h }))).toBe(true);
  });
});

describe('readTar', () => {
  it('reads back everything the writer encodes', async () => {
    const headers: TarHeader[] = [
      hdr({ path: 'dir/', type: 'dir', mode: 0o1777 }),
      hdr({ path: 'dir/file', size: 1000, mode: 0o4755, uid: 1234, gid: 5678 }),
      hdr({ path: `${'p'.repeat(120)}/${'q'.repeat(120)}/${'r'.repeat(70)}`, size: 3 }),
      hdr({ path: 'link', type: 'symlink', linkpath: 't'.repeat(120) }),
      hdr({ path: 'hard', type: 'hardlink', linkpath: 'dir/file' }),
      hdr({ path: 'null', type: 'char', devMajor: 1, devMinor: 3 }),
      hdr({ path: 'loop', type: 'block', devMajor: 7, devMinor: 0 }),
      hdr({ path: 'fifo', type: 'fifo' }),
      hdr({ path: 'big-ids', uid: 3_000_000, gid: 4_000_000, mtime: -5 }),
      hdr({ path: 'x', xattrs: [{ name: 'security.capability', value: Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0]) }] }),
    ];
    const got = await readAll(archive(headers));
    expect(got.map((g) => ({ ...g.header, path: g.header.path.replace(/\/$/, '') }))).toEqual(
      headers.map((h) => ({ ...h, path: h.path.replace(/\/$/, '') })),
    );
    expect(got[1]?.content.equals(Buffer.alloc(1000, 0x78))).toBe(true);
  });

  it('reads GNU long names and the ustar prefix field', async () => {
    const long = 'L'.repeat(300);
    const data = Buffer.from(`${long}\0`);
    const gnu = Buffer.from(encodeHeader(hdr({ path: '././@LongLink', size: data.length })));
    gnu[156] = 'L'.charCodeAt(0);
    gnu.write('        ', 148, 'latin1');
    gnu.write(`${computeChecksum(gnu).unsigned.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const prefixed = Buffer.from(encodeHeader(hdr({ path: 'name' })));
    prefixed.write('some/prefix', 345, 'latin1');
    prefixed.write(`${computeChecksum(prefixed).unsigned.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const tar = Buffer.concat([gnu, data, Buffer.alloc(paddingFor(data.length)), encodeHeader(hdr({ path: 'short' })), prefixed, END_OF_ARCHIVE]);
    const got = await readAll(tar);
    expect(got.map((g) => g.header.path)).toEqual([long, 'some/prefix/name']);
  });

  it('names the archive and entry on a bad checksum or truncation', async () => {
    const good = archive([hdr({ path: 'a', size: 10 }), hdr({ path: 'b', size: 2000 })]);
    const bad = Buffer.from(good);
    bad[BLOCK * 2 + 5] = (bad[BLOCK * 2 + 5] as number) ^ 1; // in the header of b
    await expect(readAll(bad)).rejects.toThrow(/test\.tar: bad header checksum in entry "b"/);
    await expect(readAll(good.subarray(0, BLOCK * 3 + 100))).rejects.toThrow(/test\.tar: unexpected end of archive in entry "b"/);
    await expect(readAll(good.subarray(0, BLOCK * 2))).rejects.toThrow(/end-of-archive marker/);
    const e = await readAll(bad).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OboxError);
    expect((e as OboxError).code).toBe(ErrorCodes.invalidArchive);
  });

  it('refuses oversized extended headers without allocating them', async () => {
    const h = Buffer.from(encodeHeader(hdr({ path: 'p' })));
    h[156] = 'x'.charCodeAt(0);
    writeNumeric(h, F.size, 50 * 1024 ** 3);
    h.write('        ', 148, 'latin1');
    h.write(`${computeChecksum(h).unsigned.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    await expect(readAll(Buffer.concat([h, END_OF_ARCHIVE]))).rejects.toThrow(/extended header too large/);
  });
});

describe('entry names', () => {
  it('normalises and refuses escapes', () => {
    expect(normaliseEntryPath('./a//b/./c/')).toEqual({ ok: true, rel: 'a/b/c', parts: ['a', 'b', 'c'] });
    expect(normaliseEntryPath('./')).toMatchObject({ ok: true, rel: '' });
    expect(normaliseEntryPath('/etc/passwd')).toMatchObject({ ok: false, reason: 'absolute path' });
    expect(normaliseEntryPath('a/../../b')).toMatchObject({ ok: false });
    expect(normaliseEntryPath('a\0b')).toMatchObject({ ok: false });
  });

  it('classifies whiteout names', () => {
    expect(parseWhiteout('.wh..wh..opq')).toEqual({ kind: 'opaque' });
    expect(parseWhiteout('.wh.foo')).toEqual({ kind: 'whiteout', name: 'foo' });
    expect(parseWhiteout('.wh..wh.plnk')).toEqual({ kind: 'meta' });
    expect(parseWhiteout('.wh..')).toEqual({ kind: 'meta' });
    expect(parseWhiteout('foo')).toBeUndefined();
  });
});

describe('xattr policy', () => {
  it('keeps security.capability and user.*, drops selinux, other namespaces and overlay bookkeeping', () => {
    const v = Buffer.from('v');
    const names = ['user.z', 'security.selinux', 'trusted.overlay.opaque', 'user.overlay.opaque', 'security.capability', 'trusted.foo', 'system.posix_acl_access', 'user.a'];
    expect(selectXattrs(names.map((name) => ({ name, value: v }))).map((x) => x.name)).toEqual(['security.capability', 'user.a', 'user.z']);
    // A permissive filter still never lets overlay's own attributes through.
    expect(selectXattrs(names.map((name) => ({ name, value: v })), () => true).map((x) => x.name)).not.toContain('trusted.overlay.opaque');
    expect(selectXattrs(names.map((name) => ({ name, value: v })), () => true).map((x) => x.name)).not.toContain('user.overlay.opaque');
  });
});

describe.skipIf(!hasTool('tar'))('GNU tar reads the encoded headers', () => {
  const scratch = useScratch();
  it('lists PAX size beyond 8 GiB, long names, devices and numeric ids', async () => {
    const dir = await scratch.dir('format');
    const file = join(dir, 'h.tar');
    const long = `${'a'.repeat(99)}/${'b'.repeat(99)}/${'c'.repeat(99)}`;
    const tar = archive([hdr({ path: long, size: 5, uid: 1234, gid: 5678 }), hdr({ path: 'dev', type: 'char', devMajor: 1, devMinor: 3, mode: 0o666 })]);
    // The huge entry's content is left out: GNU tar lists it, then reports the short archive.
    const huge = encodeHeader(hdr({ path: 'huge', size: 9 * 1024 ** 3 }));
    await fsp.writeFile(file, Buffer.concat([tar.subarray(0, tar.length - END_OF_ARCHIVE.length), huge]));
    const r = spawnSync('tar', ['-tvf', file, '--numeric-owner'], { encoding: 'utf8' });
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^-rw-r--r-- 1234/5678 +5 .* ${long}$`));
    expect(lines[1]).toMatch(/^crw-rw-rw- 0\/0 +1,3 .* dev$/);
    expect(lines[2]).toMatch(/^-rw-r--r-- 0\/0 +9663676416 .* huge$/);
  });
});
