/** What the numbers were measured on: goes into every results JSON. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { sleepSync } from '../../test/helpers/dockerd.js';

export interface MachineInfo {
  date: string;
  nproc: number;
  cpu: string;
  memTotalMiB: number;
  memAvailableMiB: number | undefined;
  kernel: string;
  os: string | undefined;
  node: string;
  arch: string;
  loadavg: number[];
  tools: Record<string, string>;
}

function firstLine(file: string, args: string[]): string {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) return 'unavailable';
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? '';
}

function meminfoMiB(key: string): number | undefined {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/meminfo', 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** TOOLS: name → [command, args] whose first output line is the version. */
export function machineInfo(tools: Record<string, [string, string[]]>): MachineInfo {
  let osName: string | undefined;
  try {
    osName = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  } catch {
    osName = undefined;
  }
  const versions: Record<string, string> = {};
  for (const [name, [cmd, args]] of Object.entries(tools)) versions[name] = firstLine(cmd, args);
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memTotalMiB: Math.round(os.totalmem() / 1024 / 1024),
    memAvailableMiB: meminfoMiB('MemAvailable'),
    kernel: os.release(),
    os: osName,
    node: process.version,
    arch: process.arch,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    tools: versions,
  };
}

export function machineLine(m: MachineInfo): string {
  return `${m.nproc} cores (${m.cpu}), ${m.memTotalMiB} MiB RAM, Linux ${m.kernel}, ${m.os ?? ''}, node ${m.node}`;
}

function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Share of all CPUs busy (any process) over the next MS milliseconds; blocks meanwhile. */
export function cpuBusy(ms = 1000): number | undefined {
  const a = cpuTimes();
  sleepSync(ms);
  const b = cpuTimes();
  if (!a || !b || b.total <= a.total) return undefined;
  return (b.busy - a.busy) / (b.total - a.total);
}

/**
 * Other processes using the CPU make every number here noisier: sample the machine for a second
 * while we do nothing, and say so in the report when it is busy.
 */
export function idleCheck(when: string): { busy: number | undefined; warning: string | undefined } {
  const busy = cpuBusy(1000);
  const warning =
    busy !== undefined && busy > 0.15
      ? `${when}: the machine was ${(busy * 100).toFixed(0)}% busy (of ${os.availableParallelism()} cores) while the benchmark was idle: other work is running, expect noise`
      : undefined;
  return { busy, warning };
}

/** A warning when the 1-minute load average is above half the cores (includes our own recent work). */
export function loadWarning(): string | undefined {
  const [one] = os.loadavg();
  if (one !== undefined && one > 0.5 * os.availableParallelism()) {
    return `load average ${one.toFixed(2)} on ${os.availableParallelism()} cores: other work is running, expect noise`;
  }
  return undefined;
}
