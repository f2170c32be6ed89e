/**
 * The process-wide cleanup registry: every mount, temp dir and container the executor makes
 * registers how to undo itself, and unregisters once it has been undone the ordinary way.
 * On SIGINT/SIGTERM the CLI (and only the CLI: library code installs no signal handlers and never
 * exits) awaits `runCleanups()` before exiting, so nothing is left behind (DESIGN.md "Running steps").
 */
import { ErrorCodes, OboxError } from '../errors.js';

export type CleanupFn = () => void | Promise<void>;

/** Insertion-ordered; a fresh object per registration, so the same function may be registered twice. */
const pending = new Set<{ fn: CleanupFn }>();
let running: Promise<void> | undefined;

/**
 * Registers `fn` to run on `runCleanups()`. Returns an unregister function (idempotent) to call
 * once the resource has been released normally.
 */
export function registerCleanup(fn: CleanupFn): () => void {
  const entry = { fn };
  pending.add(entry);
  return () => {
    pending.delete(entry);
  };
}

/** How many cleanups are registered (tests use it to check that nothing leaked). */
export function pendingCleanups(): number {
  return pending.size;
}

/**
 * Runs every registered cleanup once, newest first (a mount made inside another mount's tree goes
 * before it), each awaited before the next. Every cleanup runs even when an earlier one fails;
 * failures are reported together afterwards as one OboxError. A call while a run is under way
 * joins that run; cleanups registered during a run are left for the next call.
 */
export function runCleanups(): Promise<void> {
  running ??= runAll().finally(() => {
    running = undefined;
  });
  return running;
}

async function runAll(): Promise<void> {
  const entries = [...pending].reverse();
  const errors: unknown[] = [];
  for (const entry of entries) {
    pending.delete(entry);
    try {
      await entry.fn();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length === 0) return;
  const first = errors[0];
  const detail = first instanceof Error ? first.message : String(first);
  throw new OboxError(
    ErrorCodes.environment,
    errors.length === 1 ? `cleanup failed: ${detail}` : `${errors.length} cleanups failed; the first: ${detail}`,
    { cause: errors.length === 1 ? first : new AggregateError(errors, 'cleanups failed') },
  );
}
