/**
 * RLIMIT_NOFILE for the container. Docker gives 1048576; raising the hard limit above the
 * current one needs CAP_SYS_RESOURCE (and never goes past fs.nr_open), which a rootless runtime,
 * or root in a restricted sandbox, lacks: then the container gets this process's hard limit
 * rather than failing to start.
 */
import { promises as fsp } from 'node:fs';
import { DEFAULT_NOFILE } from './defaults.js';

const CAP_SYS_RESOURCE = 24n;

async function read(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** This process's hard RLIMIT_NOFILE, undefined when unlimited or unknown. */
export async function nofileHardLimit(): Promise<number | undefined> {
  const m = /^Max open files\s+\S+\s+(\S+)/m.exec((await read('/proc/self/limits')) ?? '');
  return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
}

/** Whether this process's effective capabilities include CAP_SYS_RESOURCE. */
export async function hasSysResource(): Promise<boolean> {
  const m = /^CapEff:\s+([0-9a-f]+)/m.exec((await read('/proc/self/status')) ?? '');
  return m ? ((BigInt(`0x${m[1]}`) >> CAP_SYS_RESOURCE) & 1n) === 1n : false;
}

/** The RLIMIT_NOFILE (soft = hard) the runtime will be able to set. */
export async function containerNofile(rootless: boolean): Promise<number> {
  let limit = DEFAULT_NOFILE;
  const nrOpen = Number((await read('/proc/sys/fs/nr_open'))?.trim());
  if (Number.isSafeInteger(nrOpen) && nrOpen > 0) limit = Math.min(limit, nrOpen);
  if (rootless || !(await hasSysResource())) {
    const hard = await nofileHardLimit();
    if (hard !== undefined) limit = Math.min(limit, hard);
  }
  return limit;
}
