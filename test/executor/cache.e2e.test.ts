/**
 * The build cache end to end, through the built CLI with real overlay mounts and runc: hits run
 * nothing, a no-op rebuild reads no context file and gives the same image, a changed input
 * misses exactly from its step on, and `obox cache why` names the input that changed.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { obox } from '../helpers/cli.js';
import { mountsUnder } from '../helpers/dockerd.js';
import { writeContext } from '../helpers/context.js';
import { requires } from '../helpers/requirements.js';
import { BUSYBOX_ROOTFS_TOOLS, makeBusyboxRootfs } from '../infra/rootfs.js';

const ok = requires({ root: true, tools: [...BUSYBOX_ROOTFS_TOOLS, 'runc'] });

interface WhyStep {
  stage: string;
  step: number;
  line: number;
  text: string;
  key: string;
  hit: boolean;
  reasons: string[];
}
interface WhyReport {
  lastBuild: { steps: WhyStep[] } | undefined;
  now: WhyStep[];
  unchanged: boolean;
}

describe.skipIf(!ok)('build cache end to end', () => {
  let tmp: string;
  let root: string;
  const run = (args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) => obox(['--root', root, ...args], opts);

  const context = (name: string, containerfile: string, files: Record<string, string> = {}): string => writeContext(tmp, name, containerfile, files);

  /** Builds with plain progress; returns each step's status line in order ('CACHED' or 'DONE'). */
  function build(dir: string, extra: string[] = [], env?: NodeJS.ProcessEnv): { id: string; statuses: string[]; stderr: string } {
    const r = run(['build', '--progress', 'plain', ...extra, dir], env ? { env } : {});
    expect(r.code, r.stderr).toBe(0);
    const statuses = [...r.stderr.matchAll(/^#\d+ (CACHED|DONE)/gm)].map((m) => m[1]!);
    return { id: r.stdout.trim(), statuses, stderr: r.stderr };
  }

  function why(dir: string, extra: string[] = []): WhyReport {
    const r = run(['cache', 'why', '--format', 'json', ...extra, dir]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as WhyReport;
  }

  const memoFiles = (): string[] => {
    const dir = path.join(root, 'cache-v1', 'file-hashes');
    return existsSync(dir) ? readdirSync(dir).map((f) => path.join(dir, f)) : [];
  };

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'obox-cache-e2e-'));
    root = path.join(tmp, 'store');
    const rootfs = await makeBusyboxRootfs(path.join(tmp, 'busybox.tar'));
    expect(run(['import', rootfs, '-t', 'busybox']).code).toBe(0);
  }, 120_000);

  afterAll(() => {
    expect(mountsUnder(root)).toEqual([]);
    rmSync(tmp, { recursive: true, force: true });
  });

  const multiStage = [
    'FROM busybox AS build',
    'ARG FLAVOUR=plain',
    'RUN echo "built $FLAVOUR at $(date +%s%N)" > /stamp',
    'COPY src/ /src/',
    'RUN cat /src/*.txt | wc -l > /lines && date +%s%N > /second-stamp',
    'ENV MODE=release',
    'WORKDIR /app',
    '',
    'FROM busybox',
    'COPY --from=build /lines /stamp /out/',
    'RUN --mount=type=bind,source=conf,target=/conf cat /conf/setting > /setting',
    'CMD ["cat", "/out/lines"]',
    '',
  ].join('\n');

  function manyFiles(): Record<string, string> {
    const files: Record<string, string> = { 'conf/setting': 'fast\n' };
    for (let i = 0; i < 300; i++) files[`src/f${i}.txt`] = `line ${i}\n`;
    return files;
  }

  it('a no-op rebuild hits every step, runs nothing, reads no context file and gives the same image', () => {
    const dir = context('noop', multiStage, manyFiles());
    const first = build(dir, ['-t', 'noop']);
    expect(first.statuses.filter((s) => s === 'CACHED')).toEqual([]);
    const [memo] = memoFiles();
    expect(memo).toBeDefined();
    const memoMtime = statSync(memo!).mtimeMs;
    const stampBefore = readFileSync(path.join(tmp, 'noop', 'Containerfile'), 'utf8');

    const second = build(dir, ['-t', 'noop']);
    // ARG has nothing to cache (DONE at once); every other step is CACHED.
    expect(second.statuses).toEqual(['DONE', ...Array(8).fill('CACHED')]);
    expect(second.stderr).toMatch(/8 cached\/8 steps/);
    expect(second.id).toBe(first.id);
    // The memo is rewritten only when a file had to be read: no-op means stat only.
    expect(statSync(memo!).mtimeMs).toBe(memoMtime);
    expect(readFileSync(path.join(tmp, 'noop', 'Containerfile'), 'utf8')).toBe(stampBefore);

    const report = why(dir);
    expect(report.unchanged).toBe(true);
    expect(report.now.every((s) => s.hit)).toBe(true);
  });

  it('changing one context file misses from its COPY on, and why names that file', () => {
    const dir = context('onefile', multiStage, manyFiles());
    const first = build(dir);
    writeFileSync(path.join(dir, 'src', 'f17.txt'), 'line 17\nand one more\n');
    // A touched file with the same content is not a change (mtime is never an input).
    const same = path.join(dir, 'src', 'f18.txt');
    writeFileSync(same, readFileSync(same));

    const ahead = why(dir);
    expect(ahead.unchanged).toBe(false);
    const copyNow = ahead.now.find((s) => s.text.startsWith('COPY src/'))!;
    expect(copyNow.hit).toBe(false);
    expect(copyNow.reasons).toEqual([expect.stringMatching(/^src\/f17\.txt changed \(content sha256:/)]);

    const table = run(['cache', 'why', dir]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('Now: a build with these flags would miss 7 of 8 steps:');
    expect(table.stdout).toMatch(/MISS {3}\[build 3\] line 4: COPY src\/ \/src\/\n {9}- src\/f17\.txt changed \(content sha256:/);

    const second = build(dir);
    expect(second.id).not.toBe(first.id);
    // ARG, RUN stamp hit; COPY and everything after it in the build stage miss; the final
    // stage misses from COPY --from on (the build stage's result changed).
    expect(second.statuses).toEqual(['DONE', 'CACHED', 'DONE', 'DONE', 'DONE', 'DONE', 'DONE', 'DONE', 'DONE']);
    const last = why(dir).lastBuild!.steps;
    expect(last.find((s) => s.text.startsWith('COPY src/'))!.reasons).toEqual([expect.stringMatching(/^src\/f17\.txt changed/)]);
    expect(last.find((s) => s.text.startsWith('RUN cat'))!.reasons).toEqual(['the previous step (line 4) missed']);
    expect(last.find((s) => s.text.startsWith('COPY --from'))!.reasons).toEqual(['what it copies from --from=build changed']);
  });

  it('a build arg change is named with its old and new value; a bind mount source change misses its RUN', () => {
    const dir = context('args', multiStage, manyFiles());
    build(dir);
    build(dir, ['--build-arg', 'FLAVOUR=spicy']);
    const steps = why(dir, ['--build-arg', 'FLAVOUR=spicy']).lastBuild!.steps;
    const stamp = steps.find((s) => s.text.startsWith('RUN echo'))!;
    expect(stamp.hit).toBe(false);
    expect(stamp.reasons).toContain('build arg FLAVOUR changed from "plain" to "spicy"');

    writeFileSync(path.join(dir, 'conf', 'setting'), 'slow\n');
    const after = build(dir, ['--build-arg', 'FLAVOUR=spicy']);
    // Build stage all cached; final: COPY --from cached, the bind-mount RUN and CMD miss.
    expect(after.statuses).toEqual(['DONE', 'CACHED', 'CACHED', 'CACHED', 'CACHED', 'CACHED', 'CACHED', 'DONE', 'DONE']);
    const bind = why(dir, ['--build-arg', 'FLAVOUR=spicy']).lastBuild!.steps.find((s) => s.text.startsWith('RUN --mount'))!;
    expect(bind.reasons).toEqual(['the source of the bind mount at /conf changed']);
  });

  it('--no-cache runs every step; --no-cache-filter only the named stage (and what depends on it)', () => {
    const dir = context('nocache', multiStage, manyFiles());
    build(dir);
    const all = build(dir, ['--no-cache']);
    expect(all.statuses.filter((s) => s === 'CACHED')).toEqual([]);
    const report = why(dir);
    expect(report.lastBuild!.steps.every((s) => s.reasons.includes('built with --no-cache'))).toBe(true);
    // --no-cache-filter 1 (the final stage by index): the build stage hits.
    const filtered = build(dir, ['--no-cache-filter', '1']);
    expect(filtered.statuses).toEqual(['DONE', 'CACHED', 'CACHED', 'CACHED', 'CACHED', 'CACHED', 'DONE', 'DONE', 'DONE']);
    const byName = build(dir, ['--no-cache-filter', 'build']);
    expect(byName.statuses.slice(1, 6)).toEqual(['DONE', 'DONE', 'DONE', 'DONE', 'DONE']);
  });

  it('COPY --from is keyed by what it copies: a rebuilt stage that makes the same files leaves its consumers cached', () => {
    const dir = context('from-content', 'FROM busybox AS build\nARG V=1\nRUN echo "$V" > /v && echo same > /same\n\nFROM busybox\nCOPY --from=build /same /same\nCMD ["cat", "/same"]\n');
    const first = build(dir, ['-t', 'from-content']);
    const second = build(dir, ['-t', 'from-content', '--build-arg', 'V=2']);
    // ARG, then the RUN runs again; the final stage's COPY --from and CMD hit: the same image.
    expect(second.statuses).toEqual(['DONE', 'DONE', 'CACHED', 'CACHED']);
    expect(second.id).toBe(first.id);
    // The dry run cannot know what a stage that would be rebuilt makes, and says so…
    const copyAhead = why(dir, ['--build-arg', 'V=3']).now.find((s) => s.text.startsWith('COPY --from'))!;
    expect(copyAhead.hit).toBe(false);
    expect(copyAhead.reasons).toEqual(['--from=build would be rebuilt first: this step hits only if what it copies comes out the same']);
    // …and reads the stage from its cached layers when it would hit.
    expect(why(dir, ['--build-arg', 'V=2']).now.every((s) => s.hit)).toBe(true);
    expect(mountsUnder(root)).toEqual([]);
  });

  it('a metadata step is cached with the chain: changing ENV misses the steps after it', () => {
    const dir = context('meta', 'FROM busybox\nENV A=1\nRUN echo $A > /a\nLABEL x=y\n');
    build(dir);
    writeFileSync(path.join(dir, 'Containerfile'), 'FROM busybox\nENV A=2\nRUN echo $A > /a\nLABEL x=y\n');
    expect(build(dir).statuses).toEqual(['DONE', 'DONE', 'DONE']);
    const steps = why(dir).lastBuild!.steps;
    expect(steps[0]!.reasons).toEqual(['the instruction changed: "ENV A=1" → "ENV A=2"']);
    // Moving a line (a blank line added) keeps every key: positions are not inputs.
    writeFileSync(path.join(dir, 'Containerfile'), '\n\nFROM busybox\n\nENV A=2\nRUN echo $A > /a\nLABEL x=y\n');
    expect(build(dir).statuses).toEqual(['CACHED', 'CACHED', 'CACHED']);
  });

  it('identical results share one layer dir and one blob', () => {
    const env = { ...process.env, SOURCE_DATE_EPOCH: '1700000000' };
    const a = context('dedupe-a', 'FROM busybox\nCOPY data /data\n', { data: 'same bytes\n' });
    const b = context('dedupe-b', 'FROM busybox\nCOPY ./data /data\n', { data: 'same bytes\n' });
    const layersBefore = readdirSync(path.join(root, 'layers-v1', 'sha256')).length;
    build(a, ['-t', 'dedupe-a'], env);
    const afterA = readdirSync(path.join(root, 'layers-v1', 'sha256')).length;
    const second = build(b, ['-t', 'dedupe-b'], env);
    // Different instruction text → a different key → the step ran, but its layer was already there.
    expect(second.statuses).toEqual(['DONE']);
    expect(readdirSync(path.join(root, 'layers-v1', 'sha256')).length).toBe(afterA);
    expect(afterA).toBe(layersBefore + 1);
    const layersOf = (name: string): string[] => (JSON.parse(run(['inspect', name]).stdout) as Array<{ RootFS: { Layers: string[] } }>)[0]!.RootFS.Layers;
    expect(layersOf('dedupe-b')).toEqual(layersOf('dedupe-a'));
  });

  it('an entry whose layer dir was removed is rebuilt, and why says so', () => {
    const dir = context('gone', 'FROM busybox\nRUN echo gone > /g\n');
    build(dir);
    const step = why(dir).lastBuild!.steps[0]!;
    const entry = JSON.parse(readFileSync(path.join(root, 'cache-v1', 'entries', step.key.slice(7, 9), `${step.key.slice(7)}.json`), 'utf8')) as { layer: { diffId: string; digest?: string } };
    rmSync(path.join(root, 'layers-v1', 'sha256', entry.layer.diffId.slice(7)), { recursive: true, force: true });
    if (entry.layer.digest) rmSync(path.join(root, 'blobs', 'sha256', entry.layer.digest.slice(7)), { force: true });
    const again = build(dir);
    expect(again.statuses).toEqual(['DONE']);
    expect(why(dir).lastBuild!.steps[0]!.reasons).toEqual(['its cache entry was found but its layer is gone (pruned or removed): rebuilt']);
  });

  it('a cached layer of an intermediate stage gets its blob when a later build exports it', () => {
    const dir = context('lazy', 'FROM busybox AS base\nRUN echo base > /b\n\nFROM busybox\nCOPY --from=base /b /b\n');
    build(dir);
    // The base stage's layer has a dir but no blob yet; --target base exports it from the cache.
    const exported = build(dir, ['--target', 'base', '-t', 'lazy-base']);
    expect(exported.statuses).toEqual(['CACHED']);
    const out = path.join(tmp, 'lazy-rootfs');
    expect(run(['build', '-q', '--target', 'base', '-o', `type=local,dest=${out}`, dir]).code).toBe(0);
    expect(readFileSync(path.join(out, 'b'), 'utf8')).toBe('base\n');
    const step = why(dir, ['--target', 'base']).lastBuild!.steps[0]!;
    const entry = JSON.parse(readFileSync(path.join(root, 'cache-v1', 'entries', step.key.slice(7, 9), `${step.key.slice(7)}.json`), 'utf8')) as { layer: { digest?: string } };
    expect(entry.layer.digest).toMatch(/^sha256:/);
    expect(existsSync(path.join(root, 'blobs', 'sha256', entry.layer.digest!.slice(7)))).toBe(true);
  });
});
