/** RUN containers with the real runc (and crun): output, exit codes, users, network, security, cleanup. */
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, OboxError } from '../../../src/errors.js';
import {
  DEFAULT_PATH,
  MASKED_PATHS,
  READONLY_PATHS,
  listContainers,
  runContainer,
  selectRuntime,
  type RunOptions,
  type RunResult,
} from '../../../src/executor/run/index.js';
import { pendingCleanups, runCleanups } from '../../../src/executor/cleanup.js';
import { requires } from '../../helpers/requirements.js';
import { useScratch, type Scratch } from './helpers.js';

interface Captured extends RunResult {
  lines: string[];
  stderr: string[];
}

async function run(s: Scratch, script: string, opts: Partial<RunOptions> = {}): Promise<Captured> {
  const lines: string[] = [];
  const stderr: string[] = [];
  const result = await runContainer({
    rootfs: s.rootfs,
    stateDir: s.stateDir,
    args: ['/bin/sh', '-c', script],
    onLine: (line, stream) => (stream === 'stdout' ? lines : stderr).push(line),
    ...opts,
  });
  return { ...result, lines, stderr };
}

function field(lines: string[], name: string): string | undefined {
  return lines.find((l) => l.startsWith(`${name}:`))?.split(/\s+/)[1];
}

/** Docker's 1048576, or this process's hard limit where it lacks CAP_SYS_RESOURCE to raise it. */
function expectedNofile(): number {
  const capEff = BigInt(`0x${/^CapEff:\s+(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
  if ((capEff >> 24n) & 1n) return 1048576;
  const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))![1]!;
  return hard === 'unlimited' ? 1048576 : Math.min(1048576, Number(hard));
}

function hostInterfaces(): string[] {
  return readFileSync('/proc/net/dev', 'utf8')
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0]!.trim())
    .filter(Boolean)
    .sort();
}

function interfaces(lines: string[]): string[] {
  return lines
    .slice(2)
    .map((l) => l.split(':')[0]!.trim())
    .filter(Boolean)
    .sort();
}

describe.skipIf(!requires({ root: true, tools: ['runc'] }))('runContainer with runc', () => {
  const s = useScratch(['runc']);

  it('runs a command and streams its output', async () => {
    const r = await run(s, 'echo hello; echo oops >&2');
    expect(r.exitCode).toBe(0);
    expect(r.lines).toEqual(['hello']);
    expect(r.stderr).toEqual(['oops']);
    expect(r.outputTail).toContain('hello\n');
    expect(r.runtimeError).toBeUndefined();
    expect(r.containerId).toMatch(new RegExp(`^obox-${process.pid}-[0-9a-f]{12}$`));
  });

  it('propagates the exit code', async () => {
    const r = await run(s, 'echo before; exit 3');
    expect(r.exitCode).toBe(3);
    expect(r.lines).toEqual(['before']);
    expect(r.runtimeError).toBeUndefined();
  });

  it('reports a runtime failure (no such executable) apart from the exit code', async () => {
    const r = await runContainer({ rootfs: s.rootfs, stateDir: s.stateDir, args: ['/no/such/binary'] });
    expect(r.exitCode).not.toBe(0);
    expect(r.runtimeError).toMatch(/no such file|not found/i);
  });

  it('keeps only the last bytes of output', async () => {
    const r = await run(s, 'i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done', { outputTailBytes: 100 });
    expect(r.lines).toHaveLength(500);
    expect(Buffer.byteLength(r.outputTail)).toBeLessThanOrEqual(100);
    expect(r.outputTail.endsWith('line-499\n')).toBe(true);
  });

  it('runs as root by default, with no supplementary groups and HOME from passwd', async () => {
    const r = await run(s, 'id; id -G; echo "HOME=$HOME"');
    expect(r.lines[0]).toMatch(/^uid=0\(root\) gid=0\(root\)/);
    expect(r.lines[1]).toBe('0');
    expect(r.lines[2]).toBe('HOME=/root');
  });

  it('USER app: uid, gid and supplementary groups from the image', async () => {
    const r = await run(s, 'id; id -G; echo "HOME=$HOME"', { user: 'app' });
    expect(r.exitCode).toBe(0);
    expect(r.lines[0]).toMatch(/^uid=1000\(app\) gid=1000\(app\) groups=.*2000\(extra\)/);
    expect(r.lines[1]!.split(' ').sort()).toEqual(['1000', '2000']);
    expect(r.lines[2]).toBe('HOME=/home/app');
    expect(r.user).toMatchObject({ uid: 1000, gid: 1000, additionalGids: [2000], name: 'app' });
  });

  it('USER app:extra takes the group and no supplementary groups', async () => {
    const r = await run(s, 'id -u; id -g; id -G', { user: 'app:extra' });
    expect(r.lines).toEqual(['1000', '2000', '2000']);
  });

  it('numeric USER 4321:4321 not in passwd', async () => {
    const r = await run(s, 'id -u; id -g; echo "HOME=$HOME"', { user: '4321:4321' });
    expect(r.lines).toEqual(['4321', '4321', 'HOME=/']);
  });

  it('an unknown user is an OboxError and leaves nothing behind', async () => {
    const err = await run(s, 'true', { user: 'ghost' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OboxError);
    expect((err as OboxError).code).toBe(ErrorCodes.notFound);
    expect((err as OboxError).message).toBe('unable to find user ghost: no matching entries in passwd file');
    expect(pendingCleanups()).toBe(0);
  });

  it('creates a missing working directory owned by the user', async () => {
    const r = await run(s, 'pwd; touch mine', { user: 'app', cwd: '/work/deep/dir' });
    expect(r.exitCode).toBe(0);
    expect(r.lines).toEqual(['/work/deep/dir']);
    for (const p of ['work', 'work/deep', 'work/deep/dir']) {
      const st = await fsp.stat(path.join(s.rootfs, p));
      expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1000, 1000, 0o755]);
    }
    expect((await fsp.stat(path.join(s.rootfs, 'work/deep/dir/mine'))).uid).toBe(1000);
  });

  it('creates the working directory through a symlink only inside the rootfs', async () => {
    const outside = path.join(s.dir, 'outside');
    await fsp.mkdir(outside);
    await fsp.symlink(outside, path.join(s.rootfs, 'escape')); // absolute: means /…/outside inside the root
    const r = await run(s, 'pwd', { cwd: '/escape/sub' });
    expect(r.exitCode).toBe(0);
    expect(await fsp.readdir(outside)).toEqual([]);
    expect((await fsp.stat(path.join(s.rootfs, outside, 'sub'))).isDirectory()).toBe(true);
  });

  it('passes the environment, adding PATH and HOME but not HOSTNAME', async () => {
    const r = await run(s, 'env | sort', { env: ['FOO=bar baz', 'EMPTY='] });
    expect(r.lines).toContain('FOO=bar baz');
    expect(r.lines).toContain('EMPTY=');
    expect(r.lines).toContain(`PATH=${DEFAULT_PATH}`);
    expect(r.lines).toContain('HOME=/root');
    expect(r.lines.some((l) => l.startsWith('HOSTNAME='))).toBe(false);
    const custom = await run(s, 'echo $PATH', { env: ['PATH=/bin'] });
    expect(custom.lines).toEqual(['/bin']);
  });

  it('--network none: only lo', async () => {
    const r = await run(s, 'cat /proc/net/dev', { network: 'none' });
    expect(interfaces(r.lines)).toEqual(['lo']);
  });

  it('--network host: the host interfaces', async () => {
    const r = await run(s, 'cat /proc/net/dev', { network: 'host' });
    expect(interfaces(r.lines)).toEqual(hostInterfaces());
  });

  it('hostname, /etc/hosts and /etc/resolv.conf, without leaving mount stubs in the rootfs', async () => {
    const r = await run(s, 'hostname; cat /etc/hosts; echo ---; cat /etc/resolv.conf', { hostname: 'builder', network: 'none' });
    expect(r.lines[0]).toBe('builder');
    expect(r.lines).toContain('127.0.0.1\tlocalhost builder');
    expect(r.lines.slice(r.lines.indexOf('---') + 1).join('\n')).not.toMatch(/nameserver/);
    expect((await fsp.readdir(path.join(s.rootfs, 'etc'))).sort()).toEqual(['group', 'passwd']);
    const d = await run(s, 'hostname');
    expect(d.lines).toEqual(['buildkitsandbox']);
  });

  it('/etc/resolv.conf is the host one with network host, and read-only', async () => {
    const host = await fsp.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    const r = await run(s, 'cat /etc/resolv.conf; echo x >> /etc/resolv.conf && echo WRITABLE');
    expect(r.lines.join('\n').trim()).toBe(host.trim());
    expect(r.lines).not.toContain('WRITABLE');
  });

  it("docker's default capabilities, no-new-privileges, rlimits", async () => {
    const r = await run(s, 'cat /proc/self/status; echo "nofile=$(ulimit -n)"', { user: 'app' });
    expect(field(r.lines, 'CapEff')).toBe('0000000000000000'); // non-root: capabilities are not effective
    const root = await run(s, 'cat /proc/self/status; echo "nofile=$(ulimit -n)"');
    expect(field(root.lines, 'CapEff')).toBe('00000000a80425fb');
    expect(field(root.lines, 'CapPrm')).toBe('00000000a80425fb');
    expect(field(root.lines, 'CapBnd')).toBe('00000000a80425fb');
    expect(field(root.lines, 'CapInh')).toBe('0000000000000000');
    expect(field(root.lines, 'CapAmb')).toBe('0000000000000000');
    expect(field(root.lines, 'NoNewPrivs')).toBe('1');
    expect(root.lines).toContain(`nofile=${expectedNofile()}`);
    expect(field(r.lines, 'CapBnd')).toBe('00000000a80425fb');
  });

  it('masked and read-only /proc paths, /dev/shm of 64 MiB', async () => {
    const r = await run(s, 'cat /proc/self/mountinfo; echo 1 > /proc/sys/kernel/domainname && echo WROTE');
    const mounts = new Map(r.lines.map((l) => l.split(' ')).map((f) => [f[4]!, f.join(' ')] as const));
    const masked = MASKED_PATHS.filter((p) => existsSync(p));
    expect(masked.length).toBeGreaterThan(0);
    for (const p of masked) expect(mounts.has(p), `${p} masked`).toBe(true);
    for (const p of READONLY_PATHS.filter((q) => existsSync(q))) expect(mounts.get(p), `${p} read-only`).toMatch(/ ro[, ]/);
    expect(r.lines).not.toContain('WROTE');
    expect(mounts.get('/dev/shm')).toMatch(/ tmpfs shm .*size=65536k/);
    const keys = await run(s, 'cat /proc/keys | wc -c');
    expect(keys.lines).toEqual(['0']);
  });

  it('a file written by the command lands in the rootfs', async () => {
    const r = await run(s, 'echo data > /tmp/out.txt; mkdir -p /var/lib/x && echo y > /var/lib/x/y');
    expect(r.exitCode).toBe(0);
    expect(await fsp.readFile(path.join(s.rootfs, 'tmp/out.txt'), 'utf8')).toBe('data\n');
    expect(await fsp.readFile(path.join(s.rootfs, 'var/lib/x/y'), 'utf8')).toBe('y\n');
  });

  it('extra mounts: read-only and read-write binds, tmpfs; their stubs are removed afterwards', async () => {
    const ro = path.join(s.dir, 'ro');
    const rw = path.join(s.dir, 'rw');
    await fsp.mkdir(ro);
    await fsp.mkdir(rw);
    await fsp.writeFile(path.join(ro, 'f'), 'from host\n');
    const r = await run(
      s,
      'cat /mnt/ro/f; touch /mnt/ro/g 2>/dev/null || echo RO; echo w > /cache/w; echo t > /scratch/t; grep " /scratch " /proc/mounts',
      {
        mounts: [
          { type: 'bind', source: ro, destination: '/mnt/ro', readonly: true },
          { type: 'bind', source: rw, destination: '/cache' },
          { type: 'tmpfs', destination: '/scratch', sizeBytes: 1024 * 1024 },
        ],
      },
    );
    expect(r.lines.slice(0, 2)).toEqual(['from host', 'RO']);
    expect(r.lines[2]).toMatch(/^tmpfs \/scratch tmpfs .*size=1024k/);
    expect(await fsp.readFile(path.join(rw, 'w'), 'utf8')).toBe('w\n');
    const left = await fsp.readdir(s.rootfs);
    expect(left).not.toContain('mnt');
    expect(left).not.toContain('cache');
    expect(left).not.toContain('scratch');
  });

  it('cancellation kills and removes the container', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const p = runContainer({
      rootfs: s.rootfs,
      stateDir: s.stateDir,
      args: ['/bin/sh', '-c', 'echo started; sleep 30'],
      signal: controller.signal,
      onLine: (line) => {
        if (line === 'started') controller.abort(new Error('test cancel'));
      },
    });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OboxError);
    expect((err as OboxError).code).toBe(ErrorCodes.interrupted);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await listContainers(selectRuntime({ stateDir: s.stateDir }))).toEqual([]);
    expect(await fsp.readdir(path.join(s.stateDir, 'bundles'))).toEqual([]);
    expect(pendingCleanups()).toBe(0);
  });

  it('an already aborted signal does nothing', async () => {
    const err = await run(s, 'true', { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((err as OboxError).code).toBe(ErrorCodes.interrupted);
  });

  it('runCleanups (what the CLI calls on SIGINT) removes a running container', async () => {
    let resolveStarted!: () => void;
    const startedP = new Promise<void>((r) => (resolveStarted = r));
    const p = run(s, 'echo started; sleep 30', { onLine: () => resolveStarted() });
    await startedP;
    expect(pendingCleanups()).toBe(1);
    await runCleanups();
    const r = await p;
    expect(r.exitCode).toBe(137);
    expect(await listContainers(selectRuntime({ stateDir: s.stateDir }))).toEqual([]);
  });

  it('a runtime binary that does not exist is an environment error, and leaves nothing behind', async () => {
    const err = await run(s, 'true', { runtime: path.join(s.dir, 'no-such', 'runc') }).catch((e: unknown) => e);
    expect((err as OboxError).code).toBe(ErrorCodes.environment);
    expect((err as OboxError).message).toMatch(/not found/);
    expect(await fsp.readdir(path.join(s.stateDir, 'bundles'))).toEqual([]);
    expect(pendingCleanups()).toBe(0);
  });

  it('an output consumer that throws ends the run with its error, and the container is gone', async () => {
    const boom = new Error('consumer failed');
    const err = await run(s, 'echo one; sleep 30', {
      onLine: () => {
        throw boom;
      },
    }).catch((e: unknown) => e);
    expect(err).toBe(boom);
  });

  it('runs several containers at once on the same rootfs', async () => {
    const results = await Promise.all([1, 2, 3].map((i) => run(s, `echo ${i}; exit ${i}`)));
    expect(results.map((r) => [r.lines[0], r.exitCode])).toEqual([
      ['1', 1],
      ['2', 2],
      ['3', 3],
    ]);
  });
});

/**
 * crun 1.8 refuses to start at all on a hybrid cgroup host whose cgroup2 hierarchy has
 * controllers ("cgroups in hybrid mode not supported"), even with --cgroup-manager=disabled. On
 * such a host the test runs crun through a wrapper that unmounts the cgroup2 hierarchy in a
 * private mount namespace first, so crun sees a legacy (v1) host. Elsewhere crun runs directly.
 */
async function crunBinary(dir: string): Promise<string> {
  const controllers = await fsp.readFile('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').catch(() => '');
  if (controllers.trim() === '') return 'crun';
  const wrapperDir = path.join(dir, 'crun-wrapper');
  await fsp.mkdir(wrapperDir);
  const wrapper = path.join(wrapperDir, 'crun');
  await fsp.writeFile(
    wrapper,
    `#!/bin/sh\nexec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"' crun "$@"\n`,
    { mode: 0o755 },
  );
  return wrapper;
}

