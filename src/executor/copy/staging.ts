/**
 * A private scratch directory for sources that do not live in a tree — heredocs and downloads —
 * so that they are copied like any file: each gets a subdirectory, seen as a tree whose files
 * are owned by 0:0 in the image (as BuildKit's scratch states and http sources make them).
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SourceTree } from './source-tree.js';

export interface Staging {
  /** A fresh empty directory for source `index`. */
  dirFor(index: number): Promise<string>;
  /** The tree that reads a staged directory. */
  tree(dir: string): SourceTree;
  /** Removes everything staged. Idempotent. */
  dispose(): Promise<void>;
}

/** Staging under `tempDir` (default os.tmpdir()); nothing is created until first needed. */
export function createStaging(tempDir: string | undefined): Staging {
  let root: Promise<string> | undefined;
  let disposed = false;
  return {
    async dirFor(index) {
      root ??= fsp.mkdtemp(path.join(tempDir ?? os.tmpdir(), 'obox-copy-'));
      const dir = path.join(await root, `s${index}`);
      await fsp.mkdir(dir, { mode: 0o700 });
      return dir;
    },
    tree: (dir) => ({ root: dir, label: 'staging directory', keepOwners: false, ignoreFile: undefined, visible: async () => true }),
    async dispose() {
      if (disposed || root === undefined) return;
      disposed = true;
      await fsp.rm(await root, { recursive: true, force: true });
    },
  };
}
