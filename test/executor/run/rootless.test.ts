/**
 * Rootless mode with the real runc: the runtime runs as an unprivileged user (nobody, started by
 * this root test process) with `--rootless true`, in a user namespace mapping container root to
 * that user. Only a single-id mapping is possible here (no /etc/subuid range for nobody), so
 * non-root USERs are expected to be refused with a clear error.
 */
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, OboxError } from '../../../src/errors.js';
import { runContainer, type RootlessOptions, type RunOptions } from '../../../src/executor/run/index.js';
import { requires } from '../../helpers/requirements.js';
import { useScratch } from './helpers.js';

const NOBODY = 65534;
const rootless: RootlessOptions = {
  uidMappings: [{ containerID: 0, hostID: NOBODY, size: 1 }],
  gidMappings: [{ containerID: 0, hostID: NOBODY, size: 1 }],
};

async function chownTree(p: string, uid: number, gid: number): Promise<void> {
  await fsp.lchown(p, uid, gid);
  const st = await fsp.lstat(p);
  if (!st.isDirectory()) return;
  for (const name of await fsp.readdir(p)) await chownTree(path.join(p, name), uid, gid);
}

function userNamespacesAvailable(): boolean {
  try {
    return Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')) > 0;
  } catch {
    return existsSync('/proc/self/ns/user');
  }
}

describe.skipIf(!requires({ root: true, tools: ['runc'] }) || !userNamespacesAvailable())('runContainer rootless (runc)', () => {
  const s = useScratch(['runc']);

  beforeEach(async () => {
    await chownTree(s.rootfs, NOBODY, NOBODY);
    await fsp.mkdir(s.stateDir, { mode: 0o755 });
    await fsp.chown(s.stateDir, NOBODY, NOBODY);
  });

  async function run(script: string, opts: Partial<RunOptions> = {}): Promise<{ lines: string[]; exitCode: number; runtimeError?: string }> {
    const lines: string[] = [];
    const r = await runContainer({
      rootfs: s.rootfs,
      stateDir: s.stateDir,
      args: ['/bin/sh', '-c', script],
      rootless,
      runtimeCredentials: { uid: NOBODY, gid: NOBODY },
      onLine: (line) => lines.push(line),
      ...opts,
    });
    return { lines, exitCode: r.exitCode, ...(r.runtimeError ? { runtimeError: r.runtimeError } : {}) };
  }

  it('runs as root inside a user namespace mapped to the unprivileged user', async () => {
    const r = await run('id -u; id -g; cat /proc/self/uid_map; cat /proc/self/gid_map; grep NoNewPrivs /proc/self/status; exit 5');
    expect(r.runtimeError).toBeUndefined();
    expect(r.exitCode).toBe(5);
    expect(r.lines.slice(0, 2)).toEqual(['0', '0']);
    expect(r.lines[2]!.trim().split(/\s+/)).toEqual(['0', String(NOBODY), '1']);
    expect(r.lines[3]!.trim().split(/\s+/)).toEqual(['0', String(NOBODY), '1']);
    expect(r.lines[4]).toMatch(/NoNewPrivs:\s+1/);
  });

  it('network none and host both work without privileges', async () => {
    const none = await run('cat /proc/net/dev', { network: 'none' });
    expect(none.lines.slice(2).map((l) => l.split(':')[0]!.trim())).toEqual(['lo']);
    const host = await run('cat /proc/net/dev; hostname', { network: 'host', hostname: 'rl' });
    expect(host.exitCode).toBe(0);
    expect(host.lines.length).toBeGreaterThan(3);
    expect(host.lines.at(-1)).toBe('rl');
  });

  it('files written land in the rootfs owned by the mapped host user; the workdir too', async () => {
    const r = await run('echo hi > out.txt', { cwd: '/work' });
    expect(r.exitCode).toBe(0);
    const st = await fsp.stat(path.join(s.rootfs, 'work/out.txt'));
    expect([st.uid, st.gid]).toEqual([NOBODY, NOBODY]);
    const wd = await fsp.stat(path.join(s.rootfs, 'work'));
    expect([wd.uid, wd.gid, wd.mode & 0o7777]).toEqual([NOBODY, NOBODY, 0o755]);
    expect((await fsp.readdir(path.join(s.rootfs, 'etc'))).sort()).toEqual(['group', 'passwd']);
  });

  it('a USER outside the mapping is refused before anything runs', async () => {
    const err = await run('id', { user: 'app' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OboxError);
    expect((err as OboxError).code).toBe(ErrorCodes.environment);
    expect((err as OboxError).message).toMatch(/not mapped/);
  });

  it('cancellation cleans up a rootless container', async () => {
    const controller = new AbortController();
    const err = await run('echo started; sleep 30', {
      signal: controller.signal,
      onLine: (line) => line === 'started' && controller.abort(),
    }).catch((e: unknown) => e);
    expect((err as OboxError).code).toBe(ErrorCodes.interrupted);
  });
});
