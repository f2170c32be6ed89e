/**
 * The overlay mount option string ("mount data"), built and measured without touching the disk.
 *
 * Kernel facts this relies on (checked on 6.x; see the tests):
 * - mount(2) copies one page of data and puts a NUL in its last byte, so at most 4095 bytes
 *   survive; a longer string is silently cut, which would drop lower layers. Hence the hard check.
 * - Overlay stacks at most 500 layers (OVL_MAX_STACK).
 * - Lower dirs are listed topmost first, separated by ':'; options by ','. A path holding ',' ':'
 *   '\\' or whitespace would need escaping that mount(8)/libmount and overlay treat differently,
 *   so such paths are never written into the string (lower dirs go through short links instead).
 * - The kernel reports a bad option only as EINVAL plus a line in the kernel log, e.g.
 *   "overlayfs: conflicting options: userxattr,redirect_dir=follow" (see mounter.ts).
 */
import { ErrorCodes, OboxError } from '../../errors.js';

/** The most bytes of mount data the kernel reads: one page, minus its terminating NUL. */
export const MAX_MOUNT_DATA_BYTES = 4095;

/** The kernel's overlay stacking limit (OVL_MAX_STACK). */
export const MAX_LOWER_DIRS = 500;

/**
 * Options that keep the upper dir a plain diff (DESIGN.md "Layers"):
 * - `redirect_dir=nofollow`: a renamed lower dir is copied up in full instead of getting a
 *   `*.overlay.redirect` xattr (rename(2) of a merged dir fails with EXDEV; `mv` then copies),
 *   and redirects found in lower dirs are not followed. DESIGN.md says `redirect_dir=off`; on a
 *   kernel built with redirect_always_follow (Debian's, the default) `off` means "follow", which
 *   the kernel rejects next to `userxattr` ("conflicting options: userxattr,redirect_dir=follow").
 *   `nofollow` creates exactly the same upper dirs, works rootful and rootless, and never trusts a
 *   redirect xattr planted in a layer.
 * - `metacopy=off`: a chmod/chown copies up data too, never a metadata-only file.
 * - `index=off`: no inode index in the work dir, no hardlink bookkeeping in the upper dir.
 */
export const PLAIN_DIFF_OPTIONS: readonly string[] = ['redirect_dir=nofollow', 'metacopy=off', 'index=off'];

export interface MountDataParts {
  /** Lower dir entries as the kernel must see them, topmost first. */
  lowers: readonly string[];
  /** Absent for a read-only view. */
  upper?: string | undefined;
  work?: string | undefined;
  /** `userxattr`: overlay's own xattrs in `user.overlay.*` (rootless, inside a user namespace). */
  userxattr?: boolean;
  /** `volatile`: the overlay skips every sync (see mount.ts for why obox uses it). */
  volatile?: boolean;
}

/** True when `p` can go into the option string as is. */
export function isPlainOptionPath(p: string): boolean {
  return p.length > 0 && !/[,:\\\s"']/.test(p);
}

/** The option string for mount(2), in a fixed order. Does not check the length. */
export function buildMountData(parts: MountDataParts): string {
  const opts = [`lowerdir=${parts.lowers.join(':')}`];
  if (parts.upper !== undefined) {
    if (parts.work === undefined) throw new OboxError(ErrorCodes.environment, 'an overlay upper dir needs a work dir');
    opts.push(`upperdir=${parts.upper}`, `workdir=${parts.work}`);
  }
  opts.push(...PLAIN_DIFF_OPTIONS);
  if (parts.userxattr) opts.push('userxattr');
  // volatile only means something with an upper dir; without one the kernel logs a warning.
  if (parts.volatile && parts.upper !== undefined) opts.push('volatile');
  return opts.join(',');
}

/** Bytes the kernel reads for this string (paths may hold non-ASCII characters). */
export function mountDataBytes(data: string): number {
  return Buffer.byteLength(data, 'utf8');
}

export function fitsMountData(data: string): boolean {
  return mountDataBytes(data) <= MAX_MOUNT_DATA_BYTES;
}

/** Throws when the kernel could not stack this many lower dirs. */
export function checkLowerCount(count: number): void {
  if (count > MAX_LOWER_DIRS) {
    throw new OboxError(ErrorCodes.environment, `cannot stack ${count} overlay lower dirs: the kernel's limit is ${MAX_LOWER_DIRS}`, {
      hint: 'squash layers of the base image, or combine RUN steps, to make the chain shorter',
    });
  }
}

/** Throws a clear error when `data` is past the one page the kernel reads. */
export function checkMountDataFits(data: string, layerCount: number): void {
  const bytes = mountDataBytes(data);
  if (bytes <= MAX_MOUNT_DATA_BYTES) return;
  throw new OboxError(
    ErrorCodes.environment,
    `the overlay mount options for ${layerCount} layers take ${bytes} bytes; the kernel reads at most ${MAX_MOUNT_DATA_BYTES}`,
    { hint: 'use a shorter store or temp path, or make the layer chain shorter (squash layers)' },
  );
}
