/**
 * ADD's unpacking of a local archive into a directory, merging with what is there, with the
 * semantics of BuildKit's unpacker (solver/llbsolver/file/unpack_root.go, applyRootArchive):
 *
 * - Members land under the extraction directory only (archive-path.ts); `.`, `./` are skipped.
 * - Missing parents are created 0755, owned by 0:0.
 * - Whatever is at a member's path is removed first, unless both are directories (then they
 *   merge, and the directory's mode and owner come from the archive).
 * - Owners come from the archive, or from `--chown` when given (BuildKit ≥ 0.24 lets --chown
 *   override the archive's owners; older versions ignored --chown for archives). Modes are the
 *   archive's, special bits included; `--chmod` does not apply (as in BuildKit). mtimes are the
 *   archive's; directories get theirs after everything is written.
 * - Hardlinks must point at a member already extracted inside the directory.
 * - Extended attributes: security.capability and user.* are restored, best effort (as BuildKit,
 *   which ignores EPERM/ENOTSUP); overlay's own are never restored.
 * - Devices and fifos are created (BuildKit's newest unpacker refuses devices; Docker's older
 *   chroot unpacker created them — obox runs as root or in a user namespace that owns the dir).
 * - `.wh.*` members are ordinary files here (ADD is not a layer apply).
 *
 * Nothing is written through a symlink that is not resolved inside the directory: new files are
 * opened O_CREAT|O_EXCL|O_NOFOLLOW after the old path is removed; metadata uses l* calls.
 */
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';
import { hostFs, type TarEntry } from '../../layer/index.js';
import { selectXattrs } from '../../layer/xattrs.js';
import { archiveEntries } from './archive.js';
import { cleanMemberPath, resolveMemberPath } from './archive-path.js';
import { errnoOf, isNotFound } from './errors.js';
import type { Owner } from './chown.js';
import type { Tally } from './summary.js';

export interface ExtractOptions {
  /** Named in errors: the source as written. */
  archiveName: string;
  /** `--chown`: overrides the archive's owners. */
  owner?: Owner | undefined;
  tally: Tally;
}

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const BEST_EFFORT_XATTR = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP']);

/** Seconds for utimes; out-of-range times become the epoch, as BuildKit's boundRootTime does. */
function boundTime(t: number): number {
  return Number.isFinite(t) && t >= 0 && t < 2 ** 33 ? t : 0;
}

class Extractor {
  private readonly dirTimes: Array<{ p: string; mtime: number }> = [];

  constructor(
    private readonly root: string,
    private readonly opts: ExtractOptions,
  ) {}

  private abs(rel: string): string {
    return rel === '' ? this.root : path.join(this.root, rel);
  }

  private fail(member: string, why: string, cause?: unknown): OboxError {
    if (cause instanceof OboxError) return cause;
    const code = errnoOf(cause);
    const kind = code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS' || code === 'EIO' ? ErrorCodes.environment : ErrorCodes.invalidArchive;
    return new OboxError(kind, `${this.opts.archiveName}: cannot unpack ${JSON.stringify(member)}: ${why}`, { cause });
  }

  async apply(entry: TarEntry): Promise<void> {
    const h = entry.header;
    try {
      await this.applyEntry(entry);
    } catch (e) {
      throw this.fail(h.path, (e as Error).message, e);
    }
  }

  private async makeParents(rel: string): Promise<void> {
    const parent = path.posix.dirname(rel);
    if (parent === '.') return;
    let cur = '';
    for (const part of parent.split('/')) {
      cur = cur === '' ? part : `${cur}/${part}`;
      const p = this.abs(cur);
      try {
        await fsp.mkdir(p, 0o755);
      } catch (e) {
        if (errnoOf(e) !== 'EEXIST') throw e;
        const st = await fsp.lstat(p);
        if (st.isDirectory()) continue;
        throw new OboxError(ErrorCodes.invalidArchive, `${JSON.stringify(cur)} exists and is not a directory`);
      }
      await fsp.lchown(p, 0, 0);
      await fsp.chmod(p, 0o755);
    }
  }

