import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashMemoPath, loadHashMemo } from '../../src/cache/hash-memo.js';
import { StorePaths } from '../../src/cache/store/index.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;

describe('persistent file-hash memo', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'obox-memo-'));
  mkdirSync(path.join(root, 'tmp'));
  const paths = new StorePaths(root);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('survives a process (save/load), counts reads, and keeps only what the last build used', async () => {
    const m1 = await loadHashMemo(paths, '/ctx');
    m1.set('/ctx/a\0k1', d('a'));
    m1.set('/ctx/b\0k2', d('b'));
    expect(m1.hashed).toBe(2);
    await m1.save();
    const m2 = await loadHashMemo(paths, '/ctx');
    expect(m2.get('/ctx/a\0k1')).toBe(d('a'));
    expect(m2.hashed).toBe(0);
    const file = hashMemoPath(paths, '/ctx');
    const mtime = statSync(file).mtimeMs;
    await m2.save(); // nothing hashed: not rewritten
    expect(statSync(file).mtimeMs).toBe(mtime);
    m2.set('/ctx/c\0k3', d('c'));
    await m2.save();
    const m3 = await loadHashMemo(paths, '/ctx');
    expect(m3.get('/ctx/b\0k2')).toBeUndefined(); // not used by the last build
    expect(m3.get('/ctx/c\0k3')).toBe(d('c'));
    // Another context has its own memo.
    expect((await loadHashMemo(paths, '/other')).get('/ctx/a\0k1')).toBeUndefined();
  });

  it('a damaged memo file is an empty memo, never an error', async () => {
    mkdirSync(path.dirname(hashMemoPath(paths, '/bad')), { recursive: true });
    writeFileSync(hashMemoPath(paths, '/bad'), '{"format":"obox-file-hashes-v1","context":"/bad","entries":[["x","not-a-digest"]]');
    expect((await loadHashMemo(paths, '/bad')).get('x')).toBeUndefined();
    writeFileSync(hashMemoPath(paths, '/bad'), JSON.stringify({ format: 'obox-file-hashes-v1', context: '/bad', entries: [['x', 'nope'], ['y', d('e')]] }));
    const m = await loadHashMemo(paths, '/bad');
    expect(m.get('x')).toBeUndefined();
    expect(m.get('y')).toBe(d('e'));
    expect(readFileSync(hashMemoPath(paths, '/bad'), 'utf8')).toContain('nope');
  });
});
