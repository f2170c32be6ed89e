/**
 * What an obox process leaves behind when it dies without cleaning up (SIGKILL, OOM killer,
 * power loss): runc containers, overlay mounts and temp dirs. Their names carry the pid of the
 * process that made them (`obox-PID-…` containers, `NAME-PID-…` in the store's tmp/), so the
 * next build can tell them from a live process's and remove them: containers first (their
 * processes keep mounts busy), then every mount below a dead temp dir, then the dir.
 *
 * A pid that runs again belongs to another process when that process started after the item
 * was made (pid reuse).
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Store } from '../cache/store/index.js';
import { unmountAllUnder } from './overlay/index.js';
import { deleteContainer, selectRuntime } from './run/runtime.js';

export interface RecoveryReport {
  containers: string[];
  dirs: string[];
}

const TMP_ITEM = /^[a-z]+-(\d+)-/;
const CONTAINER = /^obox-(\d+)-/;

let bootMs: number | undefined;

async function processStartMs(pid: number): Promise<number | undefined> {
  try {
    if (bootMs === undefined) {
      const btime = /^btime (\d+)$/m.exec(await readFile('/proc/stat', 'utf8'));
      if (!btime) return undefined;
      bootMs = Number(btime[1]) * 1000;
    }
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]);
    // USER_HZ is 100 on every Linux ABI obox runs on.
    return Number.isFinite(ticks) ? bootMs + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the process `pid` that made something at `madeMs` is gone. */
async function deadMaker(pid: number, madeMs: number): Promise<boolean> {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return true;
  }
  const started = await processStartMs(pid);
  // Started (well) after the item was made: the pid was reused by another process.
  return started !== undefined && started > madeMs + 2000;
}

async function madeAt(p: string): Promise<number | undefined> {
  try {
    const st = await stat(p);
    return st.birthtimeMs > 0 ? st.birthtimeMs : st.ctimeMs;
  } catch {
    return undefined;
  }
}

/** Removes the leftovers of dead obox processes in this store. Safe to run beside live builds. */
export async function recoverAbandoned(store: Store, options: { runtimeStateDir: string }): Promise<RecoveryReport> {
  const report: RecoveryReport = { containers: [], dirs: [] };
  for (const kind of ['runc', 'crun']) {
    const stateRoot = path.join(options.runtimeStateDir, kind);
    const ids = await readdir(stateRoot).catch(() => [] as string[]);
    for (const id of ids) {
      const m = CONTAINER.exec(id);
      if (!m) continue;
      const made = await madeAt(path.join(stateRoot, id));
      if (made === undefined || !(await deadMaker(Number(m[1]), made))) continue;
      const rt = selectRuntime({ runtime: kind, stateDir: options.runtimeStateDir });
      await deleteContainer(rt, id);
      await rm(path.join(options.runtimeStateDir, 'bundles', id), { recursive: true, force: true });
      report.containers.push(id);
    }
  }
  // Bundles whose container state never got created.
  for (const id of await readdir(path.join(options.runtimeStateDir, 'bundles')).catch(() => [] as string[])) {
    const m = CONTAINER.exec(id);
    const dir = path.join(options.runtimeStateDir, 'bundles', id);
    const made = await madeAt(dir);
    if (m && made !== undefined && (await deadMaker(Number(m[1]), made))) await rm(dir, { recursive: true, force: true });
  }
  for (const name of await readdir(store.paths.tmp).catch(() => [] as string[])) {
    const m = TMP_ITEM.exec(name);
    if (!m) continue;
    const item = path.join(store.paths.tmp, name);
    const made = await madeAt(item);
    if (made === undefined || !(await deadMaker(Number(m[1]), made))) continue;
    await unmountAllUnder(item);
    await rm(item, { recursive: true, force: true });
    report.dirs.push(name);
  }
  return report;
}