  private async applyEntry(entry: TarEntry): Promise<void> {
    const h = entry.header;
    const name = cleanMemberPath(h.path);
    if (name === '') return;
    const uid = this.opts.owner?.uid ?? h.uid;
    const gid = this.opts.owner?.gid ?? h.gid;
    const rel = await resolveMemberPath(this.root, name, h.type === 'dir');
    if (rel === '') return;
    await this.makeParents(rel);
    const p = this.abs(rel);
    let existing: Awaited<ReturnType<typeof fsp.lstat>> | undefined;
    try {
      existing = await fsp.lstat(p);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (existing && !(existing.isDirectory() && h.type === 'dir')) await fsp.rm(p, { recursive: true, force: true });
    const mtime = boundTime(h.mtime);
    const tally = this.opts.tally;

    switch (h.type) {
      case 'dir': {
        try {
          await fsp.mkdir(p, h.mode & 0o777);
          tally.directories++;
        } catch (e) {
          if (errnoOf(e) !== 'EEXIST') throw e;
        }
        await fsp.lchown(p, uid, gid);
        await fsp.chmod(p, h.mode & 0o7777);
        await this.xattrs(p, entry);
        this.dirTimes.push({ p, mtime });
        return;
      }
      case 'file': {
        const fh = await fsp.open(p, CREATE, 0o600);
        try {
          for await (const chunk of entry.body()) {
            await fh.write(chunk);
            tally.bytes += chunk.length;
          }
          await fh.chown(uid, gid);
          await fh.chmod(h.mode & 0o7777);
        } finally {
          await fh.close();
        }
        await this.xattrs(p, entry);
        await fsp.lutimes(p, mtime, mtime);
        tally.files++;
        return;
      }
      case 'symlink': {
        await fsp.symlink(Buffer.from(h.linkpath, 'latin1'), p);
        await fsp.lchown(p, uid, gid);
        await fsp.lutimes(p, mtime, mtime);
        tally.symlinks++;
        return;
      }
      case 'hardlink': {
        const targetName = cleanMemberPath(h.linkpath, 'hardlink target');
        if (targetName === '') throw new OboxError(ErrorCodes.invalidArchive, 'hardlink to the extraction directory itself');
        const target = await resolveMemberPath(this.root, targetName, false);
        await fsp.link(this.abs(target), p);
        await fsp.lchown(p, uid, gid);
        if (!(await fsp.lstat(p)).isSymbolicLink()) {
          await fsp.chmod(p, h.mode & 0o7777);
          await fsp.lutimes(p, mtime, mtime);
        }
        tally.hardlinks++;
        return;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        await hostFs.mknod(Buffer.from(p), h.type, h.mode & 0o7777, h.devMajor, h.devMinor);
        await fsp.lchown(p, uid, gid);
        await fsp.chmod(p, h.mode & 0o7777);
        await fsp.lutimes(p, mtime, mtime);
        tally.others++;
        return;
      }
    }
  }

  private async xattrs(p: string, entry: TarEntry): Promise<void> {
    for (const x of selectXattrs(entry.header.xattrs)) {
      try {
        await hostFs.lsetxattr(Buffer.from(p), x.name, x.value);
      } catch (e) {
        if (!BEST_EFFORT_XATTR.has(errnoOf(e) ?? '')) throw e;
      }
    }
  }

  async finish(): Promise<void> {
    for (let i = this.dirTimes.length - 1; i >= 0; i--) {
      const d = this.dirTimes[i] as { p: string; mtime: number };
      await fsp.lutimes(d.p, d.mtime, d.mtime);
    }
  }
}

/** Unpacks the archive `file` into the existing directory `destDir` (a host path). */
export async function extractArchive(file: string, destDir: string, opts: ExtractOptions): Promise<void> {
  const x = new Extractor(path.resolve(destDir), opts);
  for await (const entry of archiveEntries(file, opts.archiveName)) await x.apply(entry);
  await x.finish();
  opts.tally.archives++;
}
