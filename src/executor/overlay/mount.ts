/**
 * Mounting a step's filesystem: the parent chain's layer dirs as overlay lower dirs, a fresh upper
 * dir and work dir, mounted at a target; and a handle that undoes all of it exactly once.
 *
 * Layout of `stateDir`, which the mount owns (it must be new or empty):
 *   upper/     the step's changes: a plain diff (see options.ts)
 *   work/      overlay's work dir (same filesystem as upper/, as overlay requires)
 *   empty-N/   empty lower dirs, when fewer layers than overlay's minimum are given
 *   merged/    the default mount target
 *
 * `volatile` (default on): overlay then skips every sync, so the many fsyncs of a RUN step
 * (dpkg and apt fsync every file) cost nothing. What it gives up is crash durability only: after a
 * clean unmount the upper dir is complete for every reader (same page cache). When the caller keeps
 * the upper dir, unmount restores durability with one syncfs(2) of its filesystem (`sync -f`) —
 * what a non-volatile overlay does at unmount anyway — and fails if the kernel saw a write-back
 * error. An upper dir thrown away is never synced at all. After a crash, volatile upper dirs are
 * garbage, but they live in temp state dirs that crash cleanup removes unread. Kernels before 5.10
 * reject the option; the mount then falls back to a normal one.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';
import { registerCleanup } from '../cleanup.js';
import { layoutMount, type LinkMode } from './layout.js';
import { checkLowerCount } from './options.js';
import { findMountsUnder, isMountPoint } from './mountinfo.js';
import { kernelMounter, syncFileSystemOf, type OverlayMounter } from './mounter.js';
import { removeTree } from './remove-tree.js';
import { unmountAllUnder } from './unmount.js';

export interface OverlayMountOptions {
  /**
   * Unpacked layer dirs, base layer first (the order of an image manifest's layers). Empty for
   * FROM scratch. They are handed to overlay in reverse, topmost first.
   */
  layers: readonly string[];
  /** A new or empty dir owned by this mount (see above); created if missing. */
  stateDir: string;
  /** Mount point; default `<stateDir>/merged`. Created if missing (and then removed on unmount). */
  target?: string;
  /** A read-only view of the layers: no upper or work dir. */
  readOnly?: boolean;
  /** Mounting inside a user namespace: overlay keeps its xattrs in `user.overlay.*` (`userxattr`). */
  rootless?: boolean;
  /** Default true; see above. */
  volatile?: boolean;
  /**
   * Where short links to layer dirs live (e.g. `<store>/l`), shared by all mounts. Needed once the
   * absolute paths no longer fit in a page (about 60-100 layers, depending on path lengths).
   */
  linksDir?: string;
  /** 'auto' (default): links only when needed; 'always'; 'never'. */
  links?: LinkMode;
  mounter?: OverlayMounter;
  /** Checked before and after mounting; an abort undoes everything and throws E_INTERRUPTED. */
  signal?: AbortSignal;
  /** Register the unmount in the process-wide cleanup registry (default true). */
  registerCleanup?: boolean;
  /** Waits between unmount tries while busy, before a lazy detach (default BUSY_RETRY_DELAYS_MS). */
  busyRetryDelaysMs?: readonly number[];
}

export interface UnmountOptions {
  /** Keep `upperDir` (to commit it); default false: remove it with everything else. */
  keepUpper?: boolean;
  /**
   * With keepUpper: flush the upper dir's filesystem (syncfs) before returning, as a volatile
   * overlay needs before its upper dir can be trusted; default true. False when the caller
   * flushes it later, off the critical path, before trusting it (deferred-records.ts).
   */
  syncUpper?: boolean;
}

export interface OverlayMount {
  readonly target: string;
  readonly stateDir: string;
  /** Undefined for a read-only view. */
  readonly upperDir: string | undefined;
  readonly workDir: string | undefined;
  /** The option string as mounted. */
  readonly data: string;
  /** Where mount ran (the links dir) when the option string uses relative links. */
  readonly cwd: string | undefined;
  /** Namespace of overlay's xattrs in the upper dir (opaque dirs): 'user' when rootless. */
  readonly xattrNamespace: 'trusted' | 'user';
  readonly volatile: boolean;
  /** False once unmount() has completed. */
  readonly mounted: boolean;
  /**
   * Unmounts and removes the work dir, empty dirs, a target it created, and the upper dir unless
   * kept (then stateDir keeps only upper/; otherwise stateDir goes too). Idempotent: calls while
   * one is under way share it; calls after success do nothing; after a failure, a call tries again.
   */
  unmount(opts?: UnmountOptions): Promise<void>;
}

