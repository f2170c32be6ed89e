/**
 * The one small interface through which the layer code touches the filesystem (the idea of
 * umoci's pkg/fseval): the packer and the unpacker call nothing else, so a rootless variant
 * (ownership kept in an xattr, devices replaced, trusted.* mapped to user.*) slots in by
 * wrapping or replacing `hostFs`.
 *
 * Paths are Buffers: file names are bytes on Linux, and a JS string would lose names that are
 * not valid UTF-8. Nothing here follows a final symlink except where the name says so
 * (`chmod` must never be called on a symlink; the callers know the type).
 *
 * The interface is async (a rootless variant may need to be), but `hostFs` makes its syscalls
 * synchronously. Measured on 100k small files: an fs/promises call costs 5-7 times the syscall
 * it wraps (thread-pool round trip, promise, FileHandle bookkeeping), which made async I/O the
 * bottleneck of both packing and unpacking. Each call blocks for microseconds; the walkers hand
 * the event loop a turn every few hundred entries (`yieldToEventLoop`), so timers and signal
 * handlers keep running.
 */
import * as fs from 'node:fs';
import { constants } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { native } from './native.js';

export type FileType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** What the layer code needs to know about one file (from lstat). */
export interface FileInfo {
  type: FileType;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Modification time in whole seconds (floored). */
  mtime: number;
  nlink: number;
  /** Device and inode together identify hardlinks. */
  dev: bigint;
  ino: bigint;
  /** For char and block devices. */
  devMajor: number;
  devMinor: number;
}

export interface Xattr {
  /** The attribute name as a byte string (latin1: one character per byte). */
  name: string;
  value: Buffer;
}

/** An open file being read. */
export interface ReadHandle {
  /** Reads up to length bytes into buf at offset; 0 at end of file. */
  read(buf: Buffer, offset: number, length: number): Promise<number>;
  close(): Promise<void>;
}

/** An open file being written. */
export interface WriteHandle {
  /** Writes up to length bytes of buf from offset; returns how many were written. */
  write(buf: Buffer, offset: number, length: number): Promise<number>;
  close(): Promise<void>;
}

export interface LayerFs {
  lstat(path: Buffer): Promise<FileInfo>;
  /** Names (bytes) of a directory's entries, without "." and "..", in no particular order. */
  readdir(path: Buffer): Promise<Buffer[]>;
  readlink(path: Buffer): Promise<Buffer>;
  /** Opens a regular file for reading (a final symlink is refused). */
  openRead(path: Buffer): Promise<ReadHandle>;
  /** All extended attributes of path itself (a final symlink is not followed). */
  lgetxattrs(path: Buffer): Promise<Xattr[]>;

  mkdir(path: Buffer, mode: number): Promise<void>;
  /** Creates a new regular file for writing: fails with EEXIST on anything already there, symlinks included. */
  createFile(path: Buffer, mode: number): Promise<WriteHandle>;
  symlink(target: Buffer, path: Buffer): Promise<void>;
  /** A hardlink at path to existing (link(2): a symlink `existing` is linked itself, not followed). */
  link(existing: Buffer, path: Buffer): Promise<void>;
  mknod(path: Buffer, type: 'char' | 'block' | 'fifo', mode: number, major: number, minor: number): Promise<void>;
  lchown(path: Buffer, uid: number, gid: number): Promise<void>;
  /** chmod(2); never called on a symlink. */
  chmod(path: Buffer, mode: number): Promise<void>;
  /** Sets atime and mtime (seconds) of path itself. */
  lutimes(path: Buffer, atime: number, mtime: number): Promise<void>;
  lsetxattr(path: Buffer, name: string, value: Buffer): Promise<void>;
  /** rm -rf without following symlinks; absent is fine. */
  remove(path: Buffer): Promise<void>;
  rename(from: Buffer, to: Buffer): Promise<void>;
}

const S_IFMT = 0o170000;
const typeByMode: Record<number, FileType> = {
  0o100000: 'file',
  0o040000: 'dir',
  0o120000: 'symlink',
  0o020000: 'char',
  0o060000: 'block',
  0o010000: 'fifo',
  0o140000: 'socket',
};
const modeByType = { char: constants.S_IFCHR, block: constants.S_IFBLK, fifo: constants.S_IFIFO } as const;

/** Linux's dev_t encoding (glibc gnu_dev_major/minor). */
export function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

function floorSeconds(ns: bigint): number {
  let s = ns / 1_000_000_000n;
  if (ns < 0n && s * 1_000_000_000n !== ns) s -= 1n;
  return Number(s);
}

export function fileInfoFromStats(st: BigIntStats): FileInfo {
  const fmt = Number(st.mode) & S_IFMT;
  const type = typeByMode[fmt];
  if (type === undefined) throw new Error(`unknown file type ${fmt.toString(8)}`);
  const dev = type === 'char' || type === 'block' ? splitDev(st.rdev) : { major: 0, minor: 0 };
  return {
    type,
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    mtime: floorSeconds(st.mtimeNs),
    nlink: Number(st.nlink),
    dev: st.dev,
    ino: st.ino,
    devMajor: dev.major,
    devMinor: dev.minor,
  };
}

const createFlags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** The real filesystem as root sees it: node:fs (synchronous calls, see above) plus the native addon. */
export const hostFs: LayerFs = {
  async lstat(path) {
    return fileInfoFromStats(fs.lstatSync(path, { bigint: true }));
  },
  async readdir(path) {
    return fs.readdirSync(path, { encoding: 'buffer' });
  },
  async readlink(path) {
    return fs.readlinkSync(path, { encoding: 'buffer' });
  },
  async openRead(path) {
    // O_NONBLOCK: should a fifo have replaced the file since lstat, open must not hang on it.
    const fd = fs.openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    return {
      async read(buf, offset, length) {
        return fs.readSync(fd, buf, offset, length, null);
      },
      async close() {
        fs.closeSync(fd);
      },
    };
  },
  async lgetxattrs(path) {
    const flat = native().lgetxattrs(path);
    const out: Xattr[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ name: flat[i] as string, value: flat[i + 1] as Buffer });
    return out;
  },
  async mkdir(path, mode) {
    fs.mkdirSync(path, { mode });
  },
  async createFile(path, mode) {
    const fd = fs.openSync(path, createFlags, mode);
    return {
      async write(buf, offset, length) {
        return fs.writeSync(fd, buf, offset, length);
      },
      async close() {
        fs.closeSync(fd);
      },
    };
  },
  async symlink(target, path) {
    fs.symlinkSync(target, path);
  },
  async link(existing, path) {
    fs.linkSync(existing, path);
  },
  async mknod(path, type, mode, major, minor) {
    native().mknod(path, modeByType[type] | (mode & 0o7777), major, minor);
  },
  async lchown(path, uid, gid) {
    fs.lchownSync(path, uid, gid);
  },
  async chmod(path, mode) {
    fs.chmodSync(path, mode);
  },
  async lutimes(path, atime, mtime) {
    fs.lutimesSync(path, atime, mtime);
  },
  async lsetxattr(path, name, value) {
    native().lsetxattr(path, name, value, 0);
  },
  async remove(path) {
    fs.rmSync(path, { recursive: true, force: true });
  },
  async rename(from, to) {
    fs.renameSync(from, to);
  },
};

/** Lets timers, I/O callbacks and signal handlers run between stretches of synchronous calls. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The errno code of a Node-style error, if any. */
export function errnoCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return (e as { code: string }).code;
  }
  return undefined;
}
