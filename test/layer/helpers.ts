/**
 * Shared helpers for the layer tests: temp dirs and overlay mounts that are always cleaned up,
 * a filesystem snapshot to compare trees, and small wrappers around the layer API.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, promises as fsp, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { native } from '../../src/layer/native.js';
import { decompress, readTar, writeLayer, type TarHeader, type WriteLayerOptions, type LayerWriteResult } from '../../src/layer/index.js';
import { splitDev } from '../../src/layer/fs.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Builds native/ when the addon is missing (a fresh clone before `npm run build`). */
export function ensureNative(): void {
  if (existsSync(join(repoRoot, 'native/build/Release/obox_native.node'))) return;
  execFileSync(process.execPath, [join(repoRoot, 'native-scripts/build-native.mjs')], { stdio: 'inherit' });
}
ensureNative();

export function sh(cmd: string, args: string[], opts: { input?: string | Buffer } = {}): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/**
 * Temp dirs and mounts for one test file: everything made through it is unmounted and removed
 * after each test, whether it passed or not.
 */
export function useScratch(): { dir(name?: string): Promise<string>; mountOverlay(opts: OverlayMount): Promise<string>; umount(target: string): void } {
  const dirs: string[] = [];
  const mounts: string[] = [];
  afterEach(async () => {
    for (const m of mounts.splice(0).reverse()) umountQuiet(m);
    for (const d of dirs.splice(0)) await fsp.rm(d, { recursive: true, force: true });
  });
  return {
    async dir(name = 'layer') {
      const d = await fsp.mkdtemp(join(tmpdir(), `obox-test-${name}-`));
      dirs.push(d);
      return d;
    },
    async mountOverlay(o: OverlayMount) {
      await fsp.mkdir(o.merged, { recursive: true });
      const options = [`lowerdir=${o.lower.join(':')}`];
      if (o.upper !== undefined && o.work !== undefined) options.push(`upperdir=${o.upper}`, `workdir=${o.work}`);
      options.push(...(o.extra ?? ['redirect_dir=off', 'metacopy=off', 'index=off']));
      if (o.userxattr) options.push('userxattr');
      sh('mount', ['-t', 'overlay', 'overlay', '-o', options.join(','), o.merged]);
      mounts.push(o.merged);
      return o.merged;
    },
    umount(target: string) {
      sh('umount', [target]);
      const i = mounts.indexOf(target);
      if (i !== -1) mounts.splice(i, 1);
    },
  };
}

export interface OverlayMount {
  lower: string[];
  upper?: string;
  work?: string;
  merged: string;
  userxattr?: boolean;
  /** Replaces the default redirect_dir=off,metacopy=off,index=off. */
  extra?: string[];
}

function umountQuiet(target: string): void {
  spawnSync('umount', [target]);
}

export interface SnapEntry {
  path: string;
  type: string;
  mode: string;
  uid: number;
  gid: number;
  mtime?: number;
  size?: number;
  sha256?: string;
  target?: string;
  rdev?: string;
  xattrs?: Record<string, string>;
  /** For hardlinked non-directories: the first path (in sorted order) of the inode. */
  linkGroup?: string;
}

const typeNames: Record<number, string> = {
  0o100000: 'file',
  0o040000: 'dir',
  0o120000: 'symlink',
  0o020000: 'char',
  0o060000: 'block',
  0o010000: 'fifo',
  0o140000: 'socket',
};

export interface SnapshotOptions {
  /** Leave out mtimes of directories (overlay merged views, implicitly created parents). */
  dirMtimes?: boolean;
  /** Keep overlay's own xattrs (default: drop them, and security.selinux). */
  overlayXattrs?: boolean;
}

/** Every entry under root (not root itself), sorted, with the metadata a layer must preserve. */
export async function snapshot(root: string, opts: SnapshotOptions = {}): Promise<SnapEntry[]> {
  const out: SnapEntry[] = [];
  const inodes = new Map<string, string>();
  const paths: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const name of (await fsp.readdir(dir)).sort()) {
      const p = join(dir, name);
      paths.push(p);
      const st = await fsp.lstat(p);
      if (st.isDirectory()) await walk(p);
    }
  }
  await walk(root);
  paths.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const p of paths) {
    const st = await fsp.lstat(p, { bigint: true });
    const type = typeNames[Number(st.mode) & 0o170000] ?? 'unknown';
    const e: SnapEntry = {
      path: relative(root, p),
      type,
      mode: (Number(st.mode) & 0o7777).toString(8),
      uid: Number(st.uid),
      gid: Number(st.gid),
    };
    if (type !== 'dir' || opts.dirMtimes !== false) e.mtime = Number(st.mtimeNs / 1_000_000_000n);
    if (type === 'file') {
      e.size = Number(st.size);
      e.sha256 = createHash('sha256').update(await fsp.readFile(p)).digest('hex');
    }
    if (type === 'symlink') e.target = await fsp.readlink(p);
    if (type === 'char' || type === 'block') {
      const d = splitDev(st.rdev);
      e.rdev = `${d.major}:${d.minor}`;
    }
    const flat = native().lgetxattrs(p);
    const xattrs: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = flat[i] as string;
      if (name === 'security.selinux') continue;
      if (!opts.overlayXattrs && (name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.'))) continue;
      xattrs[name] = (flat[i + 1] as Buffer).toString('hex');
    }
    if (Object.keys(xattrs).length > 0) e.xattrs = xattrs;
    if (type !== 'dir' && st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = inodes.get(key);
      if (first === undefined) inodes.set(key, e.path);
      e.linkGroup = first ?? e.path;
    }
    out.push(e);
  }
  return out;
}

/** Writes dir as a layer file; returns the write result. */
export async function layerFile(dir: string, file: string, opts: WriteLayerOptions = {}): Promise<LayerWriteResult> {
  return writeLayer(dir, createWriteStream(file), opts);
}

/** The headers of a layer file (any compression). */
export async function listLayer(file: string): Promise<TarHeader[]> {
  const out: TarHeader[] = [];
  for await (const e of readTar(decompress(createReadStream(file), file), { archiveName: file })) out.push(e.header);
  return out;
}

export function sha256File(file: string): string {
  return `sha256:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
}

/** Names in dir, sorted (to assert a directory is unchanged). */
export async function listing(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).sort();
}
