/**
 * keyOfStep: the inputs that must change a step's key change it, and what must not (mtimes,
 * line positions, a touched but unchanged file) does not; unchanged files are never read twice.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepParent } from '../../src/cache/step-key.js';
import type { Store } from '../../src/cache/store/index.js';
import { contextSource, createFileHashMemo } from '../../src/executor/copy/index.js';
import { keyOfStep, SCRATCH_DIGEST, type KeyContext } from '../../src/executor/step-keys.js';
import type { BuildPlan } from '../../src/plan/index.js';
import { plan, walk } from '../plan/helpers.js';

const IMAGE: StepParent = { kind: 'image', digest: `sha256:${'a'.repeat(64)}` };

describe('keyOfStep', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'obox-step-keys-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function ctx(p: BuildPlan, contextDir: string, extra: Partial<KeyContext> = {}): KeyContext {
    return {
      store: { resolve: async () => ({ digest: `sha256:${'b'.repeat(64)}` }) } as unknown as Store,
      plan: p,
      context: contextSource(contextDir),
      contextDir,
      memo: createFileHashMemo(),
      platform: { os: 'linux', architecture: 'amd64' },
      sourceDateEpoch: undefined,
      network: 'host',
      stageResult: () => `sha256:${'c'.repeat(64)}`,
      stageRootfs: async () => undefined,
      tempDir: dir,
      ...extra,
    };
  }

  /** The key of the last step of the target stage of `text`. */
  async function keyOf(text: string, contextDir: string, extra: Partial<KeyContext> = {}, options = {}): Promise<string> {
    const p = plan(text, options);
    const steps = walk(p).get(p.target.displayName)!.filter((s) => s.expanded.kind !== 'from');
    return (await keyOfStep(ctx(p, contextDir, extra), steps.at(-1)!, IMAGE, '/')).key;
  }

  function tree(name: string, files: Record<string, string>): string {
    const root = path.join(dir, name);
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      writeFileSync(path.join(root, f), text);
    }
    return root;
  }

  it('COPY: content, mode and symlink targets change the key; mtimes and unrelated files do not', async () => {
    const c = tree('copy', { 'src/a.txt': 'a\n', 'src/b.txt': 'b\n', 'other.txt': 'x\n' });
    const text = 'FROM img\nCOPY src/ /src/\n';
    const k0 = await keyOf(text, c);
    utimesSync(path.join(c, 'src/a.txt'), new Date(1000), new Date(1000));
    writeFileSync(path.join(c, 'other.txt'), 'changed\n');
    expect(await keyOf(text, c)).toBe(k0);
    writeFileSync(path.join(c, 'src/a.txt'), 'A\n');
    const k1 = await keyOf(text, c);
    expect(k1).not.toBe(k0);
    chmodSync(path.join(c, 'src/a.txt'), 0o755);
    const k2 = await keyOf(text, c);
    expect(k2).not.toBe(k1);
    symlinkSync('a.txt', path.join(c, 'src/link'));
    const k3 = await keyOf(text, c);
    expect(k3).not.toBe(k2);
    rmSync(path.join(c, 'src/link'));
    symlinkSync('b.txt', path.join(c, 'src/link'));
    expect(await keyOf(text, c)).not.toBe(k3);
  });

  it('COPY --chown/--chmod text, the parent, args read, platform and SOURCE_DATE_EPOCH are inputs; line positions are not', async () => {
    const c = tree('flags', { 'f.txt': 'f\n' });
    const base = await keyOf('FROM img\nCOPY f.txt /f\n', c);
    expect(await keyOf('FROM img\n\n\nCOPY   f.txt /f\n', c)).toBe(base);
    expect(await keyOf('FROM img\nCOPY --chown=1:1 f.txt /f\n', c)).not.toBe(base);
    expect(await keyOf('FROM img\nCOPY --chmod=600 f.txt /f\n', c)).not.toBe(base);
    expect(await keyOf('FROM img\nCOPY f.txt /f\n', c, { platform: { os: 'linux', architecture: 'arm64' } })).not.toBe(base);
    expect(await keyOf('FROM img\nCOPY f.txt /f\n', c, { sourceDateEpoch: 1 })).not.toBe(base);
    const run = 'FROM img\nARG V=1\nRUN echo hi\n';
    const r1 = await keyOf(run, c);
    expect(await keyOf(run, c, {}, { buildArgs: new Map([['V', '2']]) })).not.toBe(r1);
    // RUN's effective network is part of its meaning.
    expect(await keyOf(run, c, { network: 'none' })).not.toBe(r1);
    // …so spelling out the default gives the same key.
    expect(await keyOf('FROM img\nRUN --network=host echo hi\n', c)).toBe(await keyOf('FROM img\nRUN echo hi\n', c));
  });

  it('COPY --from=STAGE uses the content of what it copies from the stage; a bind mount from the context its content', async () => {
    const c = tree('from', { 'conf/x': '1\n' });
    const text = 'FROM img AS a\nRUN true\nFROM img\nCOPY --from=a /x /x\n';
    const stage = tree('from-stage', { x: 'one\n', other: 'o\n' });
    const fromStage = { stageRootfs: async () => stage };
    const k1 = await keyOf(text, c, { ...fromStage, stageResult: () => `sha256:${'1'.repeat(64)}` });
    // Another result key, the same copied content: the same key (a rebuilt stage that made the same files).
    expect(await keyOf(text, c, { ...fromStage, stageResult: () => `sha256:${'2'.repeat(64)}` })).toBe(k1);
    // What it does not copy does not count; a touched file does not either; content and mode do.
    writeFileSync(path.join(stage, 'other'), 'changed\n');
    utimesSync(path.join(stage, 'x'), new Date(1), new Date(1));
    expect(await keyOf(text, c, fromStage)).toBe(k1);
    chmodSync(path.join(stage, 'x'), 0o755);
    const k2 = await keyOf(text, c, fromStage);
    expect(k2).not.toBe(k1);
    writeFileSync(path.join(stage, 'x'), 'two\n');
    expect(await keyOf(text, c, fromStage)).not.toBe(k2);
    // A stage not there to read (cache why, the stage would be rebuilt): a key no build records.
    const unbuilt = await keyOf(text, c, { stageResult: () => `sha256:${'1'.repeat(64)}` });
    expect([k1, k2]).not.toContain(unbuilt);
    expect(await keyOf('FROM img\nCOPY --from=scratch /x /x\n', c)).toMatch(/^sha256:/);
    expect(SCRATCH_DIGEST).toMatch(/^sha256:[0-9a-f]{64}$/);
    const bind = 'FROM img\nRUN --mount=type=bind,source=conf,target=/conf cat /conf/x\n';
    const b1 = await keyOf(bind, c);
    writeFileSync(path.join(c, 'conf/x'), '2\n');
    expect(await keyOf(bind, c)).not.toBe(b1);
    // A cache mount is not an input.
    const cache = 'FROM img\nRUN --mount=type=cache,target=/c true\n';
    expect(await keyOf(cache, c)).toBe(await keyOf(cache, c));
  });

  it('an unchanged file is hashed once across steps (the memo), a changed one again', async () => {
    const c = tree('memo', { 'a.txt': 'a\n', 'b.txt': 'b\n' });
    let reads = 0;
    const inner = createFileHashMemo();
    const memo = {
      get: (k: string) => inner.get(k),
      set: (k: string, v: string) => {
        reads++;
        inner.set(k, v);
      },
    };
    const text = 'FROM img\nCOPY . /ctx/\n';
    await keyOf(text, c, { memo });
    expect(reads).toBe(2);
    await keyOf(text, c, { memo });
    expect(reads).toBe(2);
    writeFileSync(path.join(c, 'a.txt'), 'changed\n');
    await keyOf(text, c, { memo });
    expect(reads).toBe(3);
  });
});
