/**
 * Where an archive stream goes: a file, replaced atomically (a temp file beside it, flushed, then
 * renamed, so a failed or interrupted write never leaves a half archive under the final name), or
 * a stream the caller owns (stdout, a socket).
 */
import { randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fsyncDir } from '../cache/store/index.js';
import { ErrorCodes, isOboxError, OboxError } from '../errors.js';

export function siblingTemp(target: string): string {
  return join(dirname(target), `.${basename(target)}.obox-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EIO: 'input/output error',
};

/**
 * A failure of the output itself (its directory missing, not writable, full; the target a directory)
 * as an OboxError naming the target; anything else (an archive source failing, an OboxError) as is.
 */
function outputError(e: unknown, target: string, tmp: string): unknown {
  if (isOboxError(e) || !(e instanceof Error)) return e;
  const err = e as NodeJS.ErrnoException & { dest?: string };
  const code = err.code;
  if (typeof code !== 'string') return e;
  // open/rename of our own files carry their path; write/fsync errors (a full disk) carry none.
  const ours = err.path === tmp || err.path === target || err.dest === target || (err.path === undefined && (err.syscall === 'write' || err.syscall === 'fsync'));
  if (!ours && code !== 'ENOSPC' && code !== 'EDQUOT') return e;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new OboxError(ErrorCodes.notFound, `cannot write ${target}: no such directory ${dirname(target)}`, { cause: e });
  }
  if (code === 'EISDIR') return new OboxError(ErrorCodes.usage, `cannot write ${target}: it is a directory`, { cause: e });
  return new OboxError(ErrorCodes.environment, `cannot write ${target}: ${REASONS[code] ?? err.message}`, { cause: e });
}

export async function writeStreamToFile(stream: Readable, target: string): Promise<void> {
  const tmp = siblingTemp(target);
  try {
    await pipeline(stream, createWriteStream(tmp, { flags: 'wx', mode: 0o644, highWaterMark: 1 << 20 }));
    const fh = await open(tmp, constants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (e) {
    stream.destroy();
    await rm(tmp, { force: true });
    throw outputError(e, target, tmp);
  }
  await fsyncDir(dirname(target));
}

/** Pipe into `out`; `end: false` leaves it open (for process.stdout). */
export async function writeStreamTo(stream: Readable, out: Writable, end = true): Promise<void> {
  try {
    await pipeline(stream, out, { end });
  } catch (e) {
    // The reader went away (`obox save IMAGE | head`) or the output is full (`> /dev/full`): the
    // output's problem, not a bug in obox.
    const code = isOboxError(e) ? undefined : (e as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'EPIPE') {
      throw new OboxError(ErrorCodes.environment, 'the output was closed before the archive was complete (broken pipe)', { cause: e });
    }
    if (code !== undefined && REASONS[code] !== undefined && (e as NodeJS.ErrnoException).syscall === 'write') {
      throw new OboxError(ErrorCodes.environment, `cannot write the archive: ${REASONS[code]}`, { cause: e });
    }
    throw e;
  }
}
