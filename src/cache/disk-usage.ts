/**
 * Disk usage the way `du -x` counts it: allocated blocks (st_blocks × 512), each inode once (a
 * file with several hard links counts at its first path), directories included, nothing on
 * another file system (a mount inside a build's temp dir is not the store's data).
 *
 * Synchronous on purpose: a walk is thousands of lstat calls, and a thread-pool round trip per
 * call costs several times the call itself. Names are handled as bytes, so a layer dir holding
 * names that are not UTF-8 is measured like any other.
 */
import { lstatSync, readdirSync, type Dirent, type Stats } from 'node:fs';
import { errnoCode } from './store/atomic.js';

export interface TreeUsage {
  /** Allocated bytes. */
  bytes: number;
  /** Inodes counted (the root included). */
  files: number;
}

export interface MeasureOptions {
  /** Inodes already counted elsewhere ("dev:ino"), shared between walks to count hard links once overall. */
  seen?: Set<string>;
}

/** Allocated bytes of one inode. */
export function allocated(st: Pick<Stats, 'blocks'>): number {
  return st.blocks * 512;
}

function lstatOrUndefined(p: string | Buffer): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined; // removed while we walked
    throw e;
  }
}

function readdirOrEmpty(p: Buffer): Dirent<Buffer>[] {
  try {
    return readdirSync(p, { encoding: 'buffer', withFileTypes: true });
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
}

const SLASH = Buffer.from('/');

/** Usage of `root` and everything under it; zero when it does not exist. */
export function measureTree(root: string, options: MeasureOptions = {}): TreeUsage {
  const seen = options.seen ?? new Set<string>();
  const top = lstatOrUndefined(root);
  if (top === undefined) return { bytes: 0, files: 0 };
  const out: TreeUsage = { bytes: 0, files: 0 };
  const count = (st: Stats): void => {
    if (!st.isDirectory() && st.nlink > 1) {
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) return;
      seen.add(id);
    }
    out.bytes += allocated(st);
    out.files++;
  };
  count(top);
  if (!top.isDirectory()) return out;
  const stack: Buffer[] = [Buffer.from(root)];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const entry of readdirOrEmpty(dir)) {
      const p = Buffer.concat([dir, SLASH, entry.name]);
      const st = lstatOrUndefined(p);
      if (st === undefined || st.dev !== top.dev) continue;
      count(st);
      if (st.isDirectory()) stack.push(p);
    }
  }
  return out;
}
