/**
 * Removing an overlay's work and upper dirs. Overlay leaves `work/work` (and, with `volatile`,
 * `work/work/incompat/volatile`) at mode 000, and a RUN step can make 000 dirs in the upper dir.
 * Root ignores that; a rootless user (the owner, without CAP_DAC_OVERRIDE outside its namespace)
 * gets EACCES, so on EACCES/EPERM the tree is made traversable (u+rwx on each dir) and removed again.
 *
 * Never call this on a tree that has something mounted in it: rm(1)-style removal crosses mount
 * points. mount.ts checks mountinfo first.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export async function removeTree(dir: string): Promise<void> {
  try {
    await fsp.rm(dir, { recursive: true, force: true, maxRetries: 2 });
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw e;
  }
  await makeTraversable(dir);
  await fsp.rm(dir, { recursive: true, force: true, maxRetries: 2 });
}

/** Adds u+rwx to `dir` and every dir below it (never following symlinks). */
export async function makeTraversable(dir: string): Promise<void> {
  let st;
  try {
    st = await fsp.lstat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isDirectory()) return;
  if ((st.mode & 0o700) !== 0o700) await fsp.chmod(dir, (st.mode & 0o7777) | 0o700);
  for (const name of await fsp.readdir(dir)) await makeTraversable(path.join(dir, name));
}
