/**
 * `obox cache ls|du|inspect|prune|verify` through the built CLI, on stores made with the library
 * (test/cache/cache-fixtures.ts). Rebuild dist/ first: `npx tsc -p tsconfig.build.json`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheRow } from '../../src/cache/cache-list.js';
import type { DuReport } from '../../src/cache/cache-du.js';
import type { PruneReport } from '../../src/cache/prune.js';
import { verifyStore, type VerifyReport } from '../../src/cache/verify.js';
import type { Digest } from '../../src/image/digest.js';
import { buildLayer, cacheMount, DAY, duBytes, entry, fixture, HOUR, image, unpackedLayer, type Fixture } from '../cache/cache-fixtures.js';
import { obox, repoRoot } from '../helpers/cli.js';

let f: Fixture;
beforeEach(async () => {
  f = await fixture('obox-cli-cache-');
});
afterEach(() => f.cleanup());

const run = (...args: string[]): ReturnType<typeof obox> => obox(['--root', f.root, ...args]);

/** A one-line error on stderr, no stack trace, and the exit code. */
function expectOneLineError(r: ReturnType<typeof obox>, code: number, message: RegExp): void {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
  expect(lines.filter((l) => !l.startsWith('hint: '))).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

async function smallStore(): Promise<{ keys: string[] }> {
  const now = Date.now();
  const base = await unpackedLayer(f, { 'bin/sh': 'sh'.repeat(2000) });
  const top = await buildLayer(f, { 'app/main': 'main'.repeat(3000) }, { blob: true });
  const mid = await buildLayer(f, { 'build/obj.o': Buffer.alloc(40_000, 1) });
  await image(f, [base, top], ['shop/web:2']);
  const e1 = await entry(f, { n: 1, layer: mid, lastUsed: now - 3 * DAY, stage: 'build', text: 'RUN make   all', cacheMounts: ['ccache'] });
  const e2 = await entry(f, { n: 2, layer: top, lastUsed: now - HOUR, stage: 'final', parent: { kind: 'step', key: e1.key }, text: 'COPY --from=build /out /app' });
  await cacheMount(f, 'ccache', 20_000, now - 3 * DAY);
  return { keys: [e1.key, e2.key] };
}

describe('obox cache ls', () => {
  it('prints a table of steps and cache mounts, and the same rows as JSON', async () => {
    const { keys } = await smallStore();
    const r = run('cache', 'ls');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TYPE\s+SIZE\s+SHARED\s+LAST USED\s+CREATED\s+STAGE\s+SOURCE\s+IMAGES\s+MOUNTS\s+STEP$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(new RegExp(`^${keys[1]!.slice(7, 19)}\\s+step\\s+\\S+\\s+\\S+\\s+1 hour ago\\s+2 hours ago\\s+final\\s+/src/app/Containerfile:3\\s+shop/web:2\\s+COPY --from=build /out /app$`));
    expect(lines[2]).toMatch(new RegExp(`^${keys[0]!.slice(7, 19)}\\s+step\\s+.*3 days ago.*build.*ccache\\s+RUN make all$`));
    expect(lines[3]).toMatch(/^ccache\s+cache-mount\s+\S+\s+0B\s+3 days ago\s+\(cache mount, used by 1 step\)$/);

    const j = run('cache', 'ls', '--format', 'json');
    expect(j.code).toBe(0);
    const rows = JSON.parse(j.stdout) as CacheRow[];
    expect(rows.map((x) => (x.type === 'step' ? x.key : x.id))).toEqual([keys[1], keys[0], 'ccache']);
    expect(rows[0]).toMatchObject({ type: 'step', images: ['docker.io/shop/web:2'], stage: 'final', line: 3 });
    expect(rows[0]!.size).toBeGreaterThan(0);
    expect(rows[0]!.sharedSize).toBe(rows[0]!.size);
  });

  it('filters, and refuses a bad filter with a one-line usage error', async () => {
    const { keys } = await smallStore();
    const j = run('cache', 'ls', '--format', 'json', '--filter', 'until=1d', '--filter', 'type=step');
    expect((JSON.parse(j.stdout) as CacheRow[]).map((x) => (x.type === 'step' ? x.key : x.id))).toEqual([keys[0]]);
    const img = run('cache', 'ls', '--format', 'json', '--filter', 'image=shop/web:2');
    expect((JSON.parse(img.stdout) as CacheRow[]).map((x) => (x.type === 'step' ? x.key : x.id))).toEqual([keys[1]]);
    expectOneLineError(run('cache', 'ls', '--filter', 'colour=blue'), 2, /unknown filter key "colour"/);
    expectOneLineError(run('cache', 'ls', '--filter', 'until=yesterday'), 2, /filter until: "yesterday" is not a duration/);
  });

  it('an empty store lists just the header; output to a closed pipe ends quietly', async () => {
    const r = run('cache', 'ls');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(run('cache', 'ls', '--format', 'json').stdout)).toEqual([]);
  });
});

