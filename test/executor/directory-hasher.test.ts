/**
 * DirectoryHasher: the worker thread gives the diffID the main thread gives, reports errors as
 * errors, and without its module (running from src/) the hash runs in-thread.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryHasher } from '../../src/executor/directory-hasher.js';
import { diffIdOfDirectory } from '../../src/cache/layers.js';
import { repoRoot } from '../helpers/cli.js';
import { inCI } from '../helpers/requirements.js';

const builtWorker = path.join(repoRoot, 'dist', 'executor', 'hash-worker.js');

describe('DirectoryHasher', () => {
  let tmp: string;
  let dir: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'obox-hasher-'));
    dir = path.join(tmp, 'layer');
    mkdirSync(path.join(dir, 'etc'), { recursive: true });
    for (let i = 0; i < 50; i++) writeFileSync(path.join(dir, 'etc', `f${i}`), `file ${i}\n`.repeat(i + 1));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it.skipIf(!inCI && !existsSync(builtWorker))('hashes in a worker exactly as on the main thread, several at once', async () => {
    const hasher = new DirectoryHasher(pathToFileURL(builtWorker));
    try {
      const expected = (await diffIdOfDirectory(dir, {})).diffId.toString();
      const got = await Promise.all([hasher.hash(dir, {}), hasher.hash(dir, {}), hasher.hash(dir, {})]);
      expect(got.map((d) => d.toString())).toEqual([expected, expected, expected]);
      // An error arrives as the error the main thread would have thrown (an OboxError stays one).
      const failure = (p: Promise<unknown>): Promise<Error> => p.then(() => new Error('no error'), (e: unknown) => e as Error);
      const inThread = await failure(diffIdOfDirectory(path.join(tmp, 'missing'), {}));
      const viaWorker = await failure(hasher.hash(path.join(tmp, 'missing'), {}));
      expect(viaWorker).toBeInstanceOf(Error);
      expect(viaWorker.constructor.name).toBe(inThread.constructor.name);
      expect(viaWorker.message).toBe(inThread.message);
      expect((viaWorker as { code?: string }).code).toBe((inThread as { code?: string }).code);
      // Still usable after an error; flushing the dir's filesystem first changes nothing in the result.
      expect((await hasher.hash(dir, {})).toString()).toBe(expected);
      expect((await hasher.hash(dir, {}, true)).toString()).toBe(expected);
    } finally {
      await hasher.close();
    }
  });

  it('without its worker module, hashes on the main thread', async () => {
    const hasher = new DirectoryHasher(pathToFileURL(path.join(tmp, 'no-such-worker.js')));
    expect((await hasher.hash(dir, {})).toString()).toBe((await diffIdOfDirectory(dir, {})).diffId.toString());
    await hasher.close();
  });
});
