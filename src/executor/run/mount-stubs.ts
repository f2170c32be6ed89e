/**
 * Mount points the runtime creates in the rootfs (an empty /etc/hosts, /run/secrets/…, /proc in
 * an image that lacks it) would otherwise end up in the step's layer. Before the run, note which
 * mount destinations (and which of their parents) do not exist; after it, remove those that are
 * still empty stubs, deepest first, restoring the parent's timestamps (BuildKit's
 * executor/stubs.go, which does this for /etc/hosts, /etc/resolv.conf and RUN --mount targets).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { resolveInRoot } from './in-root.js';

export interface MountStubs {
  /** Host paths that did not exist before the run, deepest first. */
  readonly paths: readonly string[];
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw e;
  }
}

/** Nanoseconds → fractional seconds (utimes keeps about a microsecond of that). */
function seconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}

export async function recordMountStubs(rootfs: string, destinations: readonly string[]): Promise<MountStubs> {
  const root = path.resolve(rootfs);
  const found = new Set<string>();
  for (const dest of destinations) {
    let p = await resolveInRoot(root, dest);
    while (p !== root && !(await exists(p))) {
      found.add(p);
      p = path.dirname(p);
    }
  }
  const paths = [...found].sort((a, b) => b.split(path.sep).length - a.split(path.sep).length || (a < b ? 1 : -1));
  return { paths };
}

/** Removes the stubs that are still empty files or empty directories. Best effort: returns what it could not remove. */
export async function removeMountStubs(stubs: MountStubs): Promise<string[]> {
  const failed: string[] = [];
  for (const p of stubs.paths) {
    try {
      const st = await fsp.lstat(p);
      if (st.isDirectory()) {
        if ((await fsp.readdir(p)).length !== 0) continue;
      } else if (!st.isFile() || st.size !== 0) {
        continue;
      }
      const parent = path.dirname(p);
      const parentSt = await fsp.stat(parent, { bigint: true });
      if (st.isDirectory()) await fsp.rmdir(p);
      else await fsp.unlink(p);
      await fsp.utimes(parent, seconds(parentSt.atimeNs), seconds(parentSt.mtimeNs));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') failed.push(p);
    }
  }
  return failed;
}