describe('obox cache du', () => {
  it('totals that match du -sx -B1 of the store, as a table and as JSON, per item with --verbose', async () => {
    await smallStore();
    run('cache', 'du'); // first sight measures
    const j = run('cache', 'du', '--format', 'json');
    expect(j.code).toBe(0);
    const report = JSON.parse(j.stdout) as DuReport;
    expect(report.total).toBe(duBytes(f.root));
    expect(report.categories.map((c) => c.category)).toEqual(['blobs', 'layer dirs', 'cache index', 'layer metadata', 'cache mounts', 'build records', 'tmp', 'other']);
    const t = run('cache', 'du');
    expect(t.stdout).toMatch(/^TYPE\s+SIZE\s+IN USE BY IMAGES\s+RECLAIMABLE\s+ITEMS$/m);
    expect(t.stdout).toContain(`Total:          `);
    expect(t.stdout).toContain(`(${report.total} bytes)`);
    const v = run('cache', 'du', '--verbose');
    expect(v.stdout).toMatch(/^layer dirs\s+[0-9a-f]{12}\s+\S+\s+no\s+shop\/web:2, 1 cache entry$/m);
    expect(v.stdout).toMatch(/^cache mounts\s+ccache\s+\S+\s+yes\s+1 cache entry$/m);
  });
});

