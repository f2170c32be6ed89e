/**
 * Unmounting everything at or below a directory: the overlay of a step (with anything stacked
 * inside it), or whatever a crashed run left under obox's temp dir.
 */
import { ErrorCodes, OboxError } from '../../errors.js';
import { findMountsUnder } from './mountinfo.js';
import { kernelMounter, type OverlayMounter } from './mounter.js';

/** Waits between tries while a mount is busy: about 3 s in all, then a lazy detach. */
export const BUSY_RETRY_DELAYS_MS: readonly number[] = [10, 25, 50, 100, 200, 400, 800, 1600];

export interface UnmountAllOptions {
  mounter?: OverlayMounter;
  retryDelaysMs?: readonly number[] | undefined;
}

export interface UnmountReport {
  /** Mount points unmounted the ordinary way, in order. */
  unmounted: string[];
  /** Mount points that stayed busy and were detached lazily. */
  lazy: string[];
}

/** Unmounts every mount at or below `dir`, deepest first. Resolves once none is left. */
export async function unmountAllUnder(dir: string, opts: UnmountAllOptions = {}): Promise<UnmountReport> {
  const mounter = opts.mounter ?? kernelMounter;
  const report: UnmountReport = { unmounted: [], lazy: [] };
  // Several passes: a busy mount point may be a parent of one that appeared meanwhile.
  for (let pass = 0; pass < 3; pass++) {
    const mounts = await findMountsUnder(dir);
    if (mounts.length === 0) return report;
    for (const m of mounts) {
      const how = await detach(m.mountPoint, mounter, opts.retryDelaysMs ?? BUSY_RETRY_DELAYS_MS);
      (how === 'lazy' ? report.lazy : report.unmounted).push(m.mountPoint);
    }
  }
  const left = await findMountsUnder(dir);
  if (left.length === 0) return report;
  throw new OboxError(ErrorCodes.environment, `mounts are left under ${dir}: ${left.map((m) => m.mountPoint).join(', ')}`, {
    hint: 'unmount them by hand (umount -R) and run again',
  });
}

/**
 * Unmounts one mount point, retrying while it is busy (EBUSY: a process still has its cwd or an
 * open file in it, typically a container that is still exiting). Only as a last resort, after
 * the retries, is it detached lazily (MNT_DETACH): it then leaves the namespace at once, but the
 * filesystem lives on until its last user lets go and may still be written through meanwhile,
 * so the caller must not trust an upper dir that needed it.
 */
export async function detach(target: string, mounter: OverlayMounter, delaysMs: readonly number[] = BUSY_RETRY_DELAYS_MS): Promise<'unmounted' | 'lazy'> {
  for (let i = 0; ; i++) {
    const r = await mounter.unmount(target);
    if (r !== 'busy') return 'unmounted';
    if (i >= delaysMs.length) break;
    await new Promise((resolve) => setTimeout(resolve, delaysMs[i]));
  }
  const r = await mounter.unmount(target, { lazy: true });
  if (r === 'busy') throw new OboxError(ErrorCodes.environment, `cannot detach ${target}: still busy after a lazy unmount`);
  return 'lazy';
}
