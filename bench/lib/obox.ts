/** The built obox CLI, for benchmarks (which measure dist/, so it must match src/). */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../test/helpers/cli.js';

export const OBOX_BIN = path.join(repoRoot, 'bin', 'obox.js');
/** The `obox` command as installed: bin/obox, the native launcher in front of Node. */
export const OBOX_COMMAND = path.join(repoRoot, 'bin', 'obox');

function newestMtime(dir: string, ext: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith(ext)) continue;
    newest = Math.max(newest, statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/** Throws when dist/ is missing; returns a warning when src/ is newer than dist/. */
export function checkDist(): string | undefined {
  const main = path.join(repoRoot, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error('dist/ is missing: run `npm run build` first');
  if (!existsSync(path.join(repoRoot, 'native', 'build', 'obox-launch'))) throw new Error('native/build/obox-launch is missing: run `npm run build` first');
  const src = newestMtime(path.join(repoRoot, 'src'), '.ts');
  const dist = newestMtime(path.join(repoRoot, 'dist'), '.js');
  return src > dist ? 'src/ has changes newer than dist/: these numbers measure the last `npm run build`' : undefined;
}

/** argv for running obox with a store, as a user runs it: [bin/obox, --root, ROOT, ...args]. */
export function oboxArgv(root: string, args: readonly string[]): [string, string[]] {
  return [OBOX_COMMAND, ['--root', root, ...args]];
}
