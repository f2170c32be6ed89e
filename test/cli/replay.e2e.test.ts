/**
 * The launcher (bin/obox → native/build/obox-launch) end to end: an exact repeat of an all-cached
 * build is answered from its replay record without Node, with the same output and image, the
 * entries' last use and `cache why`'s record kept up to date; any change to what the build
 * depends on (a context file, a new file, the Containerfile, an image name, the cache, the
 * environment, obox itself) makes it run the build in Node instead.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { obox, repoRoot, type CliResult } from '../helpers/cli.js';
import { mountsUnder } from '../helpers/dockerd.js';
import { writeContext } from '../helpers/context.js';
import { inCI, requires } from '../helpers/requirements.js';
import { BUSYBOX_ROOTFS_TOOLS, makeBusyboxRootfs } from '../infra/rootfs.js';

const launcher = path.join(repoRoot, 'native', 'build', 'obox-launch');
const command = path.join(repoRoot, 'bin', 'obox');
const ok = requires({ root: true, tools: [...BUSYBOX_ROOTFS_TOOLS, 'runc'] });
if (ok && inCI && !existsSync(launcher)) throw new Error('CI=true and native/build/obox-launch is missing (npm run build makes it)');

/** The time the kernel stamps files with is coarse: a record needs sources older than 1 s. */
const settle = (): void => {
  spawnSync('sleep', ['1.2']);
};

