/**
 * The foreground `runc run` process: output piped and split into lines, the exit code, and a way
 * to stop it (kill the container, and if that does not end it, the runtime process).
 */
import { spawn } from 'node:child_process';
import type { Bundle } from './bundle.js';
import { DEFAULT_OUTPUT_TAIL_BYTES } from './defaults.js';
import { LineSplitter, TailBuffer } from './output.js';
import { globalArgs, killContainer, lastRuntimeError, runtimeStartError, spawnOptions, type Runtime } from './runtime.js';
import type { OutputStream, RunOptions } from './types.js';

/** How long to keep sending `kill KILL` before killing the runtime process itself. */
const KILL_GRACE_MS = 5_000;

export interface RunOutcome {
  exitCode: number;
  runtimeError?: string;
  outputTail: string;
}

export interface RunningContainer {
  /** Settles when the runtime has exited and its output is drained. */
  done: Promise<RunOutcome>;
  /** Kills the container and waits for the runtime to exit. Idempotent. */
  stop(): Promise<void>;
  /** False when the runtime binary could not even be started (so no container can exist). */
  spawned(): boolean;
}

const SIGNALS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function startRun(
  rt: Runtime,
  id: string,
  bundle: Bundle,
  options: Pick<RunOptions, 'onLine' | 'outputTailBytes'>,
): RunningContainer {
  const tail = new TailBuffer(options.outputTailBytes ?? DEFAULT_OUTPUT_TAIL_BYTES);
  const child = spawn(rt.binary, [...globalArgs(rt, bundle.logFile), 'run', '--bundle', bundle.dir, id], {
    cwd: bundle.dir,
    // Its own process group: a terminal's Ctrl-C reaches obox, which then decides to cancel.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...spawnOptions(rt),
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', () => {
      exited = true;
      resolve();
    });
  });

  let callbackError: { error: unknown } | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= stopContainer());

  const done = new Promise<RunOutcome>((resolve, reject) => {
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      const splitter = new LineSplitter((line) => {
        if (callbackError || !options.onLine) return;
        try {
          options.onLine(line, name as OutputStream);
        } catch (error) {
          // A consumer that cannot take output ends the run.
          callbackError = { error };
          void stop();
        }
      });
      stream.on('data', (chunk: Buffer) => {
        tail.write(chunk);
        splitter.write(chunk);
      });
      stream.on('end', () => splitter.end());
    }
    child.once('error', (e) => reject(runtimeStartError(rt, e)));
    child.once('close', (code, sig) => {
      if (callbackError) return reject(callbackError.error);
      const exitCode = code ?? 128 + (sig ? (SIGNALS[sig] ?? 0) : 0);
      if (exitCode === 0) return resolve({ exitCode, outputTail: tail.text() });
      lastRuntimeError(bundle.logFile).then(
        (runtimeError) => resolve({ exitCode, ...(runtimeError ? { runtimeError } : {}), outputTail: tail.text() }),
        reject,
      );
    });
  });
  // `stop` may win the race against a caller awaiting `done`; never leave it unobserved.
  done.catch(() => undefined);

  async function stopContainer(): Promise<void> {
    if (child.pid === undefined || exited) return;
    const deadline = Date.now() + KILL_GRACE_MS;
    while (!exited) {
      // Before `runc run` has created the container there is nothing to kill yet: try again.
      await killContainer(rt, id).catch(() => false);
      if (await Promise.race([exit.then(() => true), sleep(100).then(() => false)])) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await Promise.race([exit, sleep(KILL_GRACE_MS)]);
        return;
      }
    }
  }

  return { done, stop, spawned: () => child.pid !== undefined };
}
