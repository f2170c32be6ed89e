/**
 * Tar → directory, safe against hostile archives.
 *
 * Containment: every member name is normalised and refused if absolute or containing "..";
 * every parent directory on the way is checked (lstat) to be a real directory, so a symlink
 * planted by an earlier entry (or an earlier layer) is never followed — such an archive is
 * refused; hardlink targets are held to the same rules and must already exist inside the root;
 * new files are created with O_EXCL|O_NOFOLLOW, and existing things in the way are removed, never
 * written through; ownership, times and xattrs use the no-follow calls; directory metadata is
 * applied at the end, after checking again that the path is still a real directory.
 * Checked parents are remembered (everything under the root changes only through this code), so
 * a directory costs one lstat, not one per entry.
 *
 * `unpackLayer` is atomic: it unpacks into a fresh temp dir beside the target and renames it into
 * place on success, and deletes it on any failure, so a refused archive leaves nothing behind.
 *
 * Whiteouts:
 *   'overlay': `.wh.NAME` → char device 0:0 NAME; `.wh..wh..opq` → DIR gets <ns>.overlay.opaque=y
 *              (ns trusted, or user for rootless) — the result serves as an overlay lower dir.
 *   'delete':  `.wh.NAME` deletes NAME; `.wh..wh..opq` deletes what DIR held before this layer
 *              (flattening, `type=local` export).
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { OboxError, ErrorCodes } from '../errors.js';
import { display, fromBytes, fromText, toBytes } from './bytes.js';
import { decompress } from './compress.js';
import { HashCounter, type Sha256Digest } from './digest.js';
import { errnoCode, hostFs, type FileType, type LayerFs, type WriteHandle } from './fs.js';
import { opaqueXattr, parseWhiteout, type OverlayXattrNamespace } from './overlay.js';
import type { OwnerMap } from './pack.js';
import { baseOf, joinRel, normaliseEntryPath, parentOf } from './safe-path.js';
import type { TarHeader } from './tar-format.js';
import { readTar, type TarEntry } from './tar-reader.js';
import { selectXattrs, type XattrFilter } from './xattrs.js';

export type WhiteoutMode = 'overlay' | 'delete';

export interface UnpackOptions {
  /** How to treat whiteouts; unpackLayer defaults to 'overlay', applyLayer to 'delete'. */
  whiteouts?: WhiteoutMode | undefined;
  /** The opaque xattr namespace in overlay mode: 'trusted' (default) or 'user' (rootless). */
  overlayXattrs?: OverlayXattrNamespace | undefined;
  /** Named in errors; defaults to the source path, or "layer archive" for a stream. */
  archiveName?: string | undefined;
  /** Maps the archive's ids to the ids written on disk. */
  mapOwner?: OwnerMap | undefined;
  /** Which xattrs to restore (overlay's own are never restored); default security.capability and user.*. */
  xattrFilter?: XattrFilter | undefined;
  fs?: LayerFs | undefined;
}

export interface UnpackResult {
  /** Archive members applied (extended headers not counted). */
  entries: number;
  /** sha256 and size of the decompressed tar, every byte to EOF. */
  diffId: Sha256Digest;
  uncompressedSize: number;
  /** sha256 and size of the bytes read (the blob as stored). */
  digest: Sha256Digest;
  size: number;
}

/** A path to a layer file, or its bytes as a stream (any compression obox reads). */
export type LayerSource = string | AsyncIterable<Buffer>;

interface DirMeta {
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

const ENVIRONMENT_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'ENOMEM', 'EMFILE', 'ENFILE', 'EACCES']);
const Y = Buffer.from('y');

class Applier {
  /** Relative paths known to be real directories (not symlinks), '' being the root. */
  private readonly knownDirs = new Set<string>(['']);
  private readonly deferred = new Map<string, DirMeta>();
  /** Delete mode: what this layer wrote, and the ancestors of those paths. */
  private readonly written = new Set<string>();
  private readonly writtenAncestors = new Set<string>();
  private readonly mode: WhiteoutMode;
  private readonly ns: OverlayXattrNamespace;