describe.skipIf(!ok || !existsSync(launcher))('launcher replays exact repeats of all-cached builds', () => {
  let tmp: string;
  let root: string;

  /** Runs `bin/obox --root ROOT ARGS` (the launcher) with OBOX_LAUNCH_DEBUG=1. */
  const launch = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; root?: string | null } = {}): CliResult & { replayed: boolean; why: string } => {
    const rootArgs = opts.root === null ? [] : ['--root', opts.root ?? root];
    const r = spawnSync(command, [...rootArgs, ...args], {
      cwd: opts.cwd ?? tmp,
      encoding: 'utf8',
      env: { ...process.env, OBOX_LAUNCH_DEBUG: '1', ...opts.env },
      timeout: 120_000,
    });
    if (r.error) throw r.error;
    const debug = r.stderr.split('\n').filter((l) => l.startsWith('obox-launch: '));
    const stderr = r.stderr
      .split('\n')
      .filter((l) => !l.startsWith('obox-launch: '))
      .join('\n');
    return { code: r.status ?? -1, stdout: r.stdout, stderr, replayed: debug.some((l) => l.startsWith('obox-launch: replayed ')), why: debug.join('\n') };
  };
  const build = (dir: string, extra: string[] = [], opts: { env?: NodeJS.ProcessEnv; root?: string | null } = {}) => {
    const r = launch(['build', '--progress', 'plain', '-t', 'replay-test', ...extra, dir], opts);
    expect(r.code, r.stderr).toBe(0);
    return r;
  };
  const records = (store = root): string[] => {
    const dir = path.join(store, 'cache-v1', 'replay');
    return existsSync(dir) ? readdirSync(dir) : [];
  };
  /** Strips the elapsed time of the summary line, the one thing a replay re-measures. */
  const timeless = (s: string): string => s.replace(/, \d+\.\ds\n/g, ', Ts\n');

  const containerfile = ['FROM busybox', 'COPY src/ /src/', 'RUN cat /src/*.txt > /all && date +%s%N > /stamp', 'ENV MODE=release', 'CMD ["cat", "/all"]', ''].join('\n');

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'obox-replay-e2e-'));
    root = path.join(tmp, 'store');
    const rootfs = await makeBusyboxRootfs(path.join(tmp, 'busybox.tar'));
    expect(obox(['--root', root, 'import', rootfs, '-t', 'busybox']).code).toBe(0);
  }, 120_000);

  afterAll(() => {
    expect(mountsUnder(root)).toEqual([]);
    rmSync(tmp, { recursive: true, force: true });
  });

  /** A fresh context built until its record exists: cold build, then the all-hit one that records. */
  function primed(name: string, extra: string[] = []): { dir: string; first: ReturnType<typeof build> } {
    // Contents of its own: the cache is content-addressed, so a copy of another test's context would hit at once.
    const dir = writeContext(tmp, name, containerfile, { 'src/a.txt': `alpha ${name}\n`, 'src/b.txt': 'beta\n' });
    settle();
    const first = build(dir, extra);
    expect(first.replayed).toBe(false);
    const second = build(dir, extra);
    expect(second.replayed).toBe(false);
    expect(second.stderr).toMatch(/4 cached\/4 steps/);
    return { dir, first: second };
  }

  it('answers an exact repeat without Node: same image, same output, last use and build record updated', () => {
    const before = records().length;
    const { dir, first } = primed('exact');
    expect(records().length).toBe(before + 1);
    const entriesBefore = JSON.parse(obox(['--root', root, 'cache', 'ls', '--format', 'json']).stdout) as Array<{ key: string; lastUsedAt: string }>;
    const recordFile = readdirSync(path.join(root, 'cache-v1', 'builds')).map((f) => path.join(root, 'cache-v1', 'builds', f));
    const recordTimes = recordFile.map((f) => statSync(f).mtimeMs);
    const r = build(dir);
    expect(r.replayed, r.why).toBe(true);
    expect(r.stdout).toBe(first.stdout);
    expect(timeless(r.stderr)).toBe(timeless(first.stderr));
    expect(r.stderr).toMatch(/^#\d+ CACHED$/m);
    // Entries' last use moved on; the build record was rewritten.
    const entriesAfter = JSON.parse(obox(['--root', root, 'cache', 'ls', '--format', 'json']).stdout) as Array<{ key: string; lastUsedAt: string }>;
    const used = (list: typeof entriesBefore) => new Map(list.map((e) => [e.key, e.lastUsedAt]));
    const a = used(entriesBefore);
    const changed = [...used(entriesAfter)].filter(([k, t]) => a.has(k) && t !== a.get(k));
    expect(changed.length).toBeGreaterThan(0);
    expect(recordFile.map((f) => statSync(f).mtimeMs).some((t, i) => t > recordTimes[i]!)).toBe(true);
    const why = JSON.parse(obox(['--root', root, 'cache', 'why', '--format', 'json', dir]).stdout) as { lastBuild: { at: string; steps: Array<{ hit: boolean }> } };
    expect(why.lastBuild.steps.every((s) => s.hit)).toBe(true);
    expect(Date.parse(why.lastBuild.at)).toBeGreaterThan(Math.max(...recordTimes));
    // No temp item was left behind by the replay.
    expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
  }, 120_000);

  it('runs the build in Node when a context file changed, and the build sees the change', () => {
    const { dir, first } = primed('changed');
    appendFileSync(path.join(dir, 'src', 'a.txt'), 'more\n');
    const r = build(dir);
    expect(r.replayed).toBe(false);
    expect(r.why).toContain(path.join('src', 'a.txt'));
    expect(r.stdout).not.toBe(first.stdout);
    expect(r.stderr).toMatch(/COPY src\/ \/src\/\n#\d+ DONE/);
  }, 120_000);

  it('runs the build in Node when a file was added, or the Containerfile changed', () => {
    const { dir } = primed('added');
    writeFileSync(path.join(dir, 'src', 'c.txt'), 'gamma\n');
    const added = build(dir);
    expect(added.replayed).toBe(false);
    expect(added.stderr).toMatch(/#\d+ DONE/);
    settle();
    build(dir);
    expect(build(dir).replayed).toBe(true);
    appendFileSync(path.join(dir, 'Containerfile'), 'LABEL x=y\n');
    const edited = build(dir);
    expect(edited.replayed).toBe(false);
    expect(edited.why).toContain('Containerfile');
  }, 120_000);

  it('runs the build in Node when the invocation or its environment differs', () => {
    const { dir } = primed('invocation');
    expect(build(dir).replayed).toBe(true);
    expect(build(dir, ['--build-arg', 'X=1']).replayed).toBe(false);
    expect(build(dir, [], { env: { SOME_UNRELATED_VARIABLE: 'x' } }).replayed).toBe(false);
    // Where the store is: OBOX_ROOT instead of --root is another invocation, with its own record.
    const env = { OBOX_ROOT: root };
    expect(build(dir, [], { env, root: null }).replayed).toBe(false);
    expect(build(dir, [], { env, root: null }).replayed).toBe(true);
  }, 120_000);

  it('runs the build in Node after the store changed: names, pruned entries, leftovers of a killed build', () => {
    const { dir } = primed('store-changes');
    expect(build(dir).replayed).toBe(true);
    expect(obox(['--root', root, 'tag', 'busybox', 'busybox:other']).code).toBe(0);
    const renamed = build(dir);
    expect(renamed.replayed).toBe(false);
    expect(renamed.why).toContain('index.json');
    build(dir);
    expect(build(dir).replayed).toBe(true);
    mkdirSync(path.join(root, 'tmp', 'build-999999-leftover'));
    const leftover = build(dir);
    expect(leftover.replayed).toBe(false);
    expect(leftover.why).toContain('temp items');
    expect(existsSync(path.join(root, 'tmp', 'build-999999-leftover'))).toBe(false); // Node recovered it
    expect(build(dir).replayed).toBe(true);
    expect(obox(['--root', root, 'cache', 'prune']).code).toBe(0);
    expect(records()).toEqual([]);
    const rebuilt = build(dir);
    expect(rebuilt.replayed).toBe(false);
    expect(rebuilt.stderr).toMatch(/#\d+ DONE/);
  }, 180_000);

  it('never replays what it cannot repeat: outputs, --iidfile, files changed just before the build', () => {
    const { dir } = primed('outputs');
    const tar = path.join(tmp, 'out.tar');
    for (let i = 0; i < 3; i++) expect(build(dir, ['-o', tar]).replayed).toBe(false);
    expect(existsSync(tar)).toBe(true);
    const iid = path.join(tmp, 'iid');
    for (let i = 0; i < 3; i++) expect(build(dir, ['--iidfile', iid]).replayed).toBe(false);
    expect(readFileSync(iid, 'utf8')).toMatch(/^sha256:/);
    // Racy: a file written within the last second may change again unseen: no record then.
    const fresh = writeContext(tmp, 'racy', containerfile, { 'src/a.txt': 'x\n' });
    const n = records().length;
    build(fresh);
    build(fresh);
    expect(records().length).toBe(n);
  }, 180_000);

  it('falls back to Node on a damaged record, and the build is still right', () => {
    const { dir, first } = primed('damaged');
    const newest = records()
      .map((f) => path.join(root, 'cache-v1', 'replay', f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
    const text = readFileSync(newest);
    writeFileSync(newest, text.subarray(0, Math.floor(text.length / 2)));
    const r = build(dir);
    expect(r.replayed).toBe(false);
    expect(r.stdout).toBe(first.stdout);
    expect(build(dir).replayed).toBe(true);
  }, 120_000);

  it('runs every other command in Node', () => {
    const r = launch(['images']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('busybox');
    expect(launch(['--version'], { root: null }).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
