/** Temp stores for the cache tests. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

export async function tempDir(prefix = 'obox-store-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export async function listDir(p: string): Promise<string[]> {
  return (await readdir(p)).sort();
}

/** A stream that yields `chunks` then fails. */
export function failingStream(chunks: Buffer[], error = new Error('source broke')): Readable {
  return Readable.from(
    (async function* () {
      for (const c of chunks) yield c;
      throw error;
    })(),
  );
}
