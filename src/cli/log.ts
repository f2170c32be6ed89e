/** Diagnostics on stderr, filtered by --log-level. Results go to stdout, never through here. */
export const LogLevels = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LogLevels)[number];

let current: LogLevel = 'warn';

export function setLogLevel(level: LogLevel): void {
  current = level;
}

export function getLogLevel(): LogLevel {
  return current;
}

function enabled(level: LogLevel): boolean {
  return LogLevels.indexOf(level) <= LogLevels.indexOf(current);
}

export const log = {
  error(msg: string): void {
    process.stderr.write(`${msg}\n`);
  },
  warn(msg: string): void {
    if (enabled('warn')) process.stderr.write(`warning: ${msg}\n`);
  },
  info(msg: string): void {
    if (enabled('info')) process.stderr.write(`${msg}\n`);
  },
  debug(msg: string): void {
    if (enabled('debug')) process.stderr.write(`debug: ${msg}\n`);
  },
};
