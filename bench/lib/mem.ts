/**
 * Memory of a whole process tree, sampled from /proc: every `intervalMs` the harness lists /proc,
 * learns each new process's parent once (/proc/PID/stat), takes the tree under the given roots
 * (the measured command, plus a daemon's pid for BuildKit) and sums the resident pages of its
 * members (/proc/PID/statm). The peak is the largest sum seen.
 *
 * What this is and is not: RSS summed over processes counts shared pages (libraries, the page
 * cache mapped by two processes) once per process, and page cache that is not mapped (files a
 * build writes) not at all; a process living shorter than the interval can be missed. It is the
 * same rule for every tool, which is what a side-by-side figure needs. cgroup v1's memory usage
 * would count the page cache of every file written, which for a build is mostly the output.
 */
import { readdirSync, readFileSync } from 'node:fs';

const PAGE = 4096;

/** Every pid in the trees under ROOTS, given each process's parent. Pure. */
export function treeMembers(roots: readonly number[], parentOf: ReadonlyMap<number, number>): Set<number> {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parentOf) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const out = new Set<number>();
  const todo = roots.filter((r) => r > 0);
  while (todo.length > 0) {
    const pid = todo.pop()!;
    if (out.has(pid)) continue;
    out.add(pid);
    for (const c of children.get(pid) ?? []) todo.push(c);
  }
  return out;
}

/** The parent pid from a /proc/PID/stat line (the command name may hold spaces and parentheses). Pure. */
export function parentFromStat(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const ppid = Number(stat.slice(close + 2).split(' ')[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

function readParent(pid: number): number | undefined {
  try {
    return parentFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function rssBytes(pid: number): number {
  try {
    const resident = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return Number.isFinite(resident) ? resident * PAGE : 0;
  } catch {
    return 0;
  }
}

function listPids(): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) if (e.charCodeAt(0) >= 48 && e.charCodeAt(0) <= 57) out.push(Number(e));
  return out;
}

export interface TreeMemory {
  /** Largest summed RSS seen, bytes. */
  peakBytes: number;
  /** The summed RSS of the extra roots' trees (the daemon) in the first sample, before the command ran. */
  extraBeforeBytes: number | undefined;
  samples: number;
}

/** Sum of RSS now over the trees under ROOTS (one /proc scan). */
export function treeRssNow(roots: readonly number[]): number {
  const parents = new Map<number, number>();
  for (const pid of listPids()) {
    const p = readParent(pid);
    if (p !== undefined) parents.set(pid, p);
  }
  let sum = 0;
  for (const pid of treeMembers(roots, parents)) sum += rssBytes(pid);
  return sum;
}

/**
 * Samples the tree under the command (given to start()) and EXTRA roots until stop(). The extra
 * roots' own tree is measured once before the command starts (extraBeforeBytes).
 */
export class TreeSampler {
  private readonly parents = new Map<number, number>();
  private roots: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private peak = 0;
  private count = 0;
  private readonly extraBefore: number | undefined;

  constructor(
    private readonly extraRoots: readonly number[] = [],
    private readonly intervalMs = 50,
  ) {
    this.extraBefore = extraRoots.length > 0 ? treeRssNow(extraRoots) : undefined;
  }

  start(pid: number): void {
    this.roots = [pid, ...this.extraRoots];
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): TreeMemory {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return { peakBytes: this.peak, extraBeforeBytes: this.extraBefore, samples: this.count };
  }

  private sample(): void {
    const live = listPids();
    const seen = new Set(live);
    for (const pid of this.parents.keys()) if (!seen.has(pid)) this.parents.delete(pid);
    for (const pid of live) {
      if (this.parents.has(pid)) continue;
      const p = readParent(pid);
      if (p !== undefined) this.parents.set(pid, p);
    }
    let sum = 0;
    for (const pid of treeMembers(this.roots, this.parents)) sum += rssBytes(pid);
    this.count++;
    if (sum > this.peak) this.peak = sum;
  }
}
