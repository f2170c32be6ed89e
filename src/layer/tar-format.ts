/**
 * The tar format itself, with no I/O: ustar header blocks, PAX extended-header records, numeric
 * fields (octal, or GNU base-256 when octal overflows), checksums.
 *
 * Writing uses ustar plus PAX, as Docker and BuildKit layers do. Everything written is a pure
 * function of the header: the PAX header's own name is fixed, its records are sorted by key, and
 * nothing comes from the clock — so the same entries always give the same bytes.
 */
import type { Xattr } from './fs.js';
import { isAscii, toBytes } from './bytes.js';

export const BLOCK = 512;

export type EntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

/** One archive member as obox writes and reads it. */
export interface TarHeader {
  /** Byte string; the writer adds a trailing '/' for directories. */
  path: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Content size; 0 for everything but regular files. */
  size: number;
  /** Whole seconds since the epoch. */
  mtime: number;
  /** Symlink target or hardlink target (byte string); '' otherwise. */
  linkpath: string;
  devMajor: number;
  devMinor: number;
  /** Extended attributes, as SCHILY.xattr.* records. */
  xattrs: Xattr[];
}

export const typeflagOf: Record<EntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

/** The fixed name of every PAX extended header obox writes (no PID, no time: deterministic). */
export const PAX_HEADER_NAME = '././@PaxHeader';
export const XATTR_PAX_PREFIX = 'SCHILY.xattr.';

const NAME_LEN = 100;
const MAX_OCTAL_7 = 0o7777777; // 8-byte fields: 7 digits and a NUL
const MAX_OCTAL_11 = 0o77777777777; // 12-byte fields: 11 digits and a NUL

// Field offsets and lengths of the ustar header.
export const F = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

/** Writes a non-negative integer: octal digits and a NUL when they fit, else GNU base-256. */
export function writeNumeric(block: Buffer, [off, len]: readonly [number, number], value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`tar numeric field: bad value ${value}`);
  const digits = value.toString(8);
  if (digits.length <= len - 1) {
    block.write(digits.padStart(len - 1, '0'), off, 'latin1');
    block[off + len - 1] = 0;
    return;
  }
  block.fill(0, off, off + len);
  let v = BigInt(value);
  for (let i = off + len - 1; i > off; i--) {
    block[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  block[off] = 0x80;
}

/** Reads an octal (space/NUL padded) or base-256 numeric field; throws on anything else. */
export function readNumeric(block: Buffer, [off, len]: readonly [number, number], field: string): number {
  const first = block[off] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) throw new TarFormatError(`negative base-256 value in ${field}`);
    let v = BigInt(first & 0x7f);
    for (let i = off + 1; i < off + len; i++) v = (v << 8n) | BigInt(block[i] ?? 0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TarFormatError(`value too large in ${field}`);
    return Number(v);
  }
  let i = off;
  const end = off + len;
  while (i < end && block[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = block[i] as number;
    if (c >= 0x30 && c <= 0x37) {
      v = v * 8 + (c - 0x30);
      digits++;
    } else break;
  }
  for (; i < end; i++) {
    const c = block[i] as number;
    if (c !== 0 && c !== 0x20) throw new TarFormatError(`invalid character in numeric field ${field}`);
  }
  if (digits > 17) throw new TarFormatError(`value too large in ${field}`);
  return v;
}

/** A NUL-terminated string field as a byte string. */
export function readString(block: Buffer, [off, len]: readonly [number, number]): string {
  const end = block.indexOf(0, off);
  return block.toString('latin1', off, end === -1 || end > off + len ? off + len : end);
}

export function computeChecksum(block: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return { unsigned, signed };
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** One PAX record "LEN KEY=VALUE\n", LEN counting the whole record including itself. */
export function paxRecord(key: string, value: Buffer): Buffer {
  const keyBytes = toBytes(key);
  const rest = 1 + keyBytes.length + 1 + value.length + 1; // ' ' key '=' value '\n'
  let digits = String(rest).length;
  let len = rest + digits;
  if (String(len).length !== digits) {
    digits = String(len).length;
    len = rest + digits;
  }
  return Buffer.concat([Buffer.from(`${len} `, 'latin1'), keyBytes, Buffer.from('=', 'latin1'), value, Buffer.from('\n', 'latin1')]);
}

/** Parses PAX records into key → value (keys as byte strings). Strict: malformed input throws. */
export function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    // GNU tar and others may pad the data with NULs.
    if (data[pos] === 0) {
      for (let i = pos; i < data.length; i++) if (data[i] !== 0) throw new TarFormatError('malformed PAX header');
      break;
    }
    const space = data.indexOf(0x20, pos);
    if (space === -1 || space - pos > 12) throw new TarFormatError('malformed PAX record length');
    const lenText = data.toString('latin1', pos, space);
    if (!/^[1-9][0-9]*$/.test(lenText)) throw new TarFormatError('malformed PAX record length');
    const len = Number(lenText);
    const end = pos + len;
    if (end > data.length || end <= space + 1 || data[end - 1] !== 0x0a) throw new TarFormatError('malformed PAX record');
    const eq = data.indexOf(0x3d, space + 1);
    if (eq === -1 || eq >= end - 1 || eq === space + 1) throw new TarFormatError('malformed PAX record');
    const key = data.toString('latin1', space + 1, eq);
    if (key.includes('\0')) throw new TarFormatError('NUL in PAX key');
    out.set(key, Buffer.from(data.subarray(eq + 1, end - 1)));
    pos = end;
  }
  return out;
}

