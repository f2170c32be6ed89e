/**
 * Where COPY/ADD read path sources from: the build context (seen through its ignore rules: an
 * ignored file does not exist for COPY, and no wildcard matches it) or, for `--from`, another
 * root filesystem directory (a stage's or an image's; no ignore rules).
 *
 * Everything is addressed by clean relative paths ('' is the root). Symlinks are resolved the
 * way BuildKit's fs.RootPath does on its copy of the context: relative to the tree's root (an
 * absolute target restarts at the root, `..` stops at it), so a source can never lead outside.
 * A symlink to an ignored file dangles, as it does in BuildKit's transferred context.
 */
import { lstatSync, promises as fsp, readdirSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';
import { compareCodePoints, IgnoreMatcher, walkContext } from '../../context/ignore.js';
import { CopyError, isNotFound } from './errors.js';

const MAX_SYMLINKS = 255;

export interface SourceTree {
  /** The host directory. */
  readonly root: string;
  /** For messages: "build context", "stage builder". */
  readonly label: string;
  /**
   * True for a root filesystem (`--from`): files keep their owners. False for the build context,
   * whose files arrive owned by 0:0 as BuildKit's context transfer makes them.
   */
  readonly keepOwners: boolean;
  /** The ignore file in effect, for hints ("excluded by .dockerignore"). */
  readonly ignoreFile: string | undefined;
  /** Whether rel exists as far as COPY is concerned (not ignored); `isDir` from its lstat. */
  visible(rel: string, isDir: boolean): Promise<boolean>;
}

/** A root filesystem directory (`COPY --from`): everything is visible, owners are kept. */
export function rootfsSource(dir: string, label = 'source filesystem'): SourceTree {
  return { root: path.resolve(dir), label, keepOwners: true, ignoreFile: undefined, visible: async () => true };
}

/**
 * The build context seen through `matcher` (from loadIgnoreRules). Create it once per build and
 * reuse it for every COPY: with `!` rules it walks the context once, lazily, to learn which
 * excluded directories still hold re-included files.
 */
export function contextSource(dir: string, matcher: IgnoreMatcher = IgnoreMatcher.none, ignoreFile?: string): SourceTree {
  const root = path.resolve(dir);
  let keptDirs: Promise<Set<string>> | undefined;
  const keptDirsOf = (): Promise<Set<string>> =>
    (keptDirs ??= walkContext(root, matcher).then((entries) => new Set(entries.filter((e) => e.kind === 'dir').map((e) => e.path))));
  return {
    root,
    label: 'build context',
    keepOwners: false,
    ignoreFile,
    async visible(rel, isDir) {
      if (rel === '' || matcher.rules.length === 0) return true;
      const state = matcher.evaluate(rel);
      if (!state.excluded) return true;
      // An excluded directory stays when something inside it is re-included (as in walkContext).
      if (!isDir || matcher.canSkipDir(rel, state)) return false;
      return (await keptDirsOf()).has(rel);
    },
  };
}

function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/** Joins clean relative paths. */
export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

export function hostPath(tree: SourceTree, rel: string): string {
  return rel === '' ? tree.root : path.join(tree.root, rel);
}

/** lstat of rel, or null when it does not exist or is ignored. */
export async function lstatIn(tree: SourceTree, rel: string): Promise<BigIntStats | null> {
  let st: BigIntStats;
  try {
    // Synchronous on purpose: one lstat is microseconds, a thread-pool round trip costs more,
    // and a COPY walks every file of its sources.
    st = lstatSync(hostPath(tree, rel), { bigint: true });
  } catch (e) {
    if (isNotFound(e)) return null;
    throw new OboxError(ErrorCodes.environment, `cannot read ${rel || '.'} in the ${tree.label}: ${(e as Error).message}`, { cause: e });
  }
  return (await tree.visible(rel, st.isDirectory())) ? st : null;
}

export interface DirEntry {
  name: string;
  rel: string;
  st: BigIntStats;
}

/** The visible entries of directory rel with their lstat, sorted as Go's ReadDir sorts (by code point). */
export async function listDir(tree: SourceTree, rel: string): Promise<DirEntry[]> {
  let names: string[];
  try {
    names = readdirSync(hostPath(tree, rel));
  } catch (e) {
    if (isNotFound(e)) return [];
    throw new OboxError(ErrorCodes.environment, `cannot read ${rel || '.'} in the ${tree.label}: ${(e as Error).message}`, { cause: e });
  }
  const out: DirEntry[] = [];
  for (const name of names.sort(compareCodePoints)) {
    const child = joinRel(rel, name);
    const st = await lstatIn(tree, child);
    if (st !== null) out.push({ name, rel: child, st });
  }
  return out;
}

/**
 * Resolves rel inside the tree, following symlinks in every component — and in the last one
 * when `followFinal` — relative to the tree's root. Components that do not exist (or are
 * ignored) are kept as written. Returns the clean relative path.
 */
export async function resolveIn(tree: SourceTree, rel: string, followFinal: boolean): Promise<string> {
  const done: string[] = [];
  let pending = components(rel);
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      done.pop();
      continue;
    }
    const candidate = [...done, part].join('/');
    const st = await lstatIn(tree, candidate);
    if (st === null || !st.isSymbolicLink() || (pending.length === 0 && !followFinal)) {
      done.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) {
      throw new CopyError(ErrorCodes.semantic, `too many levels of symbolic links resolving ${rel} in the ${tree.label}`);
    }
    const target = await fsp.readlink(hostPath(tree, candidate));
    if (target.startsWith('/')) done.length = 0;
    pending = [...components(target), ...pending];
  }
  return done.join('/');
}
