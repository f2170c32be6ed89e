/**
 * An OCI image layout as a directory (`oci:DIR`): the same entries as the archive, written into a
 * temp directory beside the target, flushed, given the fixed mtime, then renamed into place. The
 * target must not exist or be an empty directory; obox does not merge into an existing layout.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { ErrorCodes, OboxError } from '../errors.js';
import { fsyncDir, fsyncTree } from '../cache/store/index.js';
import { openVerified, type LayoutEntry } from './entries.js';
import { siblingTemp } from './file-output.js';

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

async function checkTarget(target: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(target);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    if (errnoCode(e) === 'ENOTDIR') throw new OboxError(ErrorCodes.usage, `${target} exists and is not a directory`);
    throw e;
  }
  if (names.length > 0) {
    throw new OboxError(ErrorCodes.usage, `${target} is not empty`, { hint: 'write an OCI layout into a new or empty directory' });
  }
}

function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      onBytes(chunk.byteLength);
      cb(null, chunk);
    },
  });
}

/** Write `entries` (sorted, directories included) as the directory `target`. */
export async function writeLayoutDir(entries: readonly LayoutEntry[], target: string, mtime: number, onBytes: (n: number) => void): Promise<void> {
  await checkTarget(target);
  await mkdir(dirname(target), { recursive: true });
  const tmp = siblingTemp(target);
  await mkdir(tmp, { mode: 0o755 });
  try {
    for (const e of entries) {
      const p = join(tmp, e.path);
      if (e.kind === 'dir') await mkdir(p, { mode: 0o755 });
      else if (e.kind === 'bytes') {
        await writeFile(p, e.data, { mode: 0o644, flag: 'wx' });
        onBytes(e.data.byteLength);
      } else {
        await pipeline(await openVerified(e), counter(onBytes), createWriteStream(p, { mode: 0o644, flags: 'wx' }));
      }
    }
    await fsyncTree(tmp);
    // Children first: setting a directory's time must come after its last change.
    const when = new Date(mtime * 1000);
    for (const e of [...entries].reverse()) await utimes(join(tmp, e.path), when, when);
    await utimes(tmp, when, when);
    await rmdir(target).catch((e: unknown) => {
      if (errnoCode(e) !== 'ENOENT') throw e;
    });
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await fsyncDir(dirname(target));
}
