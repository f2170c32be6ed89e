/**
 * Loads obox's own N-API addon (native/): the no-follow xattr calls and mknod that Node lacks.
 *
 * Why an addon rather than the alternatives:
 * - Spawning getfattr/setfattr/mknod costs a process per file: far too slow for 100k-file layers.
 * - `@napi-rs/xattr` / `fs-xattr` cover xattrs only (no mknod, so devices, fifos and overlay
 *   whiteouts would still need something else) and are built around path-following calls; we
 *   need the l* (no-follow) variants everywhere, because unpacking hostile archives must never
 *   act through a symlink.
 * - One small C file against node_api.h has no dependencies, builds in a second with node-gyp
 *   against the local Node headers, and gives exactly the syscalls needed: lgetxattrs (list and
 *   read all attributes in one crossing, so a file without xattrs costs one llistxattr),
 *   lgetxattr, lsetxattr, lremovexattr, mknod; and the mount calls (overlayMount, umount,
 *   syncfs) that save a build three process spawns per step.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { OboxError, ErrorCodes } from '../errors.js';

export interface NativeAddon {
  /** Every extended attribute of path (not following a final symlink): [name, value, name, value, ...]. */
  lgetxattrs(path: Buffer | string): Array<string | Buffer>;
  /** One attribute's value, or null when absent. */
  lgetxattr(path: Buffer | string, name: string): Buffer | null;
  lsetxattr(path: Buffer | string, name: string, value: Buffer, flags: number): void;
  lremovexattr(path: Buffer | string, name: string): void;
  /** mode includes the S_IF* type bits (S_IFCHR, S_IFBLK, S_IFIFO). */
  mknod(path: Buffer | string, mode: number, major: number, minor: number): void;
  /** fsopen("overlay") + fsconfig per option ("key=value" / "flag"; "lowerdir+=DIR" per layer) + fsmount + move_mount. */
  overlayMount(target: string, options: readonly string[]): void;
  /** umount2(target, lazy ? MNT_DETACH : 0). */
  umount(target: string, lazy: boolean): void;
  /** syncfs(2) of the file system holding path. */
  syncfs(path: string): void;
}

/** Where the build puts the addon, from src/layer/ and from dist/layer/ alike. */
const addonUrl = new URL('../../native/build/Release/obox_native.node', import.meta.url);

let loaded: NativeAddon | undefined;

export function native(): NativeAddon {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  try {
    loaded = require(fileURLToPath(addonUrl)) as NativeAddon;
  } catch (cause) {
    throw new OboxError(ErrorCodes.environment, `obox's native addon could not be loaded from ${fileURLToPath(addonUrl)}`, {
      hint: 'run `npm run build` (it compiles native/ with node-gyp; needs python3, make and a C compiler)',
      cause,
    });
  }
  return loaded;
}
