/** Temp trees for the COPY/ADD tests: a context, a destination rootfs, and "outside" to guard. */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, chmodSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CopySource } from '../../../src/instructions/index.js';
import { copyInto, type CopyOptions, type CopyRequest, type CopyResult, type SourceTree } from '../../../src/executor/copy/index.js';

export interface Sandbox {
  dir: string;
  /** The build context. */
  ctx: string;
  /** The destination root filesystem. */
  root: string;
  /** A directory next to root that nothing may ever write into. */
  outside: string;
  cleanup(): void;
}

export function sandbox(): Sandbox {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'obox-copy-test-'));
  const s = { dir, ctx: path.join(dir, 'ctx'), root: path.join(dir, 'root'), outside: path.join(dir, 'outside') };
  for (const d of [s.ctx, s.root, s.outside]) mkdirSync(d);
  return { ...s, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export type Spec =
  | string
  | { content: string; mode?: number; mtime?: number }
  | { symlink: string }
  | { dir: true; mode?: number; mtime?: number };

/** Creates files under base: `{ 'a/b.txt': 'x', 'l': { symlink: 'a' }, 'd': { dir: true } }`. */
export function make(base: string, files: Record<string, Spec>): void {
  for (const [rel, spec] of Object.entries(files)) {
    const p = path.join(base, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    if (typeof spec === 'string') {
      writeFileSync(p, spec);
    } else if ('symlink' in spec) {
      symlinkSync(spec.symlink, p);
    } else if ('dir' in spec) {
      mkdirSync(p, { recursive: true });
      if (spec.mode !== undefined) chmodSync(p, spec.mode);
    } else {
      writeFileSync(p, spec.content);
      if (spec.mode !== undefined) chmodSync(p, spec.mode);
    }
  }
  // mtimes last, deepest first, so creating children does not change them
  for (const [rel, spec] of Object.entries(files).reverse()) {
    if (typeof spec === 'object' && !('symlink' in spec) && spec.mtime !== undefined) utimesSync(path.join(base, rel), spec.mtime, spec.mtime);
  }
}

export interface Info {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  content?: string;
  target?: string;
  ino: number;
}

export function info(p: string): Info | undefined {
  let st;
  try {
    st = lstatSync(p);
  } catch {
    return undefined;
  }
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  return {
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    mtime: Math.floor(st.mtimeMs / 1000),
    ino: st.ino,
    ...(type === 'file' ? { content: readFileSync(p, 'utf8') } : {}),
    ...(type === 'symlink' ? { target: readlinkSync(p) } : {}),
  };
}

/** Every path under dir (relative, sorted), directories with a trailing slash. */
export function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(path.join(dir, r));
      if (st.isDirectory()) {
        out.push(`${r}/`);
        walk(r);
      } else {
        out.push(r);
      }
    }
  };
  walk('');
  return out;
}

export const path_ = (...s: string[]) => s.map((x): CopySource => ({ kind: 'path', path: x }));

export function req(tree: SourceTree, sources: string[] | CopySource[], dest: string, extra: Partial<CopyRequest> = {}): CopyRequest {
  const srcs = sources.map((s) => (typeof s === 'string' ? ({ kind: 'path', path: s } as CopySource) : s));
  return { kind: 'copy', sources: srcs, dest, tree, ...extra };
}

export function run(s: Sandbox, r: CopyRequest, opts: CopyOptions = {}): Promise<CopyResult> {
  return copyInto(r, s.root, { tempDir: s.dir, ...opts });
}
