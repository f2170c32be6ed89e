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

export function siblingTemp(target: string): string {
  return join(dirname(target), `.${basename(target)}.obox-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export async function writeStreamToFile(stream: Readable, target: string): Promise<void> {
  const tmp = siblingTemp(target);
  try {
    await pipeline(stream, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
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
    throw e;
  }
  await fsyncDir(dirname(target));
}

/** Pipe into `out`; `end: false` leaves it open (for process.stdout). */
export async function writeStreamTo(stream: Readable, out: Writable, end = true): Promise<void> {
  await pipeline(stream, out, { end });
}