function fitsName(s: string): boolean {
  return s.length <= NAME_LEN && isAscii(s) && !s.includes('\0');
}

/** What goes in a 100-byte name field when the real name lives in a PAX record. */
function placeholderName(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '_').slice(0, NAME_LEN);
}

function ustarBlock(fields: {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  devMajor: number;
  devMinor: number;
}): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(fields.name, F.name[0], F.name[1], 'latin1');
  writeNumeric(b, F.mode, fields.mode);
  writeNumeric(b, F.uid, fields.uid);
  writeNumeric(b, F.gid, fields.gid);
  writeNumeric(b, F.size, fields.size);
  writeNumeric(b, F.mtime, fields.mtime);
  b.write(fields.typeflag, F.typeflag[0], 1, 'latin1');
  b.write(fields.linkname, F.linkname[0], F.linkname[1], 'latin1');
  b.write('ustar\x0000', F.magic[0], 8, 'latin1');
  // uname and gname stay empty: numeric ids only.
  writeNumeric(b, F.devmajor, fields.devMajor);
  writeNumeric(b, F.devminor, fields.devMinor);
  const sum = computeChecksum(b).unsigned;
  b.write(`${sum.toString(8).padStart(6, '0')}\x00 `, F.chksum[0], 8, 'latin1');
  return b;
}

export function paddingFor(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

/**
 * The header blocks of one entry: a PAX extended header when anything does not fit ustar
 * (long or non-ASCII path or link target, size ≥ 8 GiB, large ids, negative or huge mtime,
 * xattrs), then the ustar header. The caller writes the content and its padding.
 */
export function encodeHeader(h: TarHeader): Buffer {
  const records = new Map<string, Buffer>();
  const path = h.type === 'dir' && !h.path.endsWith('/') ? `${h.path}/` : h.path;
  if (!fitsName(path)) records.set('path', toBytes(path));
  if (h.linkpath !== '' && !fitsName(h.linkpath)) records.set('linkpath', toBytes(h.linkpath));
  const size = h.type === 'file' ? h.size : 0;
  if (size > MAX_OCTAL_11) records.set('size', Buffer.from(String(size)));
  if (h.uid > MAX_OCTAL_7) records.set('uid', Buffer.from(String(h.uid)));
  if (h.gid > MAX_OCTAL_7) records.set('gid', Buffer.from(String(h.gid)));
  if (h.mtime < 0 || h.mtime > MAX_OCTAL_11) records.set('mtime', Buffer.from(String(h.mtime)));
  for (const x of h.xattrs) records.set(XATTR_PAX_PREFIX + x.name, x.value);
  // Names that are not UTF-8 go into PAX as raw bytes, without hdrcharset=BINARY: GNU tar 1.34
  // warns about that keyword, and it and Go's archive/tar read the raw bytes correctly anyway.

  const main = ustarBlock({
    name: records.has('path') ? placeholderName(path) : path,
    mode: h.mode & 0o7777,
    uid: h.uid > MAX_OCTAL_7 ? 0 : h.uid,
    gid: h.gid > MAX_OCTAL_7 ? 0 : h.gid,
    size: size > MAX_OCTAL_11 ? 0 : size,
    mtime: h.mtime < 0 || h.mtime > MAX_OCTAL_11 ? 0 : h.mtime,
    typeflag: typeflagOf[h.type],
    linkname: records.has('linkpath') ? placeholderName(h.linkpath) : h.linkpath,
    devMajor: h.devMajor,
    devMinor: h.devMinor,
  });
  if (records.size === 0) return main;

  const keys = [...records.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const data = Buffer.concat(keys.map((k) => paxRecord(k, records.get(k) as Buffer)));
  const paxHeader = ustarBlock({
    name: PAX_HEADER_NAME,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: 0,
    typeflag: 'x',
    linkname: '',
    devMajor: 0,
    devMinor: 0,
  });
  return Buffer.concat([paxHeader, data, Buffer.alloc(paddingFor(data.length)), main]);
}

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

/** A structural problem in tar bytes; the reader turns it into an OboxError naming the archive. */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}
