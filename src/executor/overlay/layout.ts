/**
 * Chooses how the dirs of one mount are written into the option string: as absolute paths when
 * they fit, else as short links relative to the links dir (the mount then runs with its cwd set
 * there; the kernel resolves relative lowerdir/upperdir/workdir against the caller's cwd).
 *
 * The cwd is the links dir itself rather than its parent (docker uses `l/ID` from the parent):
 * 6 bytes per layer instead of 8 is what lets 500 layers, the kernel's limit, fit in a page.
 */
import path from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';
import { ensureLinks } from './links.js';
import { buildMountData, checkLowerCount, checkMountDataFits, fitsMountData, isPlainOptionPath } from './options.js';

export type LinkMode = 'auto' | 'always' | 'never';

export interface LayoutInput {
  /** Lower dirs, topmost first, absolute. */
  lowers: readonly string[];
  upper?: string | undefined;
  work?: string | undefined;
  userxattr?: boolean;
  volatile?: boolean;
  linksDir?: string | undefined;
  links?: LinkMode;
}

export interface MountLayout {
  /** The option string, checked to fit. */
  data: string;
  /** Where the mount must run: the links dir when links are used, else undefined. */
  cwd: string | undefined;
  /** The link ids used, topmost first (empty without links). */
  linkIds: string[];
}

export async function layoutMount(input: LayoutInput): Promise<MountLayout> {
  checkLowerCount(input.lowers.length);
  for (const p of [input.upper, input.work]) {
    if (p !== undefined && !isPlainOptionPath(p)) {
      throw new OboxError(ErrorCodes.environment, `the overlay upper or work dir path ${JSON.stringify(p)} contains , : \\ quotes or whitespace`, {
        hint: 'put the store and temp dirs under a path without such characters',
      });
    }
  }
  const mode = input.links ?? 'auto';
  const plain = input.lowers.every(isPlainOptionPath);
  if (mode !== 'always') {
    const data = buildMountData(input);
    if (plain && fitsMountData(data)) return { data, cwd: undefined, linkIds: [] };
    if (mode === 'never' || input.linksDir === undefined) {
      if (!plain) throw unsafeLower(input.lowers);
      checkMountDataFits(data, input.lowers.length); // throws: it does not fit
    }
  }
  if (input.linksDir === undefined) throw new OboxError(ErrorCodes.environment, 'overlay links requested but no links dir given');
  const cwd = path.resolve(input.linksDir);
  if (!isPlainOptionPath(cwd)) {
    // The links dir itself never appears in the string, but keep the rule simple and uniform.
    throw new OboxError(ErrorCodes.environment, `the overlay links dir path ${JSON.stringify(cwd)} contains , : \\ quotes or whitespace`);
  }
  const linkIds = await ensureLinks(cwd, input.lowers);
  const data = buildMountData({
    ...input,
    lowers: linkIds,
    upper: input.upper === undefined ? undefined : shortest(cwd, input.upper),
    work: input.work === undefined ? undefined : shortest(cwd, input.work),
  });
  checkMountDataFits(data, input.lowers.length);
  return { data, cwd, linkIds };
}

/** The absolute path, or the path relative to cwd when that is shorter. */
export function shortest(cwd: string, p: string): string {
  const rel = path.relative(cwd, p);
  return rel !== '' && rel.length < p.length && isPlainOptionPath(rel) ? rel : p;
}

function unsafeLower(lowers: readonly string[]): OboxError {
  const bad = lowers.find((p) => !isPlainOptionPath(p)) ?? '';
  return new OboxError(ErrorCodes.environment, `the layer dir path ${JSON.stringify(bad)} contains , : \\ quotes or whitespace and no links dir was given`, {
    hint: 'give the mount a links dir, or keep the store under a plain path',
  });
}
