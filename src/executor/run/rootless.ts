/**
 * The rootless variant of a RUN container, and the id mappings it needs.
 *
 * `toRootless` follows runc's `specconv.ToRootless` and BuildKit's rootless specconv: a user
 * namespace with the given mappings, no cgroup settings or cgroup mount, /sys bind-mounted
 * (a fresh sysfs needs a network namespace owned by the user namespace), and mount options
 * naming a uid or gid the namespace does not map (devpts's gid=5) dropped.
 */
import { ErrorCodes, OboxError } from '../../errors.js';
import type { OciSpec } from './oci-types.js';
import type { IdMapping, RootlessOptions } from './types.js';

export function toRootless(spec: OciSpec, options: RootlessOptions): OciSpec {
  if (options.uidMappings.length === 0 || options.gidMappings.length === 0) {
    throw new OboxError(ErrorCodes.environment, 'rootless mode needs at least one uid and one gid mapping');
  }
  const { uid, gid, additionalGids = [] } = spec.process.user;
  for (const [kind, id, maps] of [
    ['uid', uid, options.uidMappings],
    ['gid', gid, options.gidMappings],
    ...additionalGids.map((g) => ['gid', g, options.gidMappings] as const),
  ] as const) {
    if (toHostId(id, maps) === undefined) {
      throw new OboxError(ErrorCodes.environment, `${kind} ${id} is not mapped in the rootless user namespace`, {
        hint: 'give your user a subordinate id range in /etc/subuid and /etc/subgid (usermod --add-subuids/--add-subgids)',
      });
    }
  }
  const mounts = spec.mounts
    .filter((m) => m.type !== 'cgroup')
    .map((m) => {
      if (m.destination === '/sys') {
        return { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
      }
      const opts = m.options.filter((o) => {
        const idOpt = /^(uid|gid)=(\d+)$/.exec(o);
        if (!idOpt) return true;
        return toHostId(Number(idOpt[2]), idOpt[1] === 'uid' ? options.uidMappings : options.gidMappings) !== undefined;
      });
      return { ...m, options: opts };
    });
  const { resources: _resources, cgroupsPath: _cgroupsPath, ...linux } = spec.linux;
  return {
    ...spec,
    mounts,
    linux: {
      ...linux,
      namespaces: [...linux.namespaces.filter((n) => n.type !== 'user'), { type: 'user' }],
      uidMappings: options.uidMappings.map((m) => ({ ...m })),
      gidMappings: options.gidMappings.map((m) => ({ ...m })),
    },
  };
}

/** The host id that container id `id` maps to, or undefined. */
export function toHostId(id: number, mappings: readonly IdMapping[]): number | undefined {
  for (const m of mappings) {
    if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  }
  return undefined;
}

export interface SubIdRange {
  start: number;
  count: number;
}

/**
 * The ranges /etc/subuid or /etc/subgid grant a user (`name:start:count` lines; the user may be
 * named by login name or by numeric uid).
 */
export function parseSubIds(text: string, user: { name?: string; uid: number }): SubIdRange[] {
  const out: SubIdRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [who, start, count] = line.split(':');
    if (who !== user.name && who !== String(user.uid)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && s >= 0 && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

/**
 * The usual rootless mapping (podman's, rootlesskit's): container root is the invoking user,
 * container ids 1… are the subordinate ranges in order.
 */
export function rootlessMappings(hostId: number, ranges: readonly SubIdRange[]): IdMapping[] {
  const out: IdMapping[] = [{ containerID: 0, hostID: hostId, size: 1 }];
  let next = 1;
  for (const r of ranges) {
    out.push({ containerID: next, hostID: r.start, size: r.count });
    next += r.count;
  }
  return out;
}
