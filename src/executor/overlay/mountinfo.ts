/**
 * Reading /proc/self/mountinfo (proc(5)): which mounts exist under a directory, so obox can clean
 * up after a crashed run and tests can check that nothing was left mounted.
 *
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   (1)(2)(3)   (4)   (5)      (6)       (7)   (8) (9)   (10)        (11)
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export interface MountInfo {
  id: number;
  parentId: number;
  /** "major:minor" of the filesystem. */
  device: string;
  /** The root of the mount within its filesystem. */
  root: string;
  /** Where it is mounted, as seen by this process (escapes decoded). */
  mountPoint: string;
  mountOptions: string;
  fsType: string;
  source: string;
  superOptions: string;
}

/** Decodes mountinfo's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses mountinfo text; lines it cannot read are skipped. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (fields.length < 10 || sep < 0 || fields.length < sep + 4) continue;
    out.push({
      id: Number(fields[0]),
      parentId: Number(fields[1]),
      device: fields[2]!,
      root: unescapeMountField(fields[3]!),
      mountPoint: unescapeMountField(fields[4]!),
      mountOptions: fields[5]!,
      fsType: fields[sep + 1]!,
      source: unescapeMountField(fields[sep + 2]!),
      superOptions: fields[sep + 3]!,
    });
  }
  return out;
}

export async function readMountInfo(file = '/proc/self/mountinfo'): Promise<MountInfo[]> {
  return parseMountInfo(await fsp.readFile(file, 'utf8'));
}

/**
 * Mounts at `dir` or below it, deepest first and, at one place, the most recent first: the order
 * to unmount them in. `dir` is resolved through symlinks first (mountinfo shows real paths).
 */
export async function findMountsUnder(dir: string, mounts?: readonly MountInfo[]): Promise<MountInfo[]> {
  const root = await realpathOrResolve(dir);
  const prefix = root === '/' ? '/' : `${root}/`;
  const all = mounts ?? (await readMountInfo());
  return all
    .map((m, order) => ({ m, order }))
    .filter(({ m }) => m.mountPoint === root || m.mountPoint.startsWith(prefix))
    .sort((a, b) => depth(b.m.mountPoint) - depth(a.m.mountPoint) || b.order - a.order)
    .map(({ m }) => m);
}

/** Whether `dir` itself is a mount point (of anything). */
export async function isMountPoint(dir: string, mounts?: readonly MountInfo[]): Promise<boolean> {
  const root = await realpathOrResolve(dir);
  return (mounts ?? (await readMountInfo())).some((m) => m.mountPoint === root);
}

export async function realpathOrResolve(p: string): Promise<string> {
  try {
    return await fsp.realpath(p);
  } catch {
    // A path that is gone: resolve its parent, which may still exist (and hold symlinks).
    const parent = path.dirname(path.resolve(p));
    if (parent === path.resolve(p)) return parent;
    return path.join(await realpathOrResolve(parent), path.basename(p));
  }
}

function depth(p: string): number {
  return p === '/' ? 0 : p.split('/').length;
}
