/**
 * Exclusive locks between processes (and between promises of one process) on a store resource.
 *
 * A lock is a file created with O_EXCL holding `{"pid","start","host","nonce"}`. Release removes
 * it, but only if it still holds our nonce.
 *
 * Crash behaviour: a process that dies holding a lock leaves the file behind. A waiter treats it
 * as stale when the holder is on this host and its pid no longer runs, or runs with a different
 * start time (the pid was reused); a file that never got its content (crash between create and
 * write) is stale once older than a grace period. Breaking a stale lock is itself serialised by a
 * second lock file (`<lock>.break`), and the stale file is removed only if it still has the
 * content judged stale, so two waiters can never both break it and both acquire. A lock held
 * from another host (a shared network file system) is never judged stale: waiters time out with
 * E_STORE naming the holder.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, OboxError } from '../../errors.js';
import { errnoCode } from './atomic.js';

export interface LockOptions {
  /** Give up after this long (default 5 minutes). */
  timeoutMs?: number;
  /** How old an empty or unreadable lock file must be to count as stale (default 10 s). */
  graceMs?: number;
}

interface LockContent {
  pid: number;
  /** Process start time in clock ticks since boot (/proc/PID/stat field 22), when known. */
  start?: string;
  host: string;
  nonce: string;
}

/** Promises of this process queue here per lock path, so they do not poll the file. */
const inProcess = new Map<string, Promise<void>>();

let ownStart: string | undefined | null = null;

async function processStart(pid: number): Promise<string | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is parenthesised and may hold spaces; count fields after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22 overall
  } catch {
    return undefined;
  }
}

/** Who this process is, as lock files and build leases record it. */
export type HolderRecord = LockContent;

async function myContent(): Promise<LockContent> {
  if (ownStart === null) ownStart = await processStart(process.pid);
  return {
    pid: process.pid,
    ...(ownStart !== undefined ? { start: ownStart } : {}),
    host: hostname(),
    nonce: randomBytes(8).toString('hex'),
  };
}

/** A fresh record of this process (pid, start time, host, a random nonce). */
export function holderRecord(): Promise<HolderRecord> {
  return myContent();
}

/** A holder record read back from text; undefined when it is not one. */
export function parseHolder(text: string): LockContent | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockContent>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.nonce === 'string') return v as LockContent;
  } catch {
    // fall through
  }
  return undefined;
}

function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

/** Is the holder recorded in `content` gone (pid not running, or reused)? Never for another host. */
export async function holderGone(content: LockContent): Promise<boolean> {
  if (content.host !== hostname()) return false;
  if (!pidRunning(content.pid)) return true;
  if (content.start === undefined) return false;
  const start = await processStart(content.pid);
  return start !== undefined && start !== content.start;
}

async function tryCreate(path: string, content: LockContent): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'wx', 0o644);
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') return false;
    throw e;
  }
  try {
    await fh.writeFile(JSON.stringify(content));
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw e;
  }
  await fh.close();
  return true;
}

async function readLock(path: string): Promise<{ text: string; mtimeMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { text, mtimeMs: st.mtimeMs };
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** Remove `path` if it still reads exactly `staleText`; serialised with other breakers. */
async function breakStale(path: string, staleText: string, graceMs: number): Promise<void> {
  const breaker = `${path}.break`;
  const me = await myContent();
  if (!(await tryCreate(breaker, me))) {
    // Another waiter is breaking it. A breaker only reads and unlinks, so an old one crashed.
    const b = await readLock(breaker);
    if (b !== undefined && Date.now() - b.mtimeMs > graceMs) await unlink(breaker).catch(() => undefined);
    return;
  }
  try {
    const now = await readLock(path);
    if (now !== undefined && now.text === staleText) await unlink(path).catch(() => undefined);
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

/** Acquire the lock file at `path` (its directory must exist); resolves to the release function. */
async function acquireFile(path: string, options: LockOptions): Promise<() => Promise<void>> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const graceMs = options.graceMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  const content = await myContent();
  let delay = 5;
  for (;;) {
    if (await tryCreate(path, content)) {
      const mine = JSON.stringify(content);
      return async () => {
        const now = await readLock(path);
        if (now !== undefined && now.text === mine) await unlink(path);
      };
    }
    const held = await readLock(path);
    if (held === undefined) continue; // released meanwhile
    const holder = parseHolder(held.text);
    const stale = holder === undefined ? Date.now() - held.mtimeMs > graceMs : await holderGone(holder);
    if (stale) {
      await breakStale(path, held.text, graceMs);
      continue;
    }
    if (Date.now() >= deadline) {
      const who = holder === undefined ? 'an unknown process' : `pid ${holder.pid} on ${holder.host}`;
      throw new OboxError(ErrorCodes.store, `store is locked: ${path} is held by ${who}`, {
        hint: 'wait for the other obox to finish; if none is running, remove the lock file',
      });
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 200);
  }
}

/** Run `fn` holding the exclusive lock at `path`. */
export async function withLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const previous = inProcess.get(path) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => (done = r));
  const tail = previous.then(() => mine);
  inProcess.set(path, tail);
  try {
    await previous;
    const release = await acquireFile(path, options);
    try {
      return await fn();
    } finally {
      await release();
    }
  } finally {
    done();
    if (inProcess.get(path) === tail) inProcess.delete(path);
  }
}