describe.skipIf(!requires({ root: true, tools: ['crun', 'unshare'] }))('runContainer with crun', () => {
  const s = useScratch([]);
  let crun = 'crun';
  beforeEach(async () => {
    crun = await crunBinary(s.dir);
  });
  afterEach(async () => {
    expect(await listContainers(selectRuntime({ runtime: crun, stateDir: s.stateDir }))).toEqual([]);
  });

  it('runs, exits, resolves users and sets capabilities like runc', async () => {
    const r = await run(s, 'echo hello; id; cat /proc/self/status; exit 4', { runtime: crun, user: 'app', network: 'none' });
    expect(r.runtimeError).toBeUndefined();
    expect(r.exitCode).toBe(4);
    expect(r.lines[0]).toBe('hello');
    expect(r.lines[1]).toMatch(/^uid=1000\(app\) gid=1000\(app\) groups=.*2000\(extra\)/);
    expect(field(r.lines, 'CapBnd')).toBe('00000000a80425fb');
    expect(field(r.lines, 'NoNewPrivs')).toBe('1');
    const root = await run(s, 'grep CapEff /proc/self/status; cat /proc/net/dev; hostname; cat /etc/hosts', {
      runtime: crun,
      network: 'none',
    });
    expect(field(root.lines, 'CapEff')).toBe('00000000a80425fb');
    expect(interfaces(root.lines.slice(1, 4))).toEqual(['lo']);
    expect(root.lines).toContain('buildkitsandbox');
    expect(root.lines).toContain('127.0.0.1\tlocalhost buildkitsandbox');
  });

  it('cancellation works with crun too', async () => {
    const controller = new AbortController();
    const err = await run(s, 'echo started; sleep 30', {
      runtime: crun,
      signal: controller.signal,
      onLine: (line) => line === 'started' && controller.abort(),
    }).catch((e: unknown) => e);
    expect((err as OboxError).code).toBe(ErrorCodes.interrupted);
    expect(await listContainers(selectRuntime({ runtime: crun, stateDir: s.stateDir }))).toEqual([]);
  });
});