  constructor(
    private readonly root: Buffer,
    private readonly fs: LayerFs,
    private readonly opts: UnpackOptions,
    private readonly archive: string,
    defaultMode: WhiteoutMode,
  ) {
    this.mode = opts.whiteouts ?? defaultMode;
    this.ns = opts.overlayXattrs ?? 'trusted';
  }

  private abs(rel: string): Buffer {
    return rel === '' ? this.root : Buffer.concat([this.root, toBytes(`/${rel}`)]);
  }

  private hostile(entryPath: string, reason: string): OboxError {
    return new OboxError(ErrorCodes.invalidArchive, `${this.archive}: refusing entry ${display(entryPath)}: ${reason}`);
  }

  private wrap(entryPath: string, e: unknown): OboxError {
    if (e instanceof OboxError) return e;
    const code = errnoCode(e);
    const kind = code !== undefined && ENVIRONMENT_ERRNOS.has(code) ? ErrorCodes.environment : ErrorCodes.invalidArchive;
    return new OboxError(kind, `${this.archive}: cannot unpack entry ${display(entryPath)}: ${(e as Error).message}`, { cause: e });
  }

  async apply(entry: TarEntry): Promise<void> {
    try {
      await this.applyEntry(entry);
    } catch (e) {
      throw this.wrap(entry.header.path, e);
    }
  }

  private async applyEntry(entry: TarEntry): Promise<void> {
    const h = entry.header;
    const name = normaliseEntryPath(h.path);
    if (!name.ok) throw this.hostile(h.path, name.reason);
    const rel = name.rel;
    if (rel === '') {
      if (h.type !== 'dir') throw this.hostile(h.path, 'an entry for the root that is not a directory');
      await this.setXattrs('', h, 'dir');
      this.deferred.set('', this.dirMeta(h));
      return;
    }
    const parent = parentOf(rel);
    const wh = parseWhiteout(baseOf(rel));
    if (wh) {
      if (wh.kind === 'opaque') await this.opaque(parent, h.path);
      else if (wh.kind === 'whiteout') await this.whiteout(parent, wh.name, h.path);
      return; // 'meta': old tools' bookkeeping, not content
    }
    await this.ensureDir(parent, h.path, true);
    const p = this.abs(rel);
    switch (h.type) {
      case 'dir': {
        await this.mkdirOrKeep(rel);
        this.knownDirs.add(rel);
        this.markWritten(rel);
        await this.setXattrs(rel, h, 'dir');
        this.deferred.set(rel, this.dirMeta(h));
        return;
      }
      case 'file': {
        const fh = await this.createReplacing(rel, () => this.fs.createFile(p, 0o600));
        try {
          for await (const chunk of entry.body()) await writeAll(fh, chunk);
        } finally {
          await fh.close();
        }
        break;
      }
      case 'symlink': {
        if (h.linkpath === '') throw this.hostile(h.path, 'symlink with an empty target');
        await this.createReplacing(rel, () => this.fs.symlink(toBytes(h.linkpath), p));
        break;
      }
      case 'hardlink': {
        const target = await this.hardlinkTarget(rel, h);
        await this.createReplacing(rel, () => this.fs.link(this.abs(target), p));
        this.markWritten(rel);
        return; // a hardlink shares the target's inode and metadata
      }
      case 'char':
      case 'block':
      case 'fifo': {
        await this.createReplacing(rel, () => this.fs.mknod(p, h.type as 'char' | 'block' | 'fifo', 0o600, h.devMajor, h.devMinor));
        break;
      }
    }
    this.markWritten(rel);
    await this.setMetadata(rel, h);
  }

  private dirMeta(h: TarHeader): DirMeta {
    const owner = this.owner(h);
    return { mode: h.mode, uid: owner.uid, gid: owner.gid, mtime: h.mtime };
  }

  private owner(h: TarHeader): { uid: number; gid: number } {
    return this.opts.mapOwner ? this.opts.mapOwner(h.uid, h.gid) : { uid: h.uid, gid: h.gid };
  }

  private markWritten(rel: string): void {
    if (this.mode !== 'delete') return;
    this.written.add(rel);
    for (let p = parentOf(rel); p !== ''; p = parentOf(p)) {
      if (this.writtenAncestors.has(p)) break;
      this.writtenAncestors.add(p);
    }
  }

