/**
 * The layout's `index.json`: read without a lock (it is only ever replaced by rename), changed
 * under the `index` lock with a read-modify-write that ends in an atomic replace.
 */
import { readFile } from 'node:fs/promises';
import { ErrorCodes, OboxError } from '../../errors.js';
import { MediaTypes } from '../../image/media-type.js';
import { parseIndexBytes, serializeIndex, type Index } from '../../image/oci-index.js';
import { errnoCode, writeFileAtomic } from './atomic.js';
import { withLock, type LockOptions } from './lock.js';
import type { StorePaths } from './paths.js';

export const EMPTY_INDEX: Index = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] };

export async function readIndex(paths: StorePaths): Promise<Index> {
  let bytes: Buffer;
  try {
    bytes = await readFile(paths.index);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      throw new OboxError(ErrorCodes.store, `${paths.root} is not an obox store: index.json is missing`, { cause: e });
    }
    throw e;
  }
  try {
    return parseIndexBytes(bytes, `store index ${paths.index}`);
  } catch (e) {
    throw new OboxError(ErrorCodes.store, (e as Error).message, { cause: e, hint: 'the store index is damaged' });
  }
}

/** Apply `change` to index.json, serialised with every other writer; returns the new index. */
export async function updateIndex(
  paths: StorePaths,
  change: (index: Index) => Index | Promise<Index>,
  options: LockOptions = {},
): Promise<Index> {
  return withLock(
    paths.lock('index'),
    async () => {
      const before = await readIndex(paths);
      const after = await change(before);
      // Unchanged (a rebuild re-tagging the same image): no write, so index.json keeps its
      // inode and times, which replay records (src/cli/replay.ts) rely on.
      if (after !== before) {
        const bytes = serializeIndex(after);
        if (!Buffer.from(bytes).equals(serializeIndex(before))) await writeFileAtomic(paths.index, bytes, paths.tmp);
      }
      return after;
    },
    options,
  );
}
