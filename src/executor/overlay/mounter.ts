/**
 * The one place that mounts and unmounts: a small interface so that a rootless variant slots in
 * (kernel overlay with `userxattr` run inside the build's user namespace, or fuse-overlayfs,
 * unmounted with `fusermount3 -u`) without touching the rest of overlay/.
 *
 * The kernel variant calls the new mount API through obox's addon (fsopen, one fsconfig per
 * option with each lower dir as its own `lowerdir+=DIR` — Linux ≥ 6.8, no page limit — fsmount,
 * move_mount) and umount2(2): no process per mount. Where that is missing (an older kernel, an
 * addon without it) it runs util-linux mount(8)/umount(8) with the one-page option string
 * (short relative links keep deep chains within it: see layout.ts).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';
import { native } from '../../layer/native.js';
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
    if (syscalls !== 'no' && !req.data.includes('\\')) {
      const since = kernelClockNow();
      try {
        native().overlayMount(req.target, fsconfigOptions(req.data, req.cwd));
        syscalls = 'yes';
        return;
      } catch (e) {
        // Known to work here: this failure is the mount's own. Else try mount(8) below, and
        // keep using it if it works (an older kernel without lowerdir+ or the new mount API).
        if (syscalls === 'yes') {
          const err = e as NodeJS.ErrnoException & { kernel?: string };
          // The fs context carries some refusals; others only reach the kernel log.
          const logged = err.kernel === undefined ? await overlayKernelMessages(since) : [];
          const said = err.kernel ?? (logged.length > 0 ? logged.join('; ') : `${err.code ?? 'error'}: ${err.syscall ?? 'mount'} failed`);
          throw new OboxError(ErrorCodes.environment, `overlay mount at ${req.target} failed: ${said}`, { hint: mountHint(`${said} ${err.message}`), cause: e });
        }
      }
    }
    const since = kernelClockNow();
    const r = await run('mount', ['-t', 'overlay', 'overlay', '-o', req.data, req.target], req.cwd);
    if (r.code === 0) {
      if (syscalls === 'unknown') syscalls = 'no';
      return;
    }
    const kernel = await overlayKernelMessages(since);
    const said = kernel.length > 0 ? kernel.join('; ') : firstLine(r.stderr);
    throw new OboxError(ErrorCodes.environment, `overlay mount at ${req.target} failed: ${said}`, {
      hint: mountHint(kernel.join('\n') + r.stderr),
    });
  },

  async unmount(target, opts = {}) {
    if (syscalls === 'yes') {
      try {
        native().umount(target, opts.lazy === true);
        return 'unmounted';
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EBUSY') return 'busy';
        if (code === 'EINVAL' || code === 'ENOENT') return 'not-mounted';
        throw new OboxError(ErrorCodes.environment, `cannot unmount ${target}: ${(e as Error).message}`, { cause: e });
      }
    }
    const r = await run('umount', opts.lazy ? ['--lazy', target] : [target]);
    if (r.code === 0) return 'unmounted';
    if (/target is busy|device is busy/i.test(r.stderr)) return 'busy';
    if (/not mounted|no mount point specified|mountpoint not found/i.test(r.stderr)) return 'not-mounted';
    throw new OboxError(ErrorCodes.environment, `cannot unmount ${target}: ${firstLine(r.stderr)}`);
  },
};

/** Whether the addon's mount calls work on this kernel: learned from the first mount. */
let syscalls: 'unknown' | 'yes' | 'no' = 'unknown';

/** mount(8)'s option string as fsconfig calls: each lower dir its own `lowerdir+`, paths absolute. */
export function fsconfigOptions(data: string, cwd: string | undefined): string[] {
  const abs = (p: string): string => path.resolve(cwd ?? '/', p);
  const out: string[] = [];
  for (const opt of data.split(',')) {
    const eq = opt.indexOf('=');
    const key = eq === -1 ? opt : opt.slice(0, eq);
    const value = eq === -1 ? '' : opt.slice(eq + 1);
    if (key === 'lowerdir') for (const dir of value.split(':')) out.push(`lowerdir+=${abs(dir)}`);
    else if (key === 'upperdir' || key === 'workdir') out.push(`${key}=${abs(value)}`);
    else out.push(opt);
  }
  return out;
}

/** syncfs(2) through the addon, else `sync -f`. */
export async function syncFileSystemOf(dir: string): Promise<void> {
  if (syscalls === 'yes') {
    native().syncfs(dir);
    return;
  }
  const r = await run('sync', ['-f', dir]);
  if (r.code !== 0) throw new Error(r.stderr.trim() || `sync -f exited ${r.code}`);
}

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