  /**
   * Makes sure every component of rel is a real directory, creating missing ones when asked.
   * Returns false when something is missing and create is false.
   */
  private async ensureDir(rel: string, entryPath: string, create: boolean, whose = 'its parent'): Promise<boolean> {
    if (this.knownDirs.has(rel)) return true;
    let cur = '';
    for (const part of rel.split('/')) {
      cur = joinRel(cur, part);
      if (this.knownDirs.has(cur)) continue;
      let type: FileType;
      try {
        type = (await this.fs.lstat(this.abs(cur))).type;
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
        if (!create) return false;
        await this.fs.mkdir(this.abs(cur), 0o755);
        this.knownDirs.add(cur);
        this.markWritten(cur);
        continue;
      }
      if (type === 'symlink') throw this.hostile(entryPath, `${whose} ${display(cur)} is a symlink`);
      if (type !== 'dir') throw this.hostile(entryPath, `${whose} ${display(cur)} is not a directory`);
      this.knownDirs.add(cur);
    }
    return true;
  }

  /** Forgets what we knew about rel (and, for a directory, everything under it). */
  private forget(rel: string, wasDir: boolean): void {
    this.knownDirs.delete(rel);
    this.deferred.delete(rel);
    if (!wasDir) return;
    const prefix = `${rel}/`;
    for (const k of this.knownDirs) if (k.startsWith(prefix)) this.knownDirs.delete(k);
    for (const k of this.deferred.keys()) if (k.startsWith(prefix)) this.deferred.delete(k);
  }

  /** Removes whatever is at rel (rm -rf, never following a symlink). */
  private async removeExisting(rel: string): Promise<void> {
    let type: FileType;
    try {
      type = (await this.fs.lstat(this.abs(rel))).type;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return;
      throw e;
    }
    this.forget(rel, type === 'dir');
    await this.fs.remove(this.abs(rel));
  }