/** Kernels before 5.10 reject `volatile`; remembered after the first fallback. */
let volatileRejected = false;

export async function mountOverlay(opts: OverlayMountOptions): Promise<OverlayMount> {
  throwIfAborted(opts.signal);
  const mounter = opts.mounter ?? kernelMounter;
  const stateDir = path.resolve(opts.stateDir);
  await fsp.mkdir(stateDir, { recursive: true });
  if ((await fsp.readdir(stateDir)).length > 0) {
    throw new OboxError(ErrorCodes.environment, `the overlay state dir ${stateDir} is not empty`, {
      hint: 'each mount needs a fresh state dir; it removes that dir on unmount',
    });
  }
  const readOnly = opts.readOnly ?? false;
  const upperDir = readOnly ? undefined : path.join(stateDir, 'upper');
  const workDir = readOnly ? undefined : path.join(stateDir, 'work');
  const target = path.resolve(opts.target ?? path.join(stateDir, 'merged'));
  let useVolatile = !readOnly && (opts.volatile ?? true) && !volatileRejected;

  const state = { attempted: false, mounted: false, createdTarget: false, done: false, empties: [] as string[], data: '', cwd: undefined as string | undefined };
  let inflight: Promise<void> | undefined;
  let unregister: () => void = () => {};

  const teardown = async (keepUpper: boolean, syncUpper: boolean): Promise<void> => {
    let lazy = false;
    // Once mount(8) ran, whatever is at the target is ours (prepareTarget checked it was free),
    // even if mount reported failure after all.
    if (state.attempted) {
      const report = await unmountAllUnder(target, { mounter, retryDelaysMs: opts.busyRetryDelaysMs });
      lazy = report.lazy.length > 0;
      state.mounted = false;
    }
    // Removal crosses mount points: refuse while anything is mounted in what would be removed
    // (a target outside stateDir is only ever rmdir'ed, which cannot cross into a mount).
    const left = await findMountsUnder(stateDir);
    if (left.length > 0) {
      throw new OboxError(ErrorCodes.environment, `not removing ${stateDir}: ${left[0]!.mountPoint} is still mounted`);
    }
    if (keepUpper && lazy) {
      throw new OboxError(ErrorCodes.environment, `the overlay at ${target} stayed busy and was detached lazily; its upper dir cannot be trusted as a layer`, {
        hint: 'a process still used the mount (its cwd or an open file); unmount again without keepUpper to remove it',
      });
    }
    if (keepUpper && syncUpper && useVolatile && upperDir !== undefined) await syncFilesystem(upperDir);
    if (workDir !== undefined) await removeTree(workDir);
    for (const e of state.empties) await removeTree(e);
    if (state.createdTarget) await fsp.rmdir(target).catch(ignoreGone);
    if (!keepUpper || upperDir === undefined) await removeTree(stateDir);
  };

  const handle: OverlayMount = {
    target,
    stateDir,
    upperDir,
    workDir,
    get data() {
      return state.data;
    },
    get cwd() {
      return state.cwd;
    },
    xattrNamespace: opts.rootless ? 'user' : 'trusted',
    get volatile() {
      return useVolatile;
    },
    get mounted() {
      return !state.done;
    },
    unmount(u: UnmountOptions = {}) {
      if (state.done) return Promise.resolve();
      inflight ??= teardown(u.keepUpper ?? false, u.syncUpper ?? true).then(
        () => {
          state.done = true;
          unregister();
        },
        (e: unknown) => {
          inflight = undefined;
          throw e;
        },
      );
      return inflight;
    },
  };
  if (opts.registerCleanup ?? true) unregister = registerCleanup(() => handle.unmount());

  try {
    const layers = topmostOccurrences(opts.layers.map((l) => path.resolve(l)));
    checkLowerCount(layers.length);
    await checkLayerDirs(layers);
    if (upperDir !== undefined && workDir !== undefined) {
      await fsp.mkdir(upperDir, { mode: 0o755 });
      await fsp.mkdir(workDir, { mode: 0o700 });
    }
    // Overlay needs one lower dir, two without an upper dir.
    const minimum = readOnly ? 2 : 1;
    for (let i = layers.length; i < minimum; i++) {
      const e = path.join(stateDir, `empty-${i}`);
      await fsp.mkdir(e, { mode: 0o755 });
      state.empties.push(e);
    }
    await prepareTarget(target, state);
    const lowers = [...layers].reverse().concat(state.empties);

    const tryMount = async (): Promise<void> => {
      const layout = await layoutMount({
        lowers,
        upper: upperDir,
        work: workDir,
        userxattr: opts.rootless ?? false,
        volatile: useVolatile,
        linksDir: opts.linksDir,
        links: opts.links ?? 'auto',
      });
      state.data = layout.data;
      state.cwd = layout.cwd;
      throwIfAborted(opts.signal);
      state.attempted = true;
      await mounter.mount({ data: layout.data, cwd: layout.cwd, target });
    };
    try {
      await tryMount();
    } catch (e) {
      if (!useVolatile || !mayBeVolatileRejected(e)) throw e;
      // Maybe a kernel before 5.10: try once more without volatile, from a clean work dir
      // (a half-done volatile mount may have left work/work/incompat/volatile).
      useVolatile = false;
      await removeTree(workDir!);
      await fsp.mkdir(workDir!, { mode: 0o700 });
      await tryMount();
      volatileRejected = true;
    }
    state.mounted = true;
    throwIfAborted(opts.signal);
    return handle;
  } catch (e) {
    await handle.unmount().catch(() => {
      // The original error matters more; the registry still holds the cleanup if this failed.
    });
    throw e;
  }
}

