/**
 * The one place that mounts and unmounts: a small interface so that a rootless variant slots in
 * (kernel overlay with `userxattr` run inside the build's user namespace, or fuse-overlayfs,
 * unmounted with `fusermount3 -u`) without touching the rest of overlay/.
 *
 * The kernel variant runs util-linux mount(8)/umount(8): Node cannot call mount(2) without an
 * addon. (Kernels ≥ 6.8 also take lower dirs one at a time as `lowerdir+=DIR`. Through
 * fsconfig(2) each is its own call with no page limit, but that needs an addon too; through
 * mount(2), which this kernel also accepts, the whole string must still fit one page. So obox
 * ships short relative links instead: see layout.ts.)
 */
import { execFile } from 'node:child_process';
import { ErrorCodes, OboxError } from '../../errors.js';
import { kernelClockNow, overlayKernelMessages } from './kernel-log.js';

export interface MountRequest {
  /** The option string exactly as the kernel should get it. */
  data: string;
  /** Working directory for the mount; relative paths in `data` resolve against it. */
  cwd?: string | undefined;
  /** Absolute mount point. */
  target: string;
}

export type UnmountResult = 'unmounted' | 'not-mounted' | 'busy';

export interface OverlayMounter {
  /** For messages: "kernel overlay", "fuse-overlayfs". */
  readonly name: string;
  /** Mounts or throws an OboxError saying why. */
  mount(req: MountRequest): Promise<void>;
  /**
   * Unmounts `target`. 'busy' (EBUSY) is a result, not an error, so the caller can retry;
   * `lazy` detaches even a busy mount (MNT_DETACH). Other failures throw.
   */
  unmount(target: string, opts?: { lazy?: boolean }): Promise<UnmountResult>;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: readonly string[], cwd?: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env: { ...process.env, LC_ALL: 'C' }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(
          new OboxError(ErrorCodes.environment, `cannot run ${cmd}: ${err.message}`, {
            cause: err,
            hint: (err as NodeJS.ErrnoException).code === 'ENOENT' ? `install ${cmd} (util-linux)` : undefined,
          }),
        );
        return;
      }
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** Kernel overlayfs through mount(8) and umount(8), in this process's mount namespace. */
export const kernelMounter: OverlayMounter = {
  name: 'kernel overlay',

  async mount(req) {
    const since = kernelClockNow();
    const r = await run('mount', ['-t', 'overlay', 'overlay', '-o', req.data, req.target], req.cwd);
    if (r.code === 0) return;
    const kernel = await overlayKernelMessages(since);
    const said = kernel.length > 0 ? kernel.join('; ') : firstLine(r.stderr);
    throw new OboxError(ErrorCodes.environment, `overlay mount at ${req.target} failed: ${said}`, {
      hint: mountHint(kernel.join('\n') + r.stderr),
    });
  },

  async unmount(target, opts = {}) {
    const r = await run('umount', opts.lazy ? ['--lazy', target] : [target]);
    if (r.code === 0) return 'unmounted';
    if (/target is busy|device is busy/i.test(r.stderr)) return 'busy';
    if (/not mounted|no mount point specified|mountpoint not found/i.test(r.stderr)) return 'not-mounted';
    throw new OboxError(ErrorCodes.environment, `cannot unmount ${target}: ${firstLine(r.stderr)}`);
  },
};

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unknown error';
}

function mountHint(said: string): string {
  if (/permission denied|only root|must be superuser|EPERM/i.test(said)) {
    return 'mounting needs root, or a user namespace (rootless mode)';
  }
  if (/unrecognized mount option|Bad value/i.test(said)) {
    return 'the kernel lacks an overlay option obox needs (userxattr needs Linux 5.11, volatile 5.10)';
  }
  if (/unknown filesystem type/i.test(said)) return 'load the overlay module: modprobe overlay';
  return 'see `dmesg | grep overlay` for the kernel\'s reason';
}
