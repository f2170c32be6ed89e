/** The generated OCI runtime spec: docker's defaults, network modes, extra mounts, rootless. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, OboxError } from '../../../src/errors.js';
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_CAPABILITY_MASK,
  MASKED_PATHS,
  READONLY_PATHS,
  generateSpec,
  type OciSpec,
  type SpecInput,
} from '../../../src/executor/run/index.js';

const CAP_BITS: Record<string, number> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_RAW: 13,
  CAP_SYS_CHROOT: 18,
  CAP_MKNOD: 27,
  CAP_AUDIT_WRITE: 29,
  CAP_SETFCAP: 31,
};

function input(over: Partial<SpecInput> = {}): SpecInput {
  return {
    rootfs: '/var/lib/obox/mnt/x',
    args: ['/bin/sh', '-c', 'echo hi'],
    env: ['PATH=/bin'],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [] },
    hostname: 'buildkitsandbox',
    network: 'none',
    hostsFile: '/state/b/hosts',
    resolvConfFile: '/state/b/resolv.conf',
    ...over,
  };
}

function mount(spec: OciSpec, destination: string) {
  return spec.mounts.find((m) => m.destination === destination);
}

describe('generateSpec', () => {
  it('has the process docker would run: args, env, cwd, user, no terminal, no-new-privileges', () => {
    const spec = generateSpec(input({ cwd: '/app/./src/', user: { uid: 1000, gid: 1000, additionalGids: [2000] } }));
    expect(spec.ociVersion).toMatch(/^1\.0\./);
    expect(spec.process).toMatchObject({
      terminal: false,
      args: ['/bin/sh', '-c', 'echo hi'],
      env: ['PATH=/bin'],
      cwd: '/app/src',
      user: { uid: 1000, gid: 1000, additionalGids: [2000] },
      noNewPrivileges: true,
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1048576 }],
    });
    expect(spec.root).toEqual({ path: '/var/lib/obox/mnt/x', readonly: false });
    expect(spec.hostname).toBe('buildkitsandbox');
    expect('additionalGids' in generateSpec(input()).process.user).toBe(false);
  });

  it("docker's default capabilities: bounding, effective, permitted; none inheritable or ambient", () => {
    const caps = generateSpec(input()).process.capabilities;
    expect(caps.bounding).toEqual([...DEFAULT_CAPABILITIES]);
    expect(caps.effective).toEqual([...DEFAULT_CAPABILITIES]);
    expect(caps.permitted).toEqual([...DEFAULT_CAPABILITIES]);
    expect(caps.inheritable).toEqual([]);
    expect(caps.ambient).toEqual([]);
    const mask = DEFAULT_CAPABILITIES.reduce((m, c) => m | (1n << BigInt(CAP_BITS[c]!)), 0n);
    expect(mask).toBe(DEFAULT_CAPABILITY_MASK);
    expect(mask.toString(16).padStart(16, '0')).toBe('00000000a80425fb');
  });

  it('namespaces: a new network namespace for none, the host one for host', () => {
    const none = generateSpec(input({ network: 'none' })).linux.namespaces.map((n) => n.type);
    expect(none.sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    const host = generateSpec(input({ network: 'host' })).linux.namespaces.map((n) => n.type);
    expect(host.sort()).toEqual(['ipc', 'mount', 'pid', 'uts']);
  });

  it("docker's mounts, and the generated /etc files bound read-only", () => {
    const spec = generateSpec(input());
    expect(spec.mounts.map((m) => m.destination)).toEqual([
      '/proc',
      '/dev',
      '/dev/pts',
      '/sys',
      '/sys/fs/cgroup',
      '/dev/mqueue',
      '/dev/shm',
      '/etc/hosts',
      '/etc/resolv.conf',
    ]);
    expect(mount(spec, '/proc')).toMatchObject({ type: 'proc' });
    expect(mount(spec, '/dev')).toMatchObject({ type: 'tmpfs' });
    expect(mount(spec, '/dev/pts')!.options).toEqual(
      expect.arrayContaining(['newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']),
    );
    expect(mount(spec, '/dev/shm')).toMatchObject({ type: 'tmpfs' });
    expect(mount(spec, '/dev/shm')!.options).toContain(`size=${64 * 1024 * 1024}`);
    expect(mount(spec, '/dev/mqueue')).toMatchObject({ type: 'mqueue' });
    expect(mount(spec, '/sys')).toMatchObject({ type: 'sysfs' });
    expect(mount(spec, '/sys')!.options).toContain('ro');
    expect(mount(spec, '/etc/hosts')).toMatchObject({ type: 'bind', source: '/state/b/hosts' });
    expect(mount(spec, '/etc/hosts')!.options).toEqual(expect.arrayContaining(['rbind', 'ro']));
    expect(mount(spec, '/etc/resolv.conf')).toMatchObject({ type: 'bind', source: '/state/b/resolv.conf' });
  });

  it("docker's masked and read-only paths; devices left to the runtime; a deny-all device cgroup first", () => {
    const spec = generateSpec(input());
    expect(spec.linux.maskedPaths).toEqual([...MASKED_PATHS]);
    expect(spec.linux.readonlyPaths).toEqual([...READONLY_PATHS]);
    expect(spec.linux.maskedPaths).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys', '/sys/firmware']));
    expect(spec.linux.readonlyPaths).toEqual(expect.arrayContaining(['/proc/sys', '/proc/sysrq-trigger']));
    expect(spec.linux.devices).toEqual([]);
    expect(spec.linux.resources!.devices[0]).toEqual({ allow: false, access: 'rwm' });
  });

  it('extra mounts: bind ro/rw, tmpfs with size and mode; a later mount replaces one at the same place', () => {
    const spec = generateSpec(
      input({
        mounts: [
          { type: 'bind', source: '/cache/go', destination: '/root/.cache/go-build' },
          { type: 'bind', source: '/secrets/npmrc', destination: '/run/secrets/npmrc/', readonly: true },
          { type: 'tmpfs', destination: '/tmp', sizeBytes: 1 << 20, mode: 0o1777 },
          { type: 'tmpfs', destination: '/dev/shm', sizeBytes: 4096 },
        ],
      }),
    );
    expect(mount(spec, '/root/.cache/go-build')).toEqual({
      destination: '/root/.cache/go-build',
      type: 'bind',
      source: '/cache/go',
      options: ['rbind', 'rw'],
    });
    expect(mount(spec, '/run/secrets/npmrc')!.options).toEqual(['rbind', 'ro']);
    expect(mount(spec, '/tmp')).toEqual({
      destination: '/tmp',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', 'size=1048576', 'mode=1777'],
    });
    const shm = spec.mounts.filter((m) => m.destination === '/dev/shm');
    expect(shm).toHaveLength(1);
    expect(shm[0]!.options).toContain('size=4096');
    expect(spec.mounts.findIndex((m) => m.destination === '/dev/shm')).toBeLessThan(
      spec.mounts.findIndex((m) => m.destination === '/etc/hosts'),
    );
  });

  it('refuses bad mounts and commands', () => {
    const bad = (over: Partial<SpecInput>): unknown => {
      try {
        generateSpec(input(over));
      } catch (e) {
        return e;
      }
      return undefined;
    };
    for (const e of [
      bad({ mounts: [{ type: 'tmpfs', destination: 'relative' }] }),
      bad({ mounts: [{ type: 'tmpfs', destination: '/' }] }),
      bad({ mounts: [{ type: 'bind', source: 'rel', destination: '/x' }] }),
      bad({ mounts: [{ type: 'tmpfs', destination: '/x', sizeBytes: -1 }] }),
      bad({ args: [] }),
      bad({ cwd: 'relative' }),
    ]) {
      expect(e).toBeInstanceOf(OboxError);
      expect((e as OboxError).code).toBe(ErrorCodes.semantic);
    }
  });

  it('is plain JSON: no undefined values', () => {
    const spec = generateSpec(input({ rootless: { uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] } }));
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
  });
});

describe('generateSpec rootless', () => {
  const single = {
    uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
  };
  const ranged = {
    uidMappings: [
      { containerID: 0, hostID: 1000, size: 1 },
      { containerID: 1, hostID: 100000, size: 65536 },
    ],
    gidMappings: [
      { containerID: 0, hostID: 1000, size: 1 },
      { containerID: 1, hostID: 100000, size: 65536 },
    ],
  };

  it('adds a user namespace with the mappings and drops cgroups', () => {
    const spec = generateSpec(input({ rootless: single }));
    expect(spec.linux.namespaces.map((n) => n.type)).toContain('user');
    expect(spec.linux.namespaces.map((n) => n.type)).toContain('network');
    expect(spec.linux.uidMappings).toEqual(single.uidMappings);
    expect(spec.linux.gidMappings).toEqual(single.gidMappings);
    expect(spec.linux.resources).toBeUndefined();
    expect(spec.linux.cgroupsPath).toBeUndefined();
    expect(mount(spec, '/sys/fs/cgroup')).toBeUndefined();
    expect(mount(spec, '/sys')).toEqual({
      destination: '/sys',
      type: 'bind',
      source: '/sys',
      options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
    });
    expect(spec.process.capabilities.bounding).toEqual([...DEFAULT_CAPABILITIES]);
  });

  it("drops devpts's gid=5 unless gid 5 is mapped", () => {
    expect(mount(generateSpec(input({ rootless: single })), '/dev/pts')!.options).not.toContain('gid=5');
    expect(mount(generateSpec(input({ rootless: ranged })), '/dev/pts')!.options).toContain('gid=5');
  });

  it('refuses a user the namespace does not map', () => {
    const user = { uid: 1000, gid: 1000, additionalGids: [2000] };
    expect(() => generateSpec(input({ rootless: single, user }))).toThrow(/uid 1000 is not mapped/);
    expect(generateSpec(input({ rootless: ranged, user })).process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [2000] });
    expect(() => generateSpec(input({ rootless: ranged, user: { uid: 0, gid: 0, additionalGids: [70000] } }))).toThrow(
      /gid 70000 is not mapped/,
    );
  });
});
