/**
 * Directory → tar stream.
 *
 * First a walk collects every entry's metadata (lstat, xattrs, symlink targets — no contents),
 * then the entries are sorted by the bytes of their full path (a directory's path is a prefix of
 * its contents' paths, so it always comes first), hardlinks are resolved (the first path of a
 * dev+inode pair in that order is the file, later ones are hardlink entries), and the tar is
 * produced as a stream, file contents read in bounded chunks.
 *
 * Overlay mode turns an overlay upper dir into an OCI layer: whiteout devices become `.wh.NAME`
 * and opaque dirs are followed by `DIR/.wh..wh..opq`.
 *
 * Determinism: the output depends only on names, types, modes, ids, sizes, mtimes (clamped to
 * SOURCE_DATE_EPOCH when given), link targets, device numbers, selected xattrs and contents —
 * never on atime, ctime, inode numbers, directory order or the clock.
 */
import { join, resolve } from 'node:path';
import { OboxError, ErrorCodes } from '../errors.js';
import { errnoCode, hostFs, yieldToEventLoop, type FileInfo, type LayerFs } from './fs.js';
import { display, fromBytes, fromText, toBytes } from './bytes.js';
import { checkPlainUpper, isOpaqueDir, isWhiteoutDevice, refuseWhiteoutName, OPAQUE_MARKER, WHITEOUT_PREFIX, type OverlayXattrNamespace } from './overlay.js';
import { selectXattrs, type XattrFilter } from './xattrs.js';
import { END_OF_ARCHIVE, encodeHeader, paddingFor, type TarHeader } from './tar-format.js';

export interface OwnerMap {
  (uid: number, gid: number): { uid: number; gid: number };
}

export interface PackOptions {
  /** Write an overlay upper dir as an OCI layer (whiteouts, opaque dirs). */
  overlay?: { xattrs: OverlayXattrNamespace } | undefined;
  /** Clamp every mtime to at most this (seconds since the epoch). Not read from the environment. */
  sourceDateEpoch?: number | undefined;
  /** Maps host ownership to the ids written in the archive (rootless builds). */
  mapOwner?: OwnerMap | undefined;
  /** Which xattrs to keep (overlay's own are dropped regardless); default security.capability and user.*. */
  xattrFilter?: XattrFilter | undefined;
  fs?: LayerFs | undefined;
}

/** One planned archive member: its header and, for regular files, where its content is. */
interface Planned {
  header: TarHeader;
  /** Source path relative to the root (byte string), for reading content; '' when none. */
  source: string;
  /** dev:ino of a file with other links. */
  linkKey?: string;
  /** An opaque dir: emit DIR/.wh..wh..opq right after it. */
  opaque?: boolean;
}

/** Entries between turns given to the event loop (hostFs calls are synchronous). */
const YIELD_EVERY = 512;
const READ_CHUNK = 1024 * 1024;
const OUTPUT_CHUNK = 64 * 1024;

function ioError(root: string, rel: string, cause: unknown): OboxError {
  if (cause instanceof OboxError) return cause;
  const where = rel === '' ? root : join(root, Buffer.from(rel, 'latin1').toString('utf8'));
  return new OboxError(ErrorCodes.environment, `cannot read ${where} while writing a layer: ${(cause as Error).message}`, { cause });
}

function clamp(mtime: number, epoch: number | undefined): number {
  return epoch !== undefined && mtime > epoch ? epoch : mtime;
}

/** A metadata-only entry (whiteout, opaque marker): fixed owner, mode and time, so deterministic. */
function markerHeader(path: string): TarHeader {
  return { path, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0, linkpath: '', devMajor: 0, devMinor: 0, xattrs: [] };
}

async function planEntry(root: Buffer, rel: string, info: FileInfo, opts: PackOptions, fs: LayerFs): Promise<Planned | undefined> {
  const slash = rel.lastIndexOf('/');
  const dir = slash === -1 ? '' : rel.slice(0, slash + 1);
  const base = rel.slice(slash + 1);
  refuseWhiteoutName(rel, base);
  if (info.type === 'socket') return undefined;
  if (opts.overlay && isWhiteoutDevice(info)) return { header: markerHeader(dir + WHITEOUT_PREFIX + base), source: '' };

  const abs = Buffer.concat([root, toBytes(`/${rel}`)]);
  const allXattrs = await fs.lgetxattrs(abs);
  let opaque = false;
  if (opts.overlay) {
    checkPlainUpper(rel, allXattrs, opts.overlay.xattrs);
    opaque = info.type === 'dir' && isOpaqueDir(allXattrs, opts.overlay.xattrs);
  }
  const owner = opts.mapOwner ? opts.mapOwner(info.uid, info.gid) : { uid: info.uid, gid: info.gid };
  const header: TarHeader = {
    path: rel,
    type: info.type,
    mode: info.mode,
    uid: owner.uid,
    gid: owner.gid,
    size: info.type === 'file' ? info.size : 0,
    mtime: clamp(info.mtime, opts.sourceDateEpoch),
    linkpath: info.type === 'symlink' ? fromBytes(await fs.readlink(abs)) : '',
    devMajor: info.devMajor,
    devMinor: info.devMinor,
    xattrs: selectXattrs(allXattrs, opts.xattrFilter),
  };
  const planned: Planned = { header, source: info.type === 'file' ? rel : '' };
  if (info.type !== 'dir' && info.nlink > 1) planned.linkKey = `${info.dev}:${info.ino}`;
  if (opaque) planned.opaque = true;
  return planned;
}