describe('obox cache inspect', () => {
  it('shows an entry and its inputs by a key prefix, as text and JSON', async () => {
    const { keys } = await smallStore();
    const r = run('cache', 'inspect', keys[1]!.slice(7, 17));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Key:            ${keys[1]}`);
    expect(r.stdout).toContain('Step:           COPY --from=build /out /app');
    expect(r.stdout).toContain('Images:         shop/web:2');
    expect(r.stdout).toMatch(/Layer blob:\s+sha256:[0-9a-f]{64} \(\S+\)/);
    expect(r.stdout).toContain('Inputs that made the key:');
    expect(r.stdout).toContain(`  Parent:       step ${keys[0]} (RUN make all)`);
    expect(r.stdout).toContain('  Instruction:  {"type":"run","n":2}');
    expect(r.stdout).toContain('  Build args:   N=2');
    expect(r.stdout).toContain('  Platform:     linux/amd64');
    const j = JSON.parse(run('cache', 'inspect', `sha256:${keys[0]!.slice(7, 20)}`, '--format', 'json').stdout) as { entry: { key: string; inputs: unknown } };
    expect(j.entry.key).toBe(keys[0]);
    expect(j.entry.inputs).toMatchObject({ parent: { kind: 'scratch' }, args: { N: '1' } });
  });

  it('unknown, too short and ambiguous keys are one-line errors', async () => {
    const e = await entry(f, { n: 1, layer: null });
    for (const tail of ['1', '2']) await f.index.record(`sha256:abcdef01${tail.repeat(56)}`, { ...e, key: `sha256:abcdef01${tail.repeat(56)}` });
    expectOneLineError(run('cache', 'inspect', '0123456789'), 1, /no cache entry matches 0123456789/);
    expectOneLineError(run('cache', 'inspect', 'abc'), 2, /"abc" is not a cache key or a prefix of one/);
    expectOneLineError(run('cache', 'inspect', 'abcdef01'), 2, /abcdef01 matches 2 cache entries/);
  });
});

describe('obox cache prune', () => {
  it('--dry-run removes nothing; a real run removes and reports what it freed', async () => {
    const { keys } = await smallStore();
    run('cache', 'du');
    const before = duBytes(f.root);
    const dry = run('cache', 'prune', '--dry-run', '--max-age', '1d', '--format', 'json');
    expect(dry.code).toBe(0);
    const planned = JSON.parse(dry.stdout) as PruneReport;
    expect(planned.dryRun).toBe(true);
    expect(planned.entries.map((e) => e.key)).toEqual([keys[0]]);
    expect(planned.cacheMounts.map((m) => m.id)).toEqual(['ccache']);
    expect(duBytes(f.root)).toBe(before);
    const real = run('cache', 'prune', '--max-age', '1d', '-v');
    expect(real.code).toBe(0);
    expect(real.stdout).toContain(`Removed cache entry ${keys[0]!.slice(7, 19)}  RUN make all`);
    expect(real.stdout).toMatch(/^Removed: 1 cache entries, 1 layer dirs, 1 cache mounts$/m);
    expect(real.stdout).toMatch(/^Freed: \S+; build cache \S+ → \S+$/m);
    expect(existsSync(f.index.entryPath(keys[0]!))).toBe(false);
    expect(existsSync(f.index.entryPath(keys[1]!))).toBe(true);
  });

  it('--keep-storage takes sizes with units; bad sizes, durations and counts are one-line usage errors', async () => {
    await smallStore();
    const r = run('cache', 'prune', '--keep-storage', '10GiB', '--format', 'json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as PruneReport).entries).toEqual([]);
    // --max-used is the same limit; the smaller of the two counts. 1 byte: everything but images goes.
    const tight = JSON.parse(run('cache', 'prune', '--max-used', '1', '--keep-storage', '1.5G', '--dry-run', '--format', 'json').stdout) as PruneReport;
    expect(tight.entries).toHaveLength(2);
    expect(tight.cacheBytesAfter).toBeLessThan(tight.cacheBytesBefore);
    expectOneLineError(run('cache', 'prune', '--keep-storage', 'lots'), 2, /--keep-storage: "lots" is not a size/);
    expectOneLineError(run('cache', 'prune', '--min-free', '5 parsecs'), 2, /--min-free: "5 parsecs" is not a size/);
    expectOneLineError(run('cache', 'prune', '--max-age', '7 days'), 2, /--max-age: "7 days" is not a duration/);
    expectOneLineError(run('cache', 'prune', '--keep-last', 'few'), 2, /--keep-last: "few" is not a whole number/);
  });

  it('--help documents --all and what is never removed', () => {
    const r = obox(['cache', 'prune', '--help']);
    expect(r.stdout).toContain('-a, --all');
    expect(r.stdout).toMatch(/never\s+their blobs/);
    expect(r.stdout).toContain('Never removed');
  });
});

describe('obox cache verify', () => {
  it('exits 0 on a healthy store and 3 while problems remain; --repair fixes what it can', async () => {
    const l = await buildLayer(f, { data: 'd'.repeat(4000) }, { blob: true });
    await entry(f, { n: 1, layer: l });
    const ok = run('cache', 'verify');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('No problems found.');
    const fh = await open(f.store.paths.blob(l.digest as Digest), 'r+');
    await fh.write(Buffer.from('X'), 0, 1, 30);
    await fh.close();
    const bad = run('cache', 'verify');
    expect(bad.code).toBe(3);
    expect(bad.stdout).toMatch(new RegExp(`^PROBLEM  blob ${l.digest}: content hashes to sha256:`, 'm'));
    expect(bad.stdout).toContain('(run with --repair to fix what can be fixed)');
    expect(bad.stderr.trim()).toBe('error: cache verify: 2 problems remain');
    const json = JSON.parse(run('cache', 'verify', '--format', 'json').stdout) as VerifyReport;
    expect(json.remaining).toBe(2);
    const repaired = run('cache', 'verify', '--repair');
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toMatch(/^REPAIRED blob /m);
    expect(repaired.stdout).toContain('All problems repaired.');
    expect(run('cache', 'verify').code).toBe(0);
  });
});

describe('obox cache prune killed with SIGKILL', () => {
  it('leaves a store that verifies clean, again and again, until a prune completes', async () => {
    const now = Date.now();
    const layers = [];
    for (let i = 0; i < 60; i++) {
      const files: Record<string, Buffer> = {};
      for (let j = 0; j < 25; j++) files[`d${i}/f${j}`] = Buffer.alloc(2000 + i * 10 + j, i);
      layers.push(await buildLayer(f, files, { blob: i % 3 === 0 }));
    }
    await image(f, [layers[0]!, layers[3]!], ['keep:1']);
    for (let i = 0; i < 300; i++) await entry(f, { n: i, layer: layers[i % 60]!, lastUsed: now - (i + 1) * HOUR });
    await cacheMount(f, 'm1', 50_000, now - 20 * DAY);
    const bin = path.join(repoRoot, 'bin', 'obox.js');
    let finished = false;
    const left: number[] = [];
    for (let round = 0; round < 30 && !finished; round++) {
      const child = spawn(process.execPath, [bin, '--root', f.root, 'cache', 'prune', '--all'], { stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // Kill later each round: first during start-up, then during the removals.
      await new Promise((r) => setTimeout(r, 100 + round * 40));
      child.kill('SIGKILL');
      finished = (await exited) === 0;
      if (!finished) left.push((await f.index.list()).length);
      const v = await verifyStore(f.store);
      expect(v.problems, `round ${round}`).toEqual([]);
    }
    // How far each killed run got (entries left of 300): kills landed before and during removals.
    console.log(`cache prune killed ${left.length} times; entries left after each: ${left.join(', ')}`);
    const last = run('cache', 'prune', '--all');
    expect(last.code).toBe(0);
    expect(await f.index.list()).toEqual([]);
    expect((await verifyStore(f.store)).problems).toEqual([]);
    // The image's blobs stayed.
    for (const l of [layers[0]!, layers[3]!]) expect(existsSync(f.store.paths.blob(l.digest as Digest))).toBe(true);
  }, 120_000);
});