  /** Runs create; if something is already at rel, removes it and runs create again. */
  private async createReplacing<T>(rel: string, create: () => Promise<T>): Promise<T> {
    try {
      return await create();
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    await this.removeExisting(rel);
    return create();
  }

  private async mkdirOrKeep(rel: string): Promise<void> {
    try {
      await this.fs.mkdir(this.abs(rel), 0o700);
      return;
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    if ((await this.fs.lstat(this.abs(rel))).type === 'dir') return;
    await this.removeExisting(rel);
    await this.fs.mkdir(this.abs(rel), 0o700);
  }

  private async hardlinkTarget(rel: string, h: TarHeader): Promise<string> {
    const t = normaliseEntryPath(h.linkpath);
    if (!t.ok) throw this.hostile(h.path, `hardlink target ${display(h.linkpath)}: ${t.reason}`);
    if (t.rel === '') throw this.hostile(h.path, 'hardlink to the root');
    if (t.rel === rel) throw this.hostile(h.path, 'hardlink to itself');
    if (parseWhiteout(baseOf(t.rel))) throw this.hostile(h.path, `hardlink to a whiteout ${display(h.linkpath)}`);
    const missing = this.hostile(h.path, `hardlink target ${display(h.linkpath)} does not exist in the archive`);
    if (!(await this.ensureDir(parentOf(t.rel), h.path, false, 'the parent of its hardlink target'))) throw missing;
    let type: FileType;
    try {
      type = (await this.fs.lstat(this.abs(t.rel))).type;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw missing;
      throw e;
    }
    if (type === 'dir') throw this.hostile(h.path, `hardlink to a directory ${display(h.linkpath)}`);
    return t.rel;
  }

  private async setMetadata(rel: string, h: TarHeader): Promise<void> {
    const p = this.abs(rel);
    const { uid, gid } = this.owner(h);
    // chown first: it clears setuid/setgid bits and file capabilities, which come after.
    await this.fs.lchown(p, uid, gid);
    if (h.type !== 'symlink') await this.fs.chmod(p, h.mode);
    await this.setXattrs(rel, h, h.type);
    await this.fs.lutimes(p, h.mtime, h.mtime);
  }

  private async setXattrs(rel: string, h: TarHeader, type: TarHeader['type']): Promise<void> {
    for (const x of selectXattrs(h.xattrs, this.opts.xattrFilter)) {
      try {
        await this.fs.lsetxattr(this.abs(rel), x.name, x.value);
      } catch (e) {
        // Linux allows user.* only on regular files and directories: nothing to restore elsewhere.
        const code = errnoCode(e);
        const special = type !== 'file' && type !== 'dir';
        if (special && x.name.startsWith('user.') && (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP')) continue;
        throw e;
      }
    }
  }

  private async whiteout(parent: string, name: string, entryPath: string): Promise<void> {
    const target = joinRel(parent, name);
    if (this.mode === 'overlay') {
      await this.ensureDir(parent, entryPath, true);
      await this.removeExisting(target);
      await this.fs.mknod(this.abs(target), 'char', 0, 0, 0);
      this.markWritten(target);
      return;
    }
    if (!(await this.ensureDir(parent, entryPath, false))) return; // nothing there to delete
    await this.removeExisting(target);
  }

  private async opaque(dir: string, entryPath: string): Promise<void> {
    if (this.mode === 'overlay') {
      await this.ensureDir(dir, entryPath, true);
      await this.fs.lsetxattr(this.abs(dir), opaqueXattr(this.ns), Y);
      return;
    }
    if (!(await this.ensureDir(dir, entryPath, false))) return;
    await this.clearExcept(dir);
  }

  /** Delete mode: removes everything under dir that this layer did not write. */
  private async clearExcept(dir: string): Promise<void> {
    for (const nameBytes of await this.fs.readdir(this.abs(dir))) {
      const child = joinRel(dir, fromBytes(nameBytes));
      if (this.writtenAncestors.has(child)) {
        await this.clearExcept(child);
      } else if (this.written.has(child)) {
        if (this.knownDirs.has(child)) await this.clearExcept(child);
      } else {
        await this.removeExisting(child);
      }
    }
  }

  /** Directory ownership, modes and times, once nothing more will be written into them. */
  async finish(): Promise<void> {
    for (const [rel, m] of this.deferred) {
      const p = this.abs(rel);
      try {
        if ((await this.fs.lstat(p)).type !== 'dir') continue;
        await this.fs.lchown(p, m.uid, m.gid);
        await this.fs.chmod(p, m.mode);
        await this.fs.lutimes(p, m.mtime, m.mtime);
      } catch (e) {
        throw this.wrap(rel, e);
      }
    }
  }
}

async function writeAll(fh: WriteHandle, chunk: Buffer): Promise<void> {
  let off = 0;
  while (off < chunk.length) off += await fh.write(chunk, off, chunk.length - off);
}

async function openSource(source: LayerSource): Promise<AsyncIterable<Buffer>> {
  if (typeof source !== 'string') return source;
  try {
    const fh = await fsp.open(source, 'r');
    return fh.createReadStream({ highWaterMark: 256 * 1024 });
  } catch (cause) {
    const code = errnoCode(cause) === 'ENOENT' ? ErrorCodes.notFound : ErrorCodes.environment;
    throw new OboxError(code, `cannot open layer ${source}: ${(cause as Error).message}`, { cause });
  }
}

async function applyStream(source: LayerSource, root: Buffer, opts: UnpackOptions, defaultMode: WhiteoutMode): Promise<UnpackResult> {
  const archive = opts.archiveName ?? (typeof source === 'string' ? source : 'layer archive');
  const input = await openSource(source);
  const raw = new HashCounter();
  const plain = new HashCounter();
  const applier = new Applier(root, opts.fs ?? hostFs, opts, archive, defaultMode);
  let entries = 0;
  const tar = readTar(plain.through(decompress(raw.through(input), archive)), { archiveName: archive, drain: true });
  for await (const entry of tar) {
    await applier.apply(entry);
    entries++;
  }
  await applier.finish();
  return { entries, diffId: plain.digest(), uncompressedSize: plain.size, digest: raw.digest(), size: raw.size };
}

/** Creates a fresh private directory beside target. */
async function makeTemp(fs: LayerFs, targetAbs: string): Promise<Buffer> {
  const parent = dirname(targetAbs);
  try {
    await fsp.mkdir(parent, { recursive: true });
  } catch (cause) {
    throw new OboxError(ErrorCodes.environment, `cannot create ${parent}: ${(cause as Error).message}`, { cause });
  }
  const tmp = toBytes(fromText(join(parent, `.${basename(targetAbs)}.tmp-${randomBytes(6).toString('hex')}`)));
  await fs.mkdir(tmp, 0o700);
  return tmp;
}

async function intoFreshDir(target: string, fs: LayerFs, fill: (root: Buffer) => Promise<void>): Promise<void> {
  const targetAbs = resolve(target);
  const targetBytes = toBytes(fromText(targetAbs));
  try {
    await fs.lstat(targetBytes);
    throw new OboxError(ErrorCodes.store, `cannot unpack into ${targetAbs}: it already exists`);
  } catch (e) {
    if (e instanceof OboxError) throw e;
    if (errnoCode(e) !== 'ENOENT') throw new OboxError(ErrorCodes.environment, `cannot check ${targetAbs}: ${(e as Error).message}`, { cause: e });
  }
  let tmp: Buffer;
  try {
    tmp = await makeTemp(fs, targetAbs);
  } catch (cause) {
    if (cause instanceof OboxError) throw cause;
    throw new OboxError(ErrorCodes.environment, `cannot create a temp dir beside ${targetAbs}: ${(cause as Error).message}`, { cause });
  }
  try {
    await fs.chmod(tmp, 0o755); // the root's mode unless the archive has an entry for it
    await fill(tmp);
    try {
      await fs.rename(tmp, targetBytes);
    } catch (cause) {
      const code = errnoCode(cause);
      if (code === 'EEXIST' || code === 'ENOTEMPTY') {
        throw new OboxError(ErrorCodes.store, `cannot unpack into ${targetAbs}: it appeared meanwhile`, { cause });
      }
      throw new OboxError(ErrorCodes.environment, `cannot rename the unpacked layer to ${targetAbs}: ${(cause as Error).message}`, { cause });
    }
  } catch (e) {
    await fs.remove(tmp).catch(() => undefined);
    throw e;
  }
}

/**
 * Unpacks a layer into target, which must not exist yet: all or nothing. Whiteouts default to
 * overlay form, so target can serve as an overlay lower dir.
 */
export async function unpackLayer(source: LayerSource, target: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const fs = opts.fs ?? hostFs;
  let result: UnpackResult | undefined;
  await intoFreshDir(target, fs, async (root) => {
    result = await applyStream(source, root, opts, 'overlay');
  });
  return result as UnpackResult;
}

/**
 * Applies a layer on top of an existing directory (whiteouts default to 'delete'). Not atomic:
 * a refused archive leaves the directory partly changed (never anything outside it); use
 * flattenLayers, or unpack into a temp dir of your own, when that matters.
 */
export async function applyLayer(source: LayerSource, dir: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const root = toBytes(fromText(resolve(dir)));
  const fs = opts.fs ?? hostFs;
  try {
    if ((await fs.lstat(root)).type !== 'dir') throw new Error('not a directory');
  } catch (cause) {
    throw new OboxError(ErrorCodes.notFound, `cannot apply a layer to ${resolve(dir)}: ${(cause as Error).message}`, { cause });
  }
  return applyStream(source, root, opts, 'delete');
}

/**
 * Applies layers bottom to top into target, which must not exist yet, deleting what whiteouts
 * name: the image's filesystem as one directory. All or nothing.
 */
export async function flattenLayers(sources: readonly LayerSource[], target: string, opts: Omit<UnpackOptions, 'whiteouts'> = {}): Promise<UnpackResult[]> {
  const fs = opts.fs ?? hostFs;
  const results: UnpackResult[] = [];
  await intoFreshDir(target, fs, async (root) => {
    for (const source of sources) results.push(await applyStream(source, root, { ...opts, whiteouts: 'delete' }, 'delete'));
  });
  return results;
}
