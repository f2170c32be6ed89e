/**
 * The obox command line: parse flags, call the library, print. Nothing else lives here.
 * Command actions import their library code lazily so `obox --help` and quick commands stay fast.
 */
import { Command, CommanderError, Option } from 'commander';
import { createRequire } from 'node:module';
import { isOboxError } from '../errors.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { log, LogLevels, setLogLevel, type LogLevel } from './log.js';
import { registerParse } from './commands/parse.js';
import { registerImageCommands } from './commands/images.js';
import { registerBuild } from './commands/build.js';
import { registerArchiveCommands } from './commands/archives.js';
import { registerCacheCommands } from './commands/cache.js';
import { installSignalHandlers, interruptedExitCode } from './signals.js';
import { runCleanups } from '../executor/cleanup.js';

export interface GlobalOptions {
  root?: string;
  debug?: boolean;
  logLevel: LogLevel;
}

function version(): string {
  const require = createRequire(import.meta.url);
  return (require('../../package.json') as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command('obox')
    .description('Daemonless OCI image builder: Containerfile in, docker-loadable image out.')
    .version(version(), '-V, --version', 'print the obox version')
    .option('--root <dir>', 'store directory (default: $OBOX_ROOT, /var/lib/obox as root, else ~/.local/share/obox)')
    .option('--debug', 'show debug output and stack traces')
    .addOption(new Option('--log-level <level>', 'diagnostics shown on stderr').choices(LogLevels).default('warn'))
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: true })
    .exitOverride()
    .hook('preAction', (cmd) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      setLogLevel(opts.debug ? 'debug' : opts.logLevel);
    });
  program.addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 bad input or failed step, 2 usage, 3 environment (missing tool, permission,\n' +
      'disk, store), 70 internal error, 130 interrupted.',
  );
  registerParse(program);
  registerImageCommands(program);
  registerBuild(program);
  registerArchiveCommands(program);
  registerCacheCommands(program);
  return program;
}

/** System errors that mean the machine, not obox, is the problem → exit 3 with a hint. */
const MACHINE_ERRNOS: Record<string, string> = {
  ENOSPC: "no space left on the file system: free some (obox cache prune, or remove images with obox rmi) and run again",
  EDQUOT: 'disk quota exceeded: free some space (obox cache prune) and run again',
  EROFS: 'the file system is read-only: choose a writable store with --root or OBOX_ROOT',
  EIO: 'the disk reported an I/O error: check the device (dmesg), then run obox cache verify',
  ENOMEM: 'out of memory',
  EMFILE: 'too many open files: raise the limit (ulimit -n)',
  ENFILE: 'the system ran out of file handles',
};

function wantsDebug(argv: string[]): boolean {
  return argv.includes('--debug');
}

/** Runs the CLI and returns the exit code. Never throws. Anything still registered for cleanup is cleaned. */
export async function main(argv: string[]): Promise<number> {
  const code = await runCommand(argv);
  try {
    await runCleanups();
  } catch (e) {
    log.error(`cleanup failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  return interruptedExitCode() ?? code;
}

async function runCommand(argv: string[]): Promise<number> {
  installSignalHandlers();
  const program = buildProgram();
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? ExitCode.ok : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        return ExitCode.ok;
      }
      return ExitCode.usage;
    }
    if (isOboxError(e)) {
      log.error(`error: ${e.describe()}`);
      if (wantsDebug(argv) && e.stack) log.error(e.stack);
      return exitCodeFor(e.code);
    }
    const err = e instanceof Error ? e : new Error(String(e));
    const errno = (err as NodeJS.ErrnoException).code;
    if (typeof errno === 'string' && errno in MACHINE_ERRNOS) {
      // Not a bug: the machine said no (full disk, read-only file system…). Nothing half-done
      // stays behind: store writes are atomic and the cleanups run after this.
      log.error(`error: ${err.message}`);
      log.error(`hint: ${MACHINE_ERRNOS[errno]}`);
      if (wantsDebug(argv)) log.error(err.stack ?? '');
      return ExitCode.environment;
    }
    log.error(`internal error: ${err.message}`);
    if (wantsDebug(argv)) log.error(err.stack ?? '');
    else log.error('(this is a bug in obox; run again with --debug for details)');
    return ExitCode.internal;
  }
}
