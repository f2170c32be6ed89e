/**
 * After a step, an overlay upper dir can hold directories that were only copied up, not changed:
 * runc creates mount stubs (/etc/hosts, /dev, …) and removes them again, which copies up the
 * parent. Such a directory — empty in the upper, not opaque, with the same mode and owner as the
 * topmost lower version — is not part of the diff, so it is removed. Its mtime is not compared:
 * creating and removing a stub (or any temp file) moves it, and a directory whose only change is
 * its mtime carries no content (dropping it also keeps rebuilds reproducible). A step that changed
 * nothing then leaves an empty upper dir and adds no layer.
 */
import { lstat, readdir, rmdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { native } from './native.js';

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch {
    return undefined;
  }
}

/** The topmost lower entry at `rel`, stopping at a whiteout or an opaque dir above it. */
async function lowerStat(lowersTopFirst: readonly string[], rel: string): Promise<Stats | undefined> {
  for (const lower of lowersTopFirst) {
    const st = await lstatOrUndefined(path.join(lower, rel));
    if (st) return st.isCharacterDevice() && st.rdev === 0 ? undefined : st;
  }
  return undefined;
}

function isOpaque(p: string, xattrPrefix: string): boolean {
  const v = native().lgetxattr(p, `${xattrPrefix}.overlay.opaque`);
  return v !== null && v.toString() === 'y';
}

/**
 * Removes unchanged copied-up directories from `upper`, deepest first. `lowers` are the step's
 * lower dirs, base first (manifest order). Returns how many directories were removed.
 */
export async function pruneUnchangedDirs(upper: string, lowers: readonly string[], xattrPrefix: 'trusted' | 'user' = 'trusted'): Promise<number> {
  const topFirst = [...lowers].reverse();
  let removed = 0;
  const visit = async (rel: string): Promise<boolean> => {
    const abs = path.join(upper, rel);
    const entries = await readdir(abs, { withFileTypes: true });
    let remaining = entries.length;
    for (const e of entries) {
      if (e.isDirectory() && (await visit(path.join(rel, e.name)))) remaining--;
    }
    if (rel === '' || remaining > 0 || isOpaque(abs, xattrPrefix)) return false;
    const [mine, theirs] = await Promise.all([lstat(abs), lowerStat(topFirst, rel)]);
    if (!theirs || !theirs.isDirectory()) return false;
    if (mine.mode !== theirs.mode || mine.uid !== theirs.uid || mine.gid !== theirs.gid) return false;
    await rmdir(abs);
    removed++;
    return true;
  };
  await visit('');
  return removed;
}
