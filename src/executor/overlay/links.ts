/**
 * Short names for layer dirs, so that hundreds of lower dirs fit in the one page of mount data
 * (docker's overlay2 does the same with its `l/` dir and mountFrom).
 *
 * A link is `<linksDir>/<id>` → the layer dir's absolute path, where id is 5 characters of
 * base32(sha256(attempt ":" path)). The same path always probes the same ids in the same order,
 * so a link made once is found and reused by every later mount. Creation is symlink(2) straight
 * at the final name, which is atomic: two builds racing on the same layer both end up using the
 * one link; a name held by another path (a hash collision) moves the probe on to the next id.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';

/** Characters in a link id; 32^5 ≈ 33 million names, and 6 bytes per lower dir with its ':'. */
export const LINK_ID_LENGTH = 5;
const MAX_PROBES = 32;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** The id tried at the given attempt for a layer dir (an absolute path). Pure. */
export function linkId(absoluteLayerDir: string, attempt = 0): string {
  const digest = createHash('sha256').update(`${attempt}:${absoluteLayerDir}`).digest();
  let id = '';
  for (let i = 0; i < LINK_ID_LENGTH; i++) id += BASE32[digest[i]! & 31];
  return id;
}

/**
 * Makes sure `<linksDir>/<id>` points at `layerDir` and returns the id. Reuses an existing link;
 * never replaces a link that points elsewhere.
 */
export async function ensureLink(linksDir: string, layerDir: string): Promise<string> {
  const target = path.resolve(layerDir);
  await fsp.mkdir(linksDir, { recursive: true });
  for (let attempt = 0; attempt < MAX_PROBES; attempt++) {
    const id = linkId(target, attempt);
    const at = path.join(linksDir, id);
    try {
      await fsp.symlink(target, at);
      return id;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new OboxError(ErrorCodes.environment, `cannot create the layer link ${at}: ${(e as Error).message}`, { cause: e });
      }
    }
    const existing = await fsp.readlink(at).catch(() => undefined);
    if (existing === target) return id;
  }
  throw new OboxError(ErrorCodes.store, `no free link name for ${target} in ${linksDir} after ${MAX_PROBES} tries`, {
    hint: `${linksDir} holds links only; removing it is safe while no build runs`,
  });
}

/** ensureLink for many layer dirs, in order; a layer dir given twice gets the same id. */
export async function ensureLinks(linksDir: string, layerDirs: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const dir of layerDirs) ids.push(await ensureLink(linksDir, dir));
  return ids;
}
