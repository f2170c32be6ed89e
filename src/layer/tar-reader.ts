/**
 * Streaming tar reader: ustar, PAX ('x'; 'g' is read and ignored), GNU long names ('L', 'K'),
 * GNU base-256 numbers. Nothing is buffered beyond one header (and bounded PAX data); file
 * contents stream through `body()`.
 *
 * Strict, because layers are untrusted input: a bad checksum, a malformed field or PAX record,
 * an unsupported entry type, or a stream that ends before the end-of-archive marker is an
 * OboxError(invalidArchive) naming the archive, the entry and the offset.
 */
import { OboxError, ErrorCodes } from '../errors.js';
import type { Xattr } from './fs.js';
import { display } from './bytes.js';
import {
  BLOCK,
  F,
  TarFormatError,
  XATTR_PAX_PREFIX,
  computeChecksum,
  isZeroBlock,
  paddingFor,
  parsePax,
  readNumeric,
  readString,
  type EntryType,
  type TarHeader,
} from './tar-format.js';

/** Upper bounds for metadata held in memory. */
const MAX_PAX_SIZE = 8 * 1024 * 1024;
const MAX_LONGNAME_SIZE = 64 * 1024;

export interface TarEntry {
  header: TarHeader;
  /** Byte offset of the entry's first header block in the (uncompressed) archive. */
  offset: number;
  /** The content; may be read once, or not at all (the reader skips what is left). */
  body(): AsyncGenerator<Buffer>;
}

export interface ReadTarOptions {
  /** Named in errors. */
  archiveName: string;
  /** Keep reading (and discarding) after the end-of-archive marker, so hashes see every byte. */
  drain?: boolean;
}

const typeByFlag: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file: a regular file everywhere that matters
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

/** Exact-size reads over an async iterable of chunks. */
class ByteSource {
  private buf: Buffer = Buffer.alloc(0);
  private off = 0;
  private ended = false;
  position = 0;

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private get available(): number {
    return this.buf.length - this.off;
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    const chunk = r.value;
    this.buf = this.available === 0 ? chunk : Buffer.concat([this.buf.subarray(this.off), chunk]);
    this.off = 0;
    return true;
  }

  /** Exactly n bytes, or null at a clean end of stream; throws on a partial read. */
  async readExact(n: number): Promise<Buffer | null> {
    while (this.available < n) {
      if (!(await this.fill())) {
        if (this.available === 0) return null;
        throw new TarFormatError('unexpected end of archive');
      }
    }
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    this.position += n;
    return out;
  }

