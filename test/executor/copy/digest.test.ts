/** The content digest of what a COPY copies: equal to what copyInto reports, blind to mtimes only. */
import { chmodSync, linkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseIgnoreFile } from '../../../src/context/ignore.js';
import { contextSource, createFileHashMemo, digestCopySources, planCopy, type CopyRequest, type SourceTree } from '../../../src/executor/copy/index.js';
import { requires } from '../../helpers/requirements.js';
import { make, req, run, sandbox, type Sandbox } from './helpers.js';
import { writeTar } from './tar.js';

describe.skipIf(!requires({ root: true }))('digestCopySources', () => {
  let s: Sandbox;
  let ctx: SourceTree;
  const digest = (r: CopyRequest) => digestCopySources(r, { userRoot: s.root, tempDir: s.dir }).then((d) => d.digest);
  beforeEach(() => {
    s = sandbox();
    ctx = contextSource(s.ctx);
    make(s.root, { 'etc/passwd': 'app:x:1000:1000::/:/bin/sh\n', 'etc/group': 'app:x:1000:\n' });
    make(s.ctx, { 'a.txt': 'A', 'dir/x': 'X', 'dir/sub/y': 'Y', 'dir/l': { symlink: 'x' }, 'ignored.log': 'i' });
    linkSync(path.join(s.ctx, 'dir/x'), path.join(s.ctx, 'dir/hard'));
  });
  afterEach(() => s.cleanup());

  it('equals the digest copyInto reports for the same request', async () => {
    writeTar(path.join(s.ctx, 'a.tar'), [{ path: 'm', content: 'm' }], 'gzip');
    const requests: CopyRequest[] = [
      req(ctx, ['a.txt', 'dir'], '/d/'),
      req(ctx, ['dir'], '/c/', { chown: 'app', chmod: 'u+x', excludes: ['sub'] }),
      req(ctx, ['**/y', 'a.txt'], '/p/', { parents: true }),
      req(ctx, [{ kind: 'heredoc', name: 'EOF', content: 'doc', expand: true }], '/h'),
      { ...req(ctx, ['a.tar', 'a.txt'], '/add/'), kind: 'add' },
    ];
    for (const r of requests) {
      const expected = await digestCopySources(r, { userRoot: s.root, tempDir: s.dir });
      const got = await run(s, r);
      expect(got.digest, JSON.stringify(r.sources)).toBe(expected.digest);
      expect(got.entries).toBe(expected.entries);
    }
  });

  it('ignores mtimes; sees content, mode, owner, symlink targets, names, and what is excluded', async () => {
    const base = await digest(req(ctx, ['dir'], '/d/'));
    utimesSync(path.join(s.ctx, 'dir/x'), 12345, 12345);
    expect(await digest(req(ctx, ['dir'], '/d/'))).toBe(base);

    expect(await digest(req(ctx, ['dir'], '/d/', { chmod: '0700' }))).not.toBe(base);
    expect(await digest(req(ctx, ['dir'], '/d/', { chown: '1000' }))).not.toBe(base);
    expect(await digest(req(ctx, ['dir'], '/d/', { excludes: ['l'] }))).not.toBe(base);

    chmodSync(path.join(s.ctx, 'dir/sub/y'), 0o600);
    const modeChanged = await digest(req(ctx, ['dir'], '/d/'));
    expect(modeChanged).not.toBe(base);
    writeFileSync(path.join(s.ctx, 'dir/sub/y'), 'Y2');
    expect(await digest(req(ctx, ['dir'], '/d/'))).not.toBe(modeChanged);
  });

  it('does not see ignored files; memoises file hashes by stat', async () => {
    const withLog = await digest(req(ctx, ['.'], '/d/'));
    const t = contextSource(s.ctx, parseIgnoreFile('*.log\n'));
    const withoutLog = await digestCopySources(req(t, ['.'], '/d/'), { tempDir: s.dir });
    expect(withoutLog.digest).not.toBe(withLog);
    writeFileSync(path.join(s.ctx, 'ignored.log'), 'changed');
    expect((await digestCopySources(req(t, ['.'], '/d/'), { tempDir: s.dir })).digest).toBe(withoutLog.digest);

    const memo = createFileHashMemo();
    const calls: string[] = [];
    const spy = { get: (k: string) => memo.get(k), set: (k: string, v: string) => (calls.push(k), memo.set(k, v)) };
    const first = await digestCopySources(req(ctx, ['dir'], '/d/'), { hashMemo: spy });
    const hashed = calls.length;
    expect(hashed).toBeGreaterThan(0);
    const second = await digestCopySources(req(ctx, ['dir'], '/d/'), { hashMemo: spy });
    expect(second).toEqual(first);
    expect(calls.length).toBe(hashed); // nothing read again
  });

  it('a plan can be digested and then executed (one download, one walk of the sources)', async () => {
    const plan = await planCopy(req(ctx, ['a.txt'], '/x'), { tempDir: s.dir });
    try {
      const d = await digestCopySources(plan);
      expect(d.entries).toBe(1);
    } finally {
      await plan.dispose();
    }
  });
});
