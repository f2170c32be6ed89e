/**
 * The real-tool test infrastructure itself: busybox rootfs → private dockerd → docker import/run,
 * BuildKit offline, and clean-up (normal stop, signals, SIGKILL of the owner).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import {
  DOCKERD_TOOLS,
  type Dockerd,
  isAlive,
  mountsUnder,
  processesReferencing,
  startDockerd,
  sweepStaleDockerd,
  waitExit,
} from '../helpers/dockerd.js';
import { requires } from '../helpers/requirements.js';
import { BUSYBOX_ROOTFS_TOOLS, makeBusyboxRootfs } from './rootfs.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'obox-infra-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tarList(tarPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn('tar', ['-tvf', tarPath, '--numeric-owner'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`tar -t exited ${code}`))));
  });
}

/** Nothing of DIR left: no processes, no mounts, no directory, no cgroup. */
function expectNothingLeft(dir: string): void {
  expect(processesReferencing(dir)).toEqual([]);
  expect(mountsUnder(dir)).toEqual([]);
  expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(dir);
  expect(existsSync(dir)).toBe(false);
  for (const ctl of ['memory', 'pids', 'unified', '']) {
    expect(existsSync(path.join('/sys/fs/cgroup', ctl, path.basename(dir)))).toBe(false);
  }
}

describe.skipIf(!requires({ tools: BUSYBOX_ROOTFS_TOOLS }))('make-rootfs-busybox.sh', () => {
  it('is deterministic and has the expected layout', async () => {
    const a = await makeBusyboxRootfs(path.join(tmp, 'a.tar'));
    const b = await makeBusyboxRootfs(path.join(tmp, 'b.tar'));
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    const c = await makeBusyboxRootfs(path.join(tmp, 'c.tar'), { mtime: 1_700_000_000 });
    expect(readFileSync(a).equals(readFileSync(c))).toBe(false);

    const list = await tarList(a);
    const line = (name: string): string => list.split('\n').find((l) => l.endsWith(` ${name}`) || l.includes(` ${name} -> `)) ?? '';
    expect(line('bin/busybox')).toMatch(/^-rwxr-xr-x 0\/0 /);
    for (const applet of ['bin/sh', 'bin/echo', 'bin/ls', 'bin/cat', 'usr/bin/env']) {
      expect(line(applet)).toMatch(/^lrwxrwxrwx 0\/0 .* -> \/bin\/busybox$/);
    }
    expect(line('tmp/')).toMatch(/^drwxrwxrwt 0\/0 /);
    expect(line('root/')).toMatch(/^drwx------ 0\/0 /);
    for (const d of ['dev/', 'proc/', 'sys/', 'etc/']) expect(line(d)).toMatch(/^drwxr-xr-x 0\/0 /);
    for (const l of list.trim().split('\n')) expect(l).toMatch(/ 0\/0 .* 1970-01-01 00:00 /);
    const names = list.trim().split('\n').map((l) => l.replace(/^.* 1970-01-01 00:00 /, '').replace(/ -> .*$/, ''));
    expect(names).toEqual([...names].sort());
  });
});