  /** n bytes as a series of chunks. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.available === 0 && !(await this.fill())) throw new TarFormatError('unexpected end of archive');
      const take = Math.min(left, this.available);
      const out = this.buf.subarray(this.off, this.off + take);
      this.off += take;
      this.position += take;
      left -= take;
      yield out;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.stream(n)) {
      // discard
    }
  }

  async drain(): Promise<void> {
    this.off = this.buf.length;
    while (await this.fill()) this.off = this.buf.length;
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

function parseDecimal(value: Buffer, key: string, allowNegative: boolean): number {
  const text = value.toString('latin1');
  // PAX times may carry a fraction; obox keeps whole seconds.
  const m = /^(-?)([0-9]{1,16})(\.[0-9]*)?$/.exec(text);
  if (!m || (m[1] === '-' && !allowNegative) || (m[3] !== undefined && key !== 'mtime')) {
    throw new TarFormatError(`malformed PAX ${key} value`);
  }
  let n = Number(m[2]);
  if (m[1] === '-') n = m[3] && /[1-9]/.test(m[3]) ? -n - 1 : -n;
  if (!Number.isSafeInteger(n)) throw new TarFormatError(`PAX ${key} out of range`);
  return n;
}

const MAX_ID = 0xfffffffe; // (uid_t)-1 means "unchanged" to chown

function nameFromData(data: Buffer): string {
  const nul = data.indexOf(0);
  return data.toString('latin1', 0, nul === -1 ? data.length : nul);
}

/**
 * The entries of a tar stream, in order. Each entry's body must be read (or left) before asking
 * for the next entry.
 */
export async function* readTar(source: AsyncIterable<Buffer>, opts: ReadTarOptions): AsyncGenerator<TarEntry> {
  const src = new ByteSource(source[Symbol.asyncIterator]());
  let current = '';
  let previous = '';
  let entryOffset = 0;
  const fail = (cause: unknown): OboxError => {
    if (cause instanceof OboxError) return cause;
    const what =
      current !== ''
        ? `in entry ${display(current)} at offset ${entryOffset}`
        : previous !== ''
          ? `at offset ${entryOffset}, after entry ${display(previous)}`
          : `at offset ${entryOffset}`;
    const reason = cause instanceof TarFormatError ? cause.message : `read error: ${(cause as Error).message}`;
    return new OboxError(ErrorCodes.invalidArchive, `${opts.archiveName}: ${reason} ${what}`, { cause });
  };

  try {
    let pax: Map<string, Buffer> | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    let seen = 0;
    for (;;) {
      let block: Buffer | null;
      current = '';
      try {
        if (pax === undefined && longName === undefined && longLink === undefined) entryOffset = src.position;
        block = await src.readExact(BLOCK);
        if (block === null) {
          throw new TarFormatError(seen === 0 ? 'empty archive (no end-of-archive marker)' : 'archive ends without an end-of-archive marker (truncated?)');
        }
      } catch (e) {
        throw fail(e);
      }

      if (isZeroBlock(block)) {
        if (pax !== undefined || longName !== undefined || longLink !== undefined) {
          throw fail(new TarFormatError('extended header not followed by an entry'));
        }
        // End of archive. A second zero block should follow; tolerate its absence at EOF.
        try {
          if (opts.drain) await src.drain();
        } catch (e) {
          throw fail(e);
        }
        return;
      }

      let header: TarHeader;
      let dataSize: number;
      try {
        current = readString(block, F.name);
        const sum = computeChecksum(block);
        const stored = readNumeric(block, F.chksum, 'chksum');
        if (stored !== sum.unsigned && stored !== sum.signed) throw new TarFormatError('bad header checksum');
        const flag = String.fromCharCode(block[F.typeflag[0]] as number);
        const size = readNumeric(block, F.size, 'size');

        if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
          const limit = flag === 'x' || flag === 'g' ? MAX_PAX_SIZE : MAX_LONGNAME_SIZE;
          if (size > limit) throw new TarFormatError(`extended header too large (${size} bytes)`);
          const data = size === 0 ? Buffer.alloc(0) : await src.readExact(size);
          if (data === null) throw new TarFormatError('unexpected end of archive');
          await src.skip(paddingFor(size));
          if (flag === 'x') {
            const records = parsePax(data);
            pax ??= new Map();
            for (const [k, v] of records) pax.set(k, v);
          } else if (flag === 'g') {
            parsePax(data); // validated, but global defaults do not belong in layers
          } else if (flag === 'L') {
            longName = nameFromData(data);
          } else {
            longLink = nameFromData(data);
          }
          continue;
        }

        const type = typeByFlag[flag];
        if (type === undefined) throw new TarFormatError(`unsupported entry type ${JSON.stringify(flag)}`);

        const magic = block.toString('latin1', F.magic[0], F.magic[0] + 6);
        let path = readString(block, F.name);
        if (magic === 'ustar\0') {
          const prefix = readString(block, F.prefix);
          if (prefix !== '') path = `${prefix}/${path}`;
        }
        let linkpath = readString(block, F.linkname);
        let uid = readNumeric(block, F.uid, 'uid');
        let gid = readNumeric(block, F.gid, 'gid');
        let mtime = readNumeric(block, F.mtime, 'mtime');
        let fileSize = size;
        const xattrs: Xattr[] = [];
        if (longName !== undefined) path = longName;
        if (longLink !== undefined) linkpath = longLink;
        if (pax) {
          for (const [key, value] of pax) {
            switch (key) {
              case 'path':
                path = value.toString('latin1');
                break;
              case 'linkpath':
                linkpath = value.toString('latin1');
                break;
              case 'size':
                fileSize = parseDecimal(value, key, false);
                break;
              case 'uid':
                uid = parseDecimal(value, key, false);
                break;
              case 'gid':
                gid = parseDecimal(value, key, false);
                break;
              case 'mtime':
                mtime = parseDecimal(value, key, true);
                break;
              default:
                if (key.startsWith(XATTR_PAX_PREFIX)) {
                  const name = key.slice(XATTR_PAX_PREFIX.length);
                  if (name === '') throw new TarFormatError('empty xattr name in PAX header');
                  xattrs.push({ name, value });
                } else if (key.startsWith('GNU.sparse.')) {
                  throw new TarFormatError('sparse files are not supported');
                }
              // atime, ctime, uname, gname, hdrcharset, comment, others: not used.
            }
          }
        }
        current = path;
        if (path.includes('\0') || linkpath.includes('\0')) throw new TarFormatError('NUL byte in a name');
        if (uid > MAX_ID || gid > MAX_ID) throw new TarFormatError('uid or gid out of range');
        const hasData = type === 'file';
        dataSize = hasData ? fileSize : 0;
        header = {
          path,
          type,
          mode: readNumeric(block, F.mode, 'mode') & 0o7777,
          uid,
          gid,
          size: dataSize,
          mtime,
          linkpath,
          devMajor: type === 'char' || type === 'block' ? readNumeric(block, F.devmajor, 'devmajor') : 0,
          devMinor: type === 'char' || type === 'block' ? readNumeric(block, F.devminor, 'devminor') : 0,
          xattrs,
        };
        pax = undefined;
        longName = undefined;
        longLink = undefined;
      } catch (e) {
        throw fail(e);
      }

      seen++;
      let left = dataSize;
      const entry: TarEntry = {
        header,
        offset: entryOffset,
        body: async function* () {
          try {
            for await (const chunk of src.stream(left)) {
              left -= chunk.length;
              yield chunk;
            }
          } catch (e) {
            throw fail(e);
          }
        },
      };
      yield entry;
      try {
        await src.skip(left + paddingFor(dataSize));
      } catch (e) {
        throw fail(e);
      }
      previous = current;
    }
  } finally {
    await src.close();
  }
}
