import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, OboxError } from '../../src/errors.js';
import { withLock } from '../../src/cache/store/lock.js';
import { tempDir } from './helpers.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let lockPath: string;

beforeEach(async () => {
  dir = await tempDir('obox-lock-');
  await mkdir(join(dir.path, 'locks'));
  lockPath = join(dir.path, 'locks', 'x.lock');
});
afterEach(async () => dir.cleanup());

async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((r) => child.on('exit', r));
  return child.pid as number;
}

describe('withLock', () => {
  it('serialises holders in one process and removes the file after', async () => {
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withLock(lockPath, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await new Promise((r) => setTimeout(r, 1));
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
    expect(await readdir(join(dir.path, 'locks'))).toEqual([]);
  });

  it('records the holder and releases on error', async () => {
    await expect(
      withLock(lockPath, async () => {
        const content = JSON.parse(await readFile(lockPath, 'utf8')) as { pid: number; host: string };
        expect(content.pid).toBe(process.pid);
        expect(content.host).toBe(hostname());
        throw new Error('inside');
      }),
    ).rejects.toThrow('inside');
    expect(await readdir(join(dir.path, 'locks'))).toEqual([]);
  });

  it('breaks a stale lock left by a dead process', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: await deadPid(), host: hostname(), nonce: 'dead' }));
    const t0 = Date.now();
    expect(await withLock(lockPath, async () => 'got it', { timeoutMs: 2000 })).toBe('got it');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('breaks a lock whose pid was reused (start time differs)', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: process.pid, start: 'not-my-start', host: hostname(), nonce: 'reused' }));
    expect(await withLock(lockPath, async () => 'got it', { timeoutMs: 2000 })).toBe('got it');
  });

  it('breaks an empty lock file only once it is older than the grace period', async () => {
    await writeFile(lockPath, '');
    await expect(withLock(lockPath, async () => 'x', { timeoutMs: 100, graceMs: 60_000 })).rejects.toThrow(/held by an unknown process/);
    const old = new Date(Date.now() - 120_000);
    await utimes(lockPath, old, old);
    expect(await withLock(lockPath, async () => 'x', { timeoutMs: 2000, graceMs: 60_000 })).toBe('x');
  });

  it('waits for a live holder, then times out with E_STORE naming it', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: 1, host: hostname(), nonce: 'init' }));
    let err: unknown;
    try {
      await withLock(lockPath, async () => undefined, { timeoutMs: 150 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OboxError);
    expect((err as OboxError).code).toBe(ErrorCodes.store);
    expect((err as OboxError).message).toMatch(/held by pid 1 on/);
    // and the live holder's file is left alone
    expect(JSON.parse(await readFile(lockPath, 'utf8'))).toMatchObject({ nonce: 'init' });
  });

  it('never judges a lock from another host stale', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: await deadPid(), host: `not-${hostname()}`, nonce: 'far' }));
    await expect(withLock(lockPath, async () => undefined, { timeoutMs: 100 })).rejects.toThrow(/store is locked/);
  });

  it('the lock file excludes other processes while held (O_EXCL)', async () => {
    // Another process trying to create the lock file exclusively (the shell's noclobber is O_EXCL) is refused.
    const held = withLock(lockPath, async () => {
      const r = await promisify(execFile)('sh', ['-c', `set -C; echo x > ${lockPath} 2>/dev/null && echo created || echo refused`]);
      return r.stdout.trim();
    });
    expect(await held).toBe('refused');
  });
});