/**
 * The chain with each layer dir only at its topmost place (base first). A chain may hold the same
 * layer twice (two steps that changed the same files the same way have one diffID), but overlay
 * rejects a dir given twice ("conflicting lowerdir path"). Dropping the lower copy changes nothing:
 * every name the layer holds (file, whiteout or opaque dir) is answered by its upper copy first,
 * and names it lacks fall through both copies alike.
 */
export function topmostOccurrences(layers: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = layers.length - 1; i >= 0; i--) {
    if (seen.has(layers[i]!)) continue;
    seen.add(layers[i]!);
    out.push(layers[i]!);
  }
  return out.reverse();
}

/**
 * A failed mount that a kernel without `volatile` would explain: its log names the option
 * ('overlayfs: unrecognized mount option "volatile"'), or could not be read.
 */
function mayBeVolatileRejected(e: unknown): boolean {
  if (!(e instanceof OboxError) || e.code !== ErrorCodes.environment || !e.message.startsWith('overlay mount')) return false;
  return /volatile/.test(e.message) || !/failed: overlay(fs)?: /.test(e.message);
}

async function checkLayerDirs(layers: readonly string[]): Promise<void> {
  for (const l of layers) {
    const st = await fsp.stat(l).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw new OboxError(ErrorCodes.store, `the layer dir ${l} is missing`, { hint: 'run `obox cache verify` or rebuild without the cache' });
    }
  }
}

async function prepareTarget(target: string, state: { createdTarget: boolean }): Promise<void> {
  try {
    await fsp.mkdir(target);
    state.createdTarget = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await fsp.mkdir(target);
      state.createdTarget = true;
    } else if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw e;
    }
  }
  const st = await fsp.stat(target);
  if (!st.isDirectory()) throw new OboxError(ErrorCodes.environment, `the mount target ${target} is not a directory`);
  if (await isMountPoint(target)) {
    throw new OboxError(ErrorCodes.environment, `something is already mounted at ${target}`);
  }
}

/** syncfs(2) of the filesystem holding `dir`; Node has no binding, coreutils `sync -f` does it. */
async function syncFilesystem(dir: string): Promise<void> {
  try {
    await syncFileSystemOf(dir);
  } catch (e) {
    throw new OboxError(ErrorCodes.environment, `writing ${dir} to disk failed: ${(e as Error).message}`, { hint: 'check free space and the kernel log', cause: e });
  }
}

function ignoreGone(e: unknown): void {
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== 'ENOENT' && code !== 'ENOTEMPTY') throw e;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new OboxError(ErrorCodes.interrupted, 'interrupted while mounting an overlay', { cause: signal.reason });
}
