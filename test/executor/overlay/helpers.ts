/**
 * Shared helpers for the overlay tests: one temp dir per test under os.tmpdir(), and after each
 * test a check that nothing is left mounted under it (then a forced cleanup, so one failing test
 * cannot break the next).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { pendingCleanups, runCleanups } from '../../../src/executor/cleanup.js';
import { findMountsUnder } from '../../../src/executor/overlay/mountinfo.js';
import { removeTree } from '../../../src/executor/overlay/remove-tree.js';
import { unmountAllUnder } from '../../../src/executor/overlay/unmount.js';

export interface Tmp {
  /** The test's temp dir (real path). */
  readonly dir: string;
}

export function useTmp(prefix = 'obox-overlay-'): Tmp {
  const tmp = { dir: '' };
  beforeEach(async () => {
    tmp.dir = await fsp.realpath(await fsp.mkdtemp(path.join(tmpdir(), prefix)));
  });
  afterEach(async () => {
    const dir = tmp.dir;
    if (dir === '') return;
    tmp.dir = '';
    const left = (await findMountsUnder(dir)).map((m) => m.mountPoint);
    const registered = pendingCleanups();
    // Whatever a failed test leaked must not spill into the next one.
    await runCleanups().catch(() => undefined);
    if ((await findMountsUnder(dir)).length > 0) await unmountAllUnder(dir, { retryDelaysMs: [50, 200] });
    await removeTree(dir);
    expect(left, 'mounts left under the temp dir').toEqual([]);
    expect(registered, 'cleanups left registered').toBe(0);
  });
  return tmp;
}

/** Makes a layer dir holding the given files (relative path → content). */
export async function makeLayer(dir: string, files: Record<string, string>): Promise<string> {
  await fsp.mkdir(dir, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    await fsp.mkdir(path.dirname(p), { recursive: true });
    await fsp.writeFile(p, content);
  }
  return dir;
}

/** A store-like layer path: `<root>/layers-v1/sha256-<64 hex>` (long, as real ones are). */
export function storeLayerDir(root: string, i: number): string {
  return path.join(root, 'layers-v1', `sha256-${createHash('sha256').update(String(i)).digest('hex')}`);
}

/** `count` layers, layer i holding `f<i>` = "i" and `top` = "i" (so the topmost wins). */
export async function makeLayerChain(root: string, count: number): Promise<string[]> {
  const dirs: string[] = [];
  for (let i = 0; i < count; i++) dirs.push(await makeLayer(storeLayerDir(root, i), { [`f${i}`]: String(i), top: String(i) }));
  return dirs;
}

export function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, env: { ...process.env, LC_ALL: 'C' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The value of an xattr via getfattr(1) (attr package), or undefined when absent. */
export function getXattr(file: string, name: string): string | undefined {
  const r = sh('getfattr', ['--absolute-names', '--only-values', '-n', name, file]);
  if (r.status !== 0) {
    if (/No such attribute/.test(r.stderr)) return undefined;
    throw new Error(`getfattr ${name} ${file}: ${r.stderr}`);
  }
  return r.stdout;
}

/** Every xattr below `dir` whose name matches `pattern` (getfattr -R), as "path name" lines. */
export function findXattrs(dir: string, pattern: string): string[] {
  const r = sh('getfattr', ['--absolute-names', '-R', '-m', pattern, dir]);
  const out: string[] = [];
  let file = '';
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) file = line.slice(8);
    else if (line.trim() !== '') out.push(`${file} ${line.split('=')[0]}`);
  }
  return out;
}
