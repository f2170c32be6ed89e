/** The mounts of a RUN container: docker's defaults, the generated /etc files, and extra mounts. */
import path from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';
import { DEFAULT_SHM_BYTES } from './defaults.js';
import type { OciMount } from './oci-types.js';
import type { RunMount } from './types.js';

/** Docker's default mounts (moby oci/defaults.go), /sys/fs/cgroup as BuildKit's withCGroup. */
export function defaultMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${DEFAULT_SHM_BYTES}`],
    },
  ];
}

/** A read-only bind of a generated file (BuildKit's withROBind). */
export function readonlyFileBind(source: string, destination: string): OciMount {
  return { destination, type: 'bind', source, options: ['rbind', 'ro', 'nosuid', 'noexec', 'nodev'] };
}

/** "/a/./b/" → "/a/b"; refuses relative paths, "/" itself and NUL bytes. */
export function normaliseDestination(destination: string): string {
  if (destination.includes('\0') || !destination.startsWith('/')) {
    throw new OboxError(ErrorCodes.semantic, `mount destination ${JSON.stringify(destination)} must be an absolute path`);
  }
  const clean = path.posix.normalize(destination).replace(/\/+$/, '');
  if (clean === '') throw new OboxError(ErrorCodes.semantic, 'cannot mount over the root directory');
  return clean;
}

/** An extra mount as the runtime wants it. */
export function toOciMount(m: RunMount): OciMount {
  const destination = normaliseDestination(m.destination);
  if (m.type === 'bind') {
    if (!path.isAbsolute(m.source)) {
      throw new OboxError(ErrorCodes.semantic, `bind mount source ${JSON.stringify(m.source)} must be an absolute host path`);
    }
    return { destination, type: 'bind', source: m.source, options: ['rbind', m.readonly ? 'ro' : 'rw'] };
  }
  const options = ['nosuid', 'nodev'];
  if (m.sizeBytes !== undefined) {
    if (!Number.isSafeInteger(m.sizeBytes) || m.sizeBytes <= 0) {
      throw new OboxError(ErrorCodes.semantic, `tmpfs size must be a positive number of bytes, not ${m.sizeBytes}`);
    }
    options.push(`size=${m.sizeBytes}`);
  }
  if (m.mode !== undefined) options.push(`mode=${(m.mode & 0o7777).toString(8).padStart(4, '0')}`);
  return { destination, type: 'tmpfs', source: 'tmpfs', options };
}

/**
 * When two mounts share a destination, the later one wins and takes the earlier one's place
 * (BuildKit's dedupMounts), so a RUN --mount at /dev/shm replaces the default one.
 */
export function dedupMounts(mounts: OciMount[]): OciMount[] {
  const out: OciMount[] = [];
  const index = new Map<string, number>();
  for (const m of mounts) {
    const key = path.posix.normalize(m.destination);
    const at = index.get(key);
    if (at === undefined) {
      index.set(key, out.length);
      out.push(m);
    } else {
      out[at] = m;
    }
  }
  return out;
}
