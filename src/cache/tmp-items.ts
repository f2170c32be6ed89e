/**
 * Which items of the store's tmp/ nobody can still be using (for `cache prune` and `cache du`).
 */
import { lstatSync, readFileSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { readLiveLeases } from './leases.js';
import { errnoCode, listDirOrEmpty } from './store/atomic.js';
import type { StorePaths } from './store/paths.js';

/** A temp item of a process that is gone is abandoned once this old. */
export const TMP_ABANDON_MS = 3_600_000;

export interface TmpItem {
  name: string;
  path: string;
  reason: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points at or under `dir` (from /proc/self/mountinfo; none where that is unreadable). */
function mountsUnder(dir: string): string[] {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const prefix = `${resolve(dir)}/`;
  return text
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(unescapeMountPath)
    .filter((p) => p.startsWith(prefix));
}

/**
 * Items of tmp/ nobody can still be using: not holding a mount, and either a `prune-PID-…` dir
 * of a prune that is gone, or older than an hour and made by a process that is gone (temp names
 * carry the pid: `NAME-PID-HEX`, `NAME-PID-XXXXXX`). Items without a pid in their name (mkdtemp dirs of builds)
 * are only abandoned when no build holds a live lease.
 */
export async function abandonedTmpItems(paths: StorePaths, options: { now?: number | undefined; liveLeases?: number } = {}): Promise<TmpItem[]> {
  const now = options.now ?? Date.now();
  const live = options.liveLeases ?? (await readLiveLeases(paths, { dryRun: true })).live;
  const mounted = new Set(mountsUnder(paths.tmp).map((p) => p.slice(paths.tmp.length + 1).split('/')[0]!));
  const out: TmpItem[] = [];
  for (const name of listDirOrEmpty(paths.tmp)) {
    if (mounted.has(name)) continue;
    const path = join(paths.tmp, name);
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    const age = now - Math.max(st.mtimeMs, st.ctimeMs);
    // tempName (`NAME-PID-` 12 hex) and tempDirIn (`NAME-PID-` and mkdtemp's 6 characters).
    const m = /-(\d+)-(?:[0-9a-f]{12}|[A-Za-z0-9]{6})$/.exec(name);
    if (m) {
      const pid = Number(m[1]);
      if (pidAlive(pid)) continue;
      if (name.startsWith('prune-')) out.push({ name, path, reason: `left by prune ${pid}, which is gone` });
      else if (age > TMP_ABANDON_MS) out.push({ name, path, reason: `process ${pid} is gone` });
    } else if (age > TMP_ABANDON_MS && live === 0) {
      out.push({ name, path, reason: 'older than an hour, no build running' });
    }
  }
  return out;
}