describe.skipIf(!requires({ root: true, tools: [...DOCKERD_TOOLS, ...BUSYBOX_ROOTFS_TOOLS, 'setpriv'] }))('private dockerd', () => {
  let d: Dockerd;
  let rootfs: string;
  const image = 'obox-test/busybox:latest';

  beforeAll(async () => {
    rootfs = await makeBusyboxRootfs(path.join(tmp, 'busybox.tar'));
    d = await startDockerd();
    console.log(`dockerd ready in ${d.startMs} ms`);
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('imports the busybox rootfs and runs it', async () => {
    const id = await d.importRootfs(rootfs, image);
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const inspect = await d.dockerOk(['image', 'inspect', '--format', '{{json .Config.Cmd}}', image]);
    expect(JSON.parse(inspect.stdout)).toEqual(['/bin/sh']);

    const r = await d.dockerOk(['run', '--rm', '--network', 'none', image, 'echo', 'ok']);
    expect(r.stdout).toBe('ok\n');
    const who = await d.dockerOk(['run', '--rm', '--network', 'none', '--user', 'app', image, 'sh', '-c', 'id -u; id -g; echo $PATH']);
    expect(who.stdout).toBe('1000\n1000\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
  });

  it('builds with BuildKit offline from the imported image', async () => {
    const ctx = mkdtempSync(path.join(tmp, 'ctx-'));
    // No "# syntax=" line: BuildKit uses its built-in Dockerfile frontend instead of pulling one.
    writeFileSync(path.join(ctx, 'Containerfile'), `FROM ${image}\nRUN echo hi > /x\n`);
    const b = await d.buildkit(['-f', path.join(ctx, 'Containerfile'), '-t', 'obox-test/bk:1', '--progress', 'plain', ctx], {
      timeoutMs: 120_000,
    });
    if (b.code !== 0) throw new Error(`BuildKit build failed:\n${b.stderr}\n--- dockerd log\n${d.log().slice(-4000)}`);
    expect(b.stderr).toMatch(/RUN echo hi > \/x/);
    const r = await d.dockerOk(['run', '--rm', '--network', 'none', 'obox-test/bk:1', 'cat', '/x']);
    expect(r.stdout).toBe('hi\n');
  });

  it('a daemon that cannot start fails with its log and leaves nothing', async () => {
    const before = new Set(readdirSync(os.tmpdir()).filter((e) => e.startsWith('obox-dockerd-')));
    const err = await startDockerd({ extraArgs: ['--no-such-flag'] }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/dockerd exited during start-up[\s\S]*--- dockerd log[\s\S]*no-such-flag/);
    const created = readdirSync(os.tmpdir()).filter((e) => e.startsWith('obox-dockerd-') && !before.has(e));
    // Only our own live daemon's dir may remain (another file's daemons live in other processes).
    for (const e of created) expect(path.join(os.tmpdir(), e)).toBe(d.dir);
  });

  it('stop() removes the daemon, its containerd and shims, mounts, cgroup and dir', async () => {
    await d.dockerOk(['run', '-d', '--network', 'none', image, 'sleep', '1000']);
    const containerdPid = Number(readFileSync(path.join(d.dir, 'exec/containerd/containerd.pid'), 'utf8'));
    expect(isAlive(containerdPid)).toBe(true);
    expect(mountsUnder(d.dir).length).toBeGreaterThan(0);
    const t0 = Date.now();
    await d.stop();
    console.log(`dockerd stop took ${Date.now() - t0} ms`);
    expect(isAlive(d.pid)).toBe(false);
    expect(isAlive(containerdPid)).toBe(false);
    expectNothingLeft(d.dir);
    await d.stop(); // idempotent
  }, 60_000);
});

describe.skipIf(!requires({ root: true, tools: [...DOCKERD_TOOLS, ...BUSYBOX_ROOTFS_TOOLS, 'setpriv'] }))(
  'dockerd clean-up when the test process is interrupted',
  () => {
    let rootfs: string;
    beforeAll(async () => {
      rootfs = await makeBusyboxRootfs(path.join(tmp, 'busybox-child.tar'));
    });

    /** Starts dockerd-child.ts; resolves with its dockerd's dir and pid once a container runs. */
    function startChild(): Promise<{ child: ReturnType<typeof spawn>; dir: string; pid: number }> {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/infra/dockerd-child.ts'), rootfs], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      return new Promise((resolve, reject) => {
        child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
        child.stdout?.on('data', (b: Buffer) => {
          out += b.toString();
          const nl = out.indexOf('\n');
          if (nl >= 0) {
            const info = JSON.parse(out.slice(0, nl)) as { dir: string; pid: number };
            resolve({ child, ...info });
          }
        });
        child.on('close', (code) => reject(new Error(`dockerd-child exited ${code} before it was ready\n${err}`)));
      });
    }

    function exited(child: ReturnType<typeof spawn>): Promise<void> {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.on('close', () => resolve());
      });
    }

    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      it(`${sig} to the test process stops dockerd and leaves nothing`, async () => {
        const { child, dir, pid } = await startChild();
        expect(isAlive(pid)).toBe(true);
        expect(mountsUnder(dir).length).toBeGreaterThan(0);
        child.kill(sig);
        await exited(child);
        expect(child.signalCode).toBe(sig);
        expect(isAlive(pid)).toBe(false);
        expectNothingLeft(dir);
      }, 90_000);
    }

    it('SIGKILL of the test process: dockerd gets SIGTERM (pdeathsig), the next start sweeps the rest', async () => {
      const { child, dir, pid } = await startChild();
      child.kill('SIGKILL');
      await exited(child);
      expect(await waitExit(pid, 30_000)).toBe(true);
      sweepStaleDockerd();
      expectNothingLeft(dir);
    }, 90_000);
  },
);
