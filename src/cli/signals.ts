/**
 * SIGINT/SIGTERM: abort what is running so it unwinds through its own cleanup (unmount, runc
 * delete, temp dirs), then main() runs the cleanup registry for anything left and exits 130/143.
 * If unwinding takes longer than 15 s, or a second signal arrives, the registry runs and obox
 * exits at once.
 */
import { runCleanups } from '../executor/cleanup.js';
import { log } from './log.js';

const controller = new AbortController();

/** Aborted when the user interrupts obox; commands pass it down to long-running library calls. */
export const interruptSignal: AbortSignal = controller.signal;

let exitCode: number | undefined;

/** 130 after SIGINT, 143 after SIGTERM, undefined when not interrupted. */
export function interruptedExitCode(): number | undefined {
  return exitCode;
}

let installed = false;

export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  const forceExit = (code: number): void => {
    runCleanups()
      .catch((e: unknown) => log.error(`cleanup failed: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => process.exit(code));
  };
  const onSignal = (name: NodeJS.Signals, code: number): void => {
    if (exitCode !== undefined) {
      log.error(`${name} again: cleaning up and exiting now`);
      forceExit(code);
      return;
    }
    exitCode = code;
    log.error(`${name}: stopping and cleaning up…`);
    controller.abort(new Error(`interrupted by ${name}`));
    setTimeout(() => forceExit(code), 15_000).unref();
  };
  process.on('SIGINT', () => onSignal('SIGINT', 130));
  process.on('SIGTERM', () => onSignal('SIGTERM', 143));
}
