/**
 * ReplayRecorder (src/cli/replay.ts): when it writes a replay record for the launcher, what the
 * record holds, and when it refuses (the launcher itself is tested in replay.e2e.test.ts).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_RECORDS, NOW_MARK, ReplayRecorder, SECONDS_MARK } from '../../src/cli/replay.js';
import type { Store } from '../../src/cache/store/index.js';
import type { BuildDependencies } from '../../src/executor/build.js';

describe('ReplayRecorder', () => {
  let tmp: string;
  let root: string;
  let context: string;
  let store: Store;
  let cwd: string;

  const recordDir = () => path.join(root, 'cache-v1', 'replay');
  const recordFile = (name = '0123456789abcdef') => path.join(recordDir(), name);
  const old = (p: string) => utimesSync(p, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));

  beforeEach(() => {
    cwd = process.cwd();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'obox-replay-'));
    root = path.join(tmp, 'store');
    mkdirSync(path.join(root, 'tmp'), { recursive: true });
    mkdirSync(path.join(root, 'cache-v1', 'builds'), { recursive: true });
    writeFileSync(path.join(root, 'index.json'), '{}');
    context = path.join(tmp, 'ctx');
    mkdirSync(path.join(context, 'src'), { recursive: true });
    writeFileSync(path.join(context, 'Containerfile'), 'FROM scratch\nCOPY src/ /\n');
    writeFileSync(path.join(context, 'src', 'a.txt'), 'a\n');
    store = { paths: { root, index: path.join(root, 'index.json'), tmp: path.join(root, 'tmp') } } as unknown as Store;
  });

  afterEach(() => {
    process.chdir(cwd);
    rmSync(tmp, { recursive: true, force: true });
  });

  /** A recorder as the launcher would start it, with `begin` called; the context's files made old first unless `fresh`. */
  function started(opts: { fresh?: boolean; name?: string } = {}): ReplayRecorder {
    if (!opts.fresh) {
      for (const p of ['Containerfile', 'src/a.txt', 'src', '.']) old(path.join(context, p));
      // ctime cannot be set back (and utimes sets it): wait out the racy window instead.
      const until = Date.now() + 1100;
      while (Date.now() < until) {
        /* spin */
      }
    }
    const env: NodeJS.ProcessEnv = { OBOX_REPLAY_RECORD: recordFile(opts.name), OBOX_REPLAY_FINGERPRINT: Buffer.from('fp\0argv').toString('base64') };
    const r = ReplayRecorder.fromEnvironment(env)!;
    expect(env.OBOX_REPLAY_RECORD).toBeUndefined();
    process.chdir(tmp);
    r.begin({ context: 'ctx', file: undefined });
    return r;
  }

  function dependsOn(extra: Partial<BuildDependencies> = {}): BuildDependencies {
    const entry = path.join(root, 'cache-v1', 'entries', 'ab', 'abcd');
    mkdirSync(path.dirname(entry), { recursive: true });
    writeFileSync(entry, '{}');
    const buildRecordFile = path.join(root, 'cache-v1', 'builds', 'x.json');
    writeFileSync(buildRecordFile, '{"format":1,"containerfile":"c","context":"d","createdAt":"2026-01-01T00:00:00.000Z","steps":[]}\n');
    return { contextDir: context, entryFiles: [entry], storeFiles: [path.join(root, 'blobs', 'sha256', 'gone')], buildRecordFile, remote: false, ...extra };
  }

  const finish = (r: ReplayRecorder, o: { allHits?: boolean; replayable?: boolean; deps?: BuildDependencies } = {}) => {
    process.stderr.write('#1 CACHED\n=> built x, 0.1s\n');
    return r.finish({ store, dependsOn: o.deps ?? dependsOn(), replayable: o.replayable ?? true, allHits: o.allHits ?? true, summary: { printed: '=> built x, 0.1s\n', template: `=> built x, ${SECONDS_MARK}s\n` } });
  };

  it('ignores a missing or malformed request', () => {
    expect(ReplayRecorder.fromEnvironment({})).toBeUndefined();
    expect(ReplayRecorder.fromEnvironment({ OBOX_REPLAY_RECORD: 'relative/0123456789abcdef', OBOX_REPLAY_FINGERPRINT: 'eA==' })).toBeUndefined();
    expect(ReplayRecorder.fromEnvironment({ OBOX_REPLAY_RECORD: '/x/not-a-record-name', OBOX_REPLAY_FINGERPRINT: 'eA==' })).toBeUndefined();
  });

  it('writes the fingerprint, the stats of context, Containerfile and store files, what to touch and write, and the output', async () => {
    const r = started();
    expect(await finish(r)).toBe(true);
    const text = readFileSync(recordFile()).toString('latin1');
    expect(text.startsWith('obox-replay 1\nfingerprint 7\nfp\0argv\n')).toBe(true);
    expect(text).toContain(`${path.join(context, 'src', 'a.txt')}\n`);
    expect(text).toMatch(/stat S \d+ \d+ \d+ \d+ \d+ [0-7]+ \d+\n.*Containerfile\n/);
    expect(text).toMatch(/stat A 0 0 0 0 0 0 \d+\n.*\.dockerignore\n/); // absent files are inputs too
    expect(text).toMatch(/stat L \d+/); // the directories above the context
    expect(text).toMatch(/stat I \d+ .*\n.*abcd\n/);
    expect(text).toMatch(/stat A .*\n.*gone\n/);
    expect(text).toContain(`touch ${path.join(root, 'cache-v1', 'entries', 'ab', 'abcd').length}\n`);
    expect(text).toContain(`"createdAt":"${NOW_MARK}"`);
    expect(text).toContain(`=> built x, ${SECONDS_MARK}s\n`);
    expect(text.endsWith('end\n')).toBe(true);
  });

  it('writes nothing, and removes a stale record, when the build is not an exact repeatable all-hit build', async () => {
    for (const o of [{ allHits: false }, { replayable: false }, { deps: { ...dependsOn(), remote: true } }]) {
      mkdirSync(recordDir(), { recursive: true });
      writeFileSync(recordFile(), 'stale');
      const r = started();
      expect(await finish(r, o)).toBe(false);
      expect(readdirSync(recordDir())).toEqual([]);
    }
  });

  it('writes nothing when a source changed less than a second before the build, or index.json changed meanwhile', async () => {
    const racy = started({ fresh: true });
    expect(await finish(racy)).toBe(false);
    const moved = started();
    writeFileSync(path.join(root, 'index.json'), '{"changed":true}');
    expect(await finish(moved)).toBe(false);
  });

  it('keeps at most MAX_RECORDS records, the newest', async () => {
    mkdirSync(recordDir(), { recursive: true });
    for (let i = 0; i < MAX_RECORDS + 3; i++) {
      const p = recordFile(i.toString(16).padStart(16, '0'));
      writeFileSync(p, 'old');
      old(p);
    }
    const r = started({ name: 'ffffffffffffffff' });
    expect(await finish(r)).toBe(true);
    const names = readdirSync(recordDir());
    expect(names).toHaveLength(MAX_RECORDS);
    expect(names).toContain('ffffffffffffffff');
  });
});