/** Walks root and returns the archive members in output order (without contents). */
export async function planDirectory(rootDir: string, opts: PackOptions = {}): Promise<TarHeader[]> {
  return (await plan(rootDir, opts)).map((p) => p.header);
}

async function plan(rootDir: string, opts: PackOptions): Promise<Planned[]> {
  const fs = opts.fs ?? hostFs;
  const rootText = resolve(rootDir);
  const root = toBytes(fromText(rootText));
  const out: Planned[] = [];
  const dirs: string[] = [''];
  try {
    const rootInfo = await fs.lstat(root);
    if (rootInfo.type !== 'dir') throw new OboxError(ErrorCodes.notFound, `cannot write a layer from ${rootText}: not a directory`);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new OboxError(ErrorCodes.notFound, `cannot write a layer from ${rootText}: no such directory`, { cause: e });
    throw ioError(rootText, '', e);
  }
  let sinceYield = 0;
  while (dirs.length > 0) {
    const dirRel = dirs.pop() as string;
    let names: Buffer[];
    try {
      names = await fs.readdir(dirRel === '' ? root : Buffer.concat([root, toBytes(`/${dirRel}`)]));
    } catch (e) {
      throw ioError(rootText, dirRel, e);
    }
    for (const nameBytes of names) {
      const rel = (dirRel === '' ? '' : `${dirRel}/`) + fromBytes(nameBytes);
      let p: Planned | undefined;
      try {
        const info = await fs.lstat(Buffer.concat([root, toBytes(`/${rel}`)]));
        p = await planEntry(root, rel, info, opts, fs);
        if (p && info.type === 'dir') dirs.push(rel);
      } catch (e) {
        throw ioError(rootText, rel, e);
      }
      if (p) out.push(p);
      if (++sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await yieldToEventLoop();
      }
    }
  }

  // Byte order of the full path. Whiteout names sort by their .wh. name, as they appear.
  out.sort((a, b) => (a.header.path < b.header.path ? -1 : a.header.path > b.header.path ? 1 : 0));

  const firstPath = new Map<string, string>();
  const result: Planned[] = [];
  for (const p of out) {
    if (p.linkKey !== undefined) {
      const first = firstPath.get(p.linkKey);
      if (first === undefined) {
        firstPath.set(p.linkKey, p.header.path);
      } else {
        p.header = { ...p.header, type: 'hardlink', linkpath: first, size: 0, devMajor: 0, devMinor: 0, xattrs: [] };
        p.source = '';
      }
    }
    result.push(p);
    if (p.opaque) result.push({ header: markerHeader(`${p.header.path}/${OPAQUE_MARKER}`), source: '' });
  }
  return result;
}

/** Collects small pieces into output chunks of about OUTPUT_CHUNK bytes. */
class Batcher {
  private parts: Buffer[] = [];
  private length = 0;

  add(b: Buffer): Buffer | undefined {
    this.parts.push(b);
    this.length += b.length;
    return this.length >= OUTPUT_CHUNK ? this.take() : undefined;
  }

  take(): Buffer | undefined {
    if (this.length === 0) return undefined;
    const out = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.length);
    this.parts = [];
    this.length = 0;
    return out;
  }
}

async function* fileContent(fs: LayerFs, abs: Buffer, size: number): AsyncGenerator<Buffer> {
  const fh = await fs.openRead(abs);
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(left, READ_CHUNK));
      const bytesRead = await fh.read(buf, 0, buf.length);
      if (bytesRead === 0) throw new Error(`file shrank while being read (expected ${size} bytes)`);
      left -= bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/**
 * The uncompressed tar of rootDir as a stream of chunks. The walk happens when iteration starts;
 * file contents are read as the consumer pulls.
 */
export async function* packDirectory(rootDir: string, opts: PackOptions = {}): AsyncGenerator<Buffer> {
  const fs = opts.fs ?? hostFs;
  const rootText = resolve(rootDir);
  const root = toBytes(fromText(rootText));
  const entries = await plan(rootDir, opts);
  const batch = new Batcher();
  for (const e of entries) {
    const full = batch.add(encodeHeader(e.header));
    if (full) yield full;
    if (e.header.type !== 'file' || e.header.size === 0) continue;
    try {
      for await (const chunk of fileContent(fs, Buffer.concat([root, toBytes(`/${e.source}`)]), e.header.size)) {
        if (chunk.length >= OUTPUT_CHUNK) {
          const pending = batch.take();
          if (pending) yield pending;
          yield chunk;
        } else {
          const out = batch.add(chunk);
          if (out) yield out;
        }
      }
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        throw new OboxError(ErrorCodes.environment, `${display(e.source)} vanished while writing a layer from ${rootText}`, { cause: err });
      }
      throw ioError(rootText, e.source, err);
    }
    const pad = paddingFor(e.header.size);
    if (pad > 0) {
      const out = batch.add(Buffer.alloc(pad));
      if (out) yield out;
    }
  }
  const last = batch.add(Buffer.from(END_OF_ARCHIVE));
  if (last) yield last;
  const rest = batch.take();
  if (rest) yield rest;
}
