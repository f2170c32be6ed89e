/** The one place where errors become exit codes. Documented in README.md ("Exit codes"). */
import { ErrorCodes, type ErrorCode } from '../errors.js';

export const ExitCode = {
  ok: 0,
  /** Bad input: a Containerfile error, a missing file or image, a bad archive, a failed step. */
  userError: 1,
  /** Bad command-line usage. */
  usage: 2,
  /** The machine lacks something: runc, overlay, permission, disk space; or the store is locked/broken. */
  environment: 3,
  /** A bug in obox: an error nobody anticipated. */
  internal: 70,
  /** Interrupted by SIGINT (128 + 2). */
  interrupted: 130,
} as const;

const byCode: Record<ErrorCode, number> = {
  [ErrorCodes.syntax]: ExitCode.userError,
  [ErrorCodes.semantic]: ExitCode.userError,
  [ErrorCodes.notFound]: ExitCode.userError,
  [ErrorCodes.invalidArchive]: ExitCode.userError,
  [ErrorCodes.stepFailed]: ExitCode.userError,
  [ErrorCodes.usage]: ExitCode.usage,
  [ErrorCodes.environment]: ExitCode.environment,
  [ErrorCodes.store]: ExitCode.environment,
  [ErrorCodes.interrupted]: ExitCode.interrupted,
};

export function exitCodeFor(code: ErrorCode): number {
  return byCode[code] ?? ExitCode.userError;
}
