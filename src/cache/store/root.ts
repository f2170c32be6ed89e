/**
 * Where the store lives: `--root`, else `OBOX_ROOT`, else `/var/lib/obox` for root, else
 * `$XDG_DATA_HOME/obox`, else `~/.local/share/obox`. Pure: the caller passes the environment,
 * uid, working directory and home directory in.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';

export const SYSTEM_ROOT = '/var/lib/obox';

export interface RootEnv {
  readonly OBOX_ROOT?: string | undefined;
  readonly XDG_DATA_HOME?: string | undefined;
  readonly HOME?: string | undefined;
}

export interface ResolveRootOptions {
  /** `--root`, when given. */
  root?: string | undefined;
  env: RootEnv;
  uid: number;
  /** For relative `--root` / `OBOX_ROOT`. */
  cwd: string;
  /** The passwd home directory, used when HOME is unset (os.homedir()). */
  homedir?: string | undefined;
}

export function resolveStoreRoot(o: ResolveRootOptions): string {
  if (o.root !== undefined && o.root !== '') return resolve(o.cwd, o.root);
  if (o.env.OBOX_ROOT !== undefined && o.env.OBOX_ROOT !== '') return resolve(o.cwd, o.env.OBOX_ROOT);
  if (o.uid === 0) return SYSTEM_ROOT;
  // The XDG spec says relative values are invalid and must be ignored.
  const xdg = o.env.XDG_DATA_HOME;
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'obox');
  const home = o.env.HOME !== undefined && isAbsolute(o.env.HOME) ? o.env.HOME : o.homedir;
  if (home === undefined || !isAbsolute(home)) {
    throw new OboxError(ErrorCodes.environment, 'cannot choose a store directory: no home directory', {
      hint: 'pass --root DIR or set OBOX_ROOT',
    });
  }
  return join(home, '.local', 'share', 'obox');
}
