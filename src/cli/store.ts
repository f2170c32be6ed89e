/** Resolving and opening the store from the global options (--root, OBOX_ROOT, defaults). */
import type { Command } from 'commander';
import { homedir } from 'node:os';
import type { Store } from '../cache/store/index.js';
import type { GlobalOptions } from './main.js';

/** Imports the store lazily so commands that don't need it (--help, parse) never load it. */
export async function openStore(cmd: Command): Promise<Store> {
  const { Store, resolveStoreRoot } = await import('../cache/store/index.js');
  const root = resolveStoreRoot({
    root: cmd.optsWithGlobals<GlobalOptions>().root,
    env: process.env,
    uid: process.getuid?.() ?? 0,
    cwd: process.cwd(),
    homedir: homedir(),
  });
  return Store.open(root);
}
