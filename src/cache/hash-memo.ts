/**
 * File content digests memoised across builds, the way git's index remembers them: keyed by
 * path and the stat fields that change whenever the content can have changed (device, inode,
 * size, mtime and ctime in nanoseconds; the caller builds the key). One file per build context
 * in `cache-v1/file-hashes/<sha256 of the context path>.json`, loaded when a build starts and
 * rewritten atomically when it ends if anything new was hashed, with only the entries that build
 * used, so the file follows the context's current files.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, writeFileAtomic } from './store/atomic.js';
import type { StorePaths } from './store/paths.js';

const FORMAT = 'obox-file-hashes-v1';
export const FILE_HASHES_DIR = 'cache-v1/file-hashes';
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface PersistentHashMemo {
  get(key: string): string | undefined;
  set(key: string, digest: string): void;
  /** Files hashed (read) since load: set() calls with a key that was not known. */
  readonly hashed: number;
  /** Writes the memo back (the entries this build used) if it hashed anything. */
  save(): Promise<void>;
}

export function hashMemoPath(paths: StorePaths, contextDir: string): string {
  return join(paths.root, FILE_HASHES_DIR, `${createHash('sha256').update(contextDir).digest('hex')}.json`);
}

/** The memo of `contextDir` (an absolute, resolved path); empty when none was saved or it is unreadable. */
export async function loadHashMemo(paths: StorePaths, contextDir: string): Promise<PersistentHashMemo> {
  const file = hashMemoPath(paths, contextDir);
  const known = new Map<string, string>();
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as { format?: unknown; context?: unknown; entries?: unknown };
    if (v.format === FORMAT && v.context === contextDir && Array.isArray(v.entries)) {
      for (const e of v.entries) {
        if (Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'string' && DIGEST.test(e[1])) known.set(e[0], e[1]);
      }
    }
  } catch (e) {
    // Absent or damaged: start empty (a memo only saves reads, it never decides a result).
    if (errnoCode(e) !== 'ENOENT' && !(e instanceof SyntaxError)) throw e;
  }
  const used = new Map<string, string>();
  let hashed = 0;
  return {
    get(key) {
      const d = known.get(key);
      if (d !== undefined) used.set(key, d);
      return d;
    },
    set(key, digest) {
      if (!known.has(key)) hashed++;
      known.set(key, digest);
      used.set(key, digest);
    },
    get hashed() {
      return hashed;
    },
    async save() {
      if (hashed === 0) return;
      await mkdir(join(paths.root, FILE_HASHES_DIR), { recursive: true });
      const entries = [...used].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      await writeFileAtomic(file, `${JSON.stringify({ format: FORMAT, context: contextDir, entries })}\n`, paths.tmp);
    },
  };
}
