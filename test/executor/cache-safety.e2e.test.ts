/**
 * The cache under stress, through the built CLI: concurrent builds on one store, builds killed
 * with SIGKILL at points spread over the whole build, and a full disk. Afterwards `obox cache
 * verify` must be clean, nothing may be left mounted or running, and the next build must
 * succeed and reuse what was really finished.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { obox, repoRoot } from '../helpers/cli.js';
import { mountsUnder } from '../helpers/dockerd.js';
import { writeContext } from '../helpers/context.js';
import { requires } from '../helpers/requirements.js';
import { BUSYBOX_ROOTFS_TOOLS, makeBusyboxRootfs } from '../infra/rootfs.js';

const ok = requires({ root: true, tools: [...BUSYBOX_ROOTFS_TOOLS, 'runc', 'mount', 'umount'] });
const BIN = path.join(repoRoot, 'bin', 'obox.js');

interface Spawned {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI asynchronously; `killAfterMs` sends SIGKILL to it then. */
function start(args: string[], killAfterMs?: number): Promise<Spawned> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** runc processes still running for a store (containers of killed builds finish on their own). */
function runcContainers(root: string): string[] {
  const r = spawnSync('runc', ['--root', path.join(root, 'run-v1', 'runc'), 'list', '-q'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

describe.skipIf(!ok)('build cache safety', () => {
  let tmp: string;
  let rootfs: string;

  const context = (name: string, containerfile: string, files: Record<string, string> = {}): string => writeContext(tmp, name, containerfile, files);

  function newStore(name: string): string {
    const root = path.join(tmp, name);
    const r = obox(['--root', root, 'import', rootfs, '-t', 'busybox']);
    expect(r.code, r.stderr).toBe(0);
    return root;
  }

  function verifyClean(root: string): void {
    const r = obox(['--root', root, 'cache', 'verify']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  }

  function expectNothingLeft(root: string): void {
    expect(mountsUnder(root)).toEqual([]);
    expect(runcContainers(root)).toEqual([]);
    expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
  }

  const files = (): Record<string, string> => Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`src/f${i}.txt`, `file ${i}\n`.repeat(50)]));

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'obox-cache-safety-'));
    rootfs = await makeBusyboxRootfs(path.join(tmp, 'busybox.tar'));
  }, 120_000);

  afterAll(() => {
    spawnSync('umount', ['-R', path.join(tmp, 'small')]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('four builds at once on one store all succeed; verify is clean and a rebuild is fully cached', async () => {
    const root = newStore('concurrent');
    const dirs = [0, 1, 2, 3].map((n) =>
      context(
        `concurrent-${n}`,
        [
          'FROM busybox AS shared',
          'RUN dd if=/dev/zero of=/zeros bs=1k count=512 2>/dev/null',
          'COPY src/ /src/',
          `RUN echo "variant ${n % 2}" > /variant`,
          '',
          'FROM busybox',
          'COPY --from=shared /variant /src/f1.txt /out/',
          `RUN echo "build ${n}" > /who`,
          '',
        ].join('\n'),
        files(),
      ),
    );
    const results = await Promise.all(dirs.map((d, n) => start(['--root', root, 'build', '-q', '-t', `c${n}`, d])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    verifyClean(root);
    expectNothingLeft(root);
    for (const [n, d] of dirs.entries()) {
      const r = obox(['--root', root, 'build', '--progress', 'plain', '-t', `c${n}`, d]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/ 5 cached\/5 steps/);
      // Builds that raced on a step each used their own result; the cache kept the first one
      // recorded, and from now on every rebuild gives that same image.
      const again = obox(['--root', root, 'build', '-q', '-t', `c${n}`, d]);
      expect(again.stdout.trim()).toBe(r.stdout.trim());
    }
  }, 300_000);

  it('30 builds killed with SIGKILL at points spread over the build leave a store that verifies clean; the next build reuses what finished', async () => {
    const root = newStore('killed');
    const dir = context(
      'killed',
      [
        'FROM busybox AS build',
        'RUN sleep 0.2 && dd if=/dev/urandom of=/blob bs=64k count=16 2>/dev/null',
        'COPY src/ /src/',
        'RUN sleep 0.2 && cat /src/* | md5sum > /sum',
        'RUN sleep 0.2 && for i in $(seq 1 300); do echo $i > /n$i; done',
        'ENV STAGE=two',
        '',
        'FROM busybox',
        'COPY --from=build /sum /sum',
        'RUN sleep 0.2 && cat /sum > /sum2',
        'CMD ["cat", "/sum2"]',
        '',
      ].join('\n'),
      files(),
    );
    // The shortest of three full runs: kill points past a fast run's end would not kill.
    let duration = Infinity;
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const full = await start(['--root', root, 'build', '-q', '--no-cache', dir]);
      expect(full.code, full.stderr).toBe(0);
      duration = Math.min(duration, Date.now() - t0);
    }
    const kills = 30;
    let killed = 0;
    for (let i = 0; i < kills; i++) {
      // From the start of the process to near its end; --no-cache so every kill point lands
      // in work that really runs (results still get recorded).
      const at = Math.round((i / (kills - 1)) * duration * 0.95);
      const r = await start(['--root', root, 'build', '-q', '--no-cache', dir], at);
      if (r.signal === 'SIGKILL') killed++;
      else expect(r.code, r.stderr).toBe(0);
    }
    expect(killed).toBeGreaterThanOrEqual(25);
    // Killed processes cannot clean up: their containers end on their own, their mounts and
    // temp dirs wait for the next obox. The store's content must verify clean regardless.
    verifyClean(root);
    const next = obox(['--root', root, 'build', '--progress', 'plain', '-t', 'after-kills', dir]);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/ 8 cached\/8 steps/);
    const out = path.join(tmp, 'killed-out');
    expect(obox(['--root', root, 'build', '-q', '-o', `type=local,dest=${out}`, dir]).code).toBe(0);
    expect(readFileSync(path.join(out, 'sum2'), 'utf8')).toMatch(/^[0-9a-f]{32} {2}-\n$/);
    verifyClean(root);
    expectNothingLeft(root);
  }, 600_000);

  it('a full disk fails the build with a clear error and leaves the store consistent and usable', async () => {
    const small = path.join(tmp, 'small');
    mkdirSync(small);
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', small]).status).toBe(0);
    try {
      const root = path.join(small, 'store');
      const imported = obox(['--root', root, 'import', rootfs, '-t', 'busybox']);
      expect(imported.code, imported.stderr).toBe(0);
      const big = context('full-copy', 'FROM busybox\nCOPY big /big\n');
      writeFileSync(path.join(big, 'big'), Buffer.alloc(40 * 1024 * 1024, 7));
      const copy = obox(['--root', root, 'build', big]);
      expect(copy.code).toBe(3);
      expect(copy.stderr).toMatch(/no space left on the store's file system|ENOSPC|No space left/i);
      expect(copy.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expectNothingLeft(root);
      verifyClean(root);
      // The commit of a step's layer runs out of space (the upper dir fits, its blob does not).
      const commit = context('full-commit', 'FROM busybox\nRUN head -c 9000000 /dev/urandom > /r1\nRUN head -c 9000000 /dev/urandom > /r2\n');
      const r = obox(['--root', root, 'build', commit]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expectNothingLeft(root);
      verifyClean(root);
      // Space again: the same store builds.
      const fine = obox(['--root', root, 'build', '-q', '-f', '-', big], { input: 'FROM busybox\nRUN echo fine > /fine\n' });
      expect(fine.code, fine.stderr).toBe(0);
      verifyClean(root);
    } finally {
      spawnSync('umount', ['-R', small]);
    }
  }, 300_000);
});
