/**
 * One RUN step in one container: resolve the user, create the working directory, write the
 * bundle, `runc run` in the foreground with piped output, and remove everything again — on
 * success, failure and cancellation alike.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';
import { createBundleDir, writeBundle } from './bundle.js';
import { registerCleanup } from '../cleanup.js';
import { DEFAULT_HOSTNAME } from './defaults.js';
import { buildEnv } from './env.js';
import { mkdirAllInRoot } from './in-root.js';
import { containerNofile } from './limits.js';
import { recordMountStubs, removeMountStubs, type MountStubs } from './mount-stubs.js';
import { once } from './once.js';
import { toHostId } from './rootless.js';
import { startRun, type RunningContainer } from './run-process.js';
import { deleteContainer, newContainerId, selectRuntime, validContainerId } from './runtime.js';
import type { ResolvedUser, RunOptions, RunResult } from './types.js';
import { resolveUser } from './user.js';

function interrupted(signal: AbortSignal): OboxError {
  return new OboxError(ErrorCodes.interrupted, 'RUN was cancelled', { cause: signal.reason });
}

/** The host uid/gid that owns files the container user owns. */
function hostOwner(user: ResolvedUser, options: RunOptions): { uid: number; gid: number } {
  if (!options.rootless) return { uid: user.uid, gid: user.gid };
  const uid = toHostId(user.uid, options.rootless.uidMappings);
  const gid = toHostId(user.gid, options.rootless.gidMappings);
  if (uid === undefined || gid === undefined) {
    throw new OboxError(ErrorCodes.environment, `user ${user.uid}:${user.gid} is not mapped in the rootless user namespace`, {
      hint: 'give your user a subordinate id range in /etc/subuid and /etc/subgid',
    });
  }
  return { uid, gid };
}

/** Whether this process may chown to `owner` (root may; anyone may "chown" to themselves). */
function mayChown(owner: { uid: number; gid: number }): boolean {
  const euid = process.geteuid?.() ?? -1;
  return euid === 0 || (owner.uid === euid && owner.gid === (process.getegid?.() ?? -1));
}

/**
 * Runs `options.args` in a container on `options.rootfs`. Resolves with the exit code (a
 * non-zero exit is a result, not an error); rejects with an OboxError when the container cannot
 * be set up (unknown user, runtime missing) or with E_INTERRUPTED when `options.signal` aborts.
 * By the time it settles, the container, its bundle and any mount stubs are gone.
 */
export async function runContainer(options: RunOptions): Promise<RunResult> {
  const startedAt = Date.now();
  const signal = options.signal;
  if (signal?.aborted) throw interrupted(signal);
  const rt = selectRuntime({
    runtime: options.runtime,
    stateDir: options.stateDir,
    rootless: options.rootless !== undefined,
    credentials: options.runtimeCredentials,
  });
  const id = options.id ?? newContainerId();
  if (!validContainerId(id)) throw new OboxError(ErrorCodes.usage, `invalid container id ${JSON.stringify(id)}`);
  const rootfs = path.resolve(options.rootfs);
  const rootStat = await fsp.stat(rootfs).catch(() => undefined);
  if (!rootStat?.isDirectory()) throw new OboxError(ErrorCodes.notFound, `root filesystem ${rootfs} is not a directory`);
  const cwd = path.posix.normalize(options.cwd ?? '/').replace(/(.)\/+$/, '$1');
  if (!cwd.startsWith('/')) throw new OboxError(ErrorCodes.semantic, `working directory ${JSON.stringify(cwd)} must be absolute`);

  const user = await resolveUser(rootfs, options.user ?? '');
  const owner = hostOwner(user, options);
  const bundle = await createBundleDir(options.stateDir, id);

  const state: { running?: RunningContainer; stubs?: MountStubs } = {};
  const cleanup = once(async () => {
    if (state.running?.spawned()) {
      await state.running.stop();
      // A foreground `run` that ended removes its own state; only a stopped or killed one
      // leaves some (saves a runtime process per RUN step).
      const left = await fsp.access(path.join(rt.stateRoot, id)).then(
        () => true,
        () => false,
      );
      if (left) await deleteContainer(rt, id);
    }
    if (state.stubs) await removeMountStubs(state.stubs);
    await fsp.rm(bundle.dir, { recursive: true, force: true });
  });
  const unregister = registerCleanup(cleanup);
  const onAbort = (): void => {
    cleanup().catch(() => undefined); // the run's own `await cleanup()` reports any failure
  };

  let result: RunResult;
  try {
    // BuildKit creates a missing working directory owned by the step's user, mode 0755.
    await mkdirAllInRoot(rootfs, cwd, mayChown(owner) ? { owner } : {});
    const spec = await writeBundle(
      bundle,
      {
        rootfs,
        args: options.args,
        env: buildEnv(options.env ?? [], { home: user.home }),
        cwd,
        user,
        hostname: options.hostname ?? DEFAULT_HOSTNAME,
        network: options.network ?? 'host',
        mounts: options.mounts,
        readonlyRootfs: options.readonlyRootfs,
        nofile: await containerNofile(options.rootless !== undefined),
        rootless: options.rootless,
      },
      rt.credentials,
    );
    state.stubs = await recordMountStubs(
      rootfs,
      spec.mounts.map((m) => m.destination),
    );
    if (signal?.aborted) throw interrupted(signal);

    signal?.addEventListener('abort', onAbort, { once: true });
    state.running = startRun(rt, id, bundle, options);
    const outcome = await state.running.done;
    if (signal?.aborted) throw interrupted(signal);
    result = {
      exitCode: outcome.exitCode,
      ...(outcome.runtimeError ? { runtimeError: outcome.runtimeError } : {}),
      outputTail: outcome.outputTail,
      containerId: id,
      user,
      durationMs: Date.now() - startedAt,
    };
  } catch (error) {
    signal?.removeEventListener('abort', onAbort);
    // The run's own error says more than a failure to clean up after it.
    await cleanup().catch(() => undefined);
    unregister();
    throw error;
  }
  signal?.removeEventListener('abort', onAbort);
  try {
    await cleanup();
  } finally {
    unregister();
  }
  return result;
}
