/**
 * SIGINT/SIGTERM: abort what is running, then run every registered cleanup (mounts, runc
 * containers, temp dirs) before exiting. A second signal while cleaning up exits at once.
 */
import { runCleanups } from '../executor/cleanup.js';
import { log } from './log.js';

const controller = new AbortController();

/** Aborted when the user interrupts obox; commands pass it down to long-running library calls. */
export const interruptSignal: AbortSignal = controller.signal;

let installed = false;

export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  let cleaning = false;
  const onSignal = (name: NodeJS.Signals, code: number): void => {
    if (cleaning) {
      log.error(`${name} again: exiting without finishing cleanup`);
      process.exit(code);
    }
    cleaning = true;
    log.error(`${name}: stopping and cleaning up…`);
    controller.abort(new Error(`interrupted by ${name}`));
    runCleanups()
      .catch((e: unknown) => log.error(`cleanup failed: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => process.exit(code));
  };
  process.on('SIGINT', () => onSignal('SIGINT', 130));
  process.on('SIGTERM', () => onSignal('SIGTERM', 143));
}
