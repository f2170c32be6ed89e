import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { obox, repoRoot } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'obox-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('obox CLI basics', () => {
  it('--version prints the package version', () => {
    const r = obox(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('--help lists the global options and commands', () => {
    const r = obox(['--help']);
    expect(r.code).toBe(0);
    for (const s of ['--root', '--debug', '--log-level', 'parse', 'Exit codes']) expect(r.stdout).toContain(s);
  });

  it('an unknown command or option is a usage error (exit 2)', () => {
    expect(obox(['frobnicate']).code).toBe(2);
    expect(obox(['parse', '--no-such-flag']).code).toBe(2);
    expect(obox(['--log-level', 'loud', 'parse']).code).toBe(2);
  });
});

describe('obox parse', () => {
  it('prints a readable listing of stages and instructions', () => {
    const r = obox(['parse', '-f', 'containerfiles/examples/c-static.Containerfile']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('2 stages');
    expect(r.stdout).toContain('stage 0 "build"');
    expect(r.stdout).toContain('COPY --from=build /hello /hello');
  });

  it('--json gives directives, stages and a flat instruction list with BuildKit-shaped args', () => {
    const r = obox(['parse', '--json', '-f', 'containerfiles/examples/c-static.Containerfile']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.directives).toEqual([{ name: 'syntax', value: 'docker/dockerfile:1', line: 1 }]);
    expect(out.stages.map((s: { name?: string }) => s.name)).toEqual(['build', undefined]);
    const run = out.instructions.find((i: { keyword: string }) => i.keyword === 'run');
    expect(run).toMatchObject({ startLine: 6, endLine: 8, flags: ['--network=host'], json: false });
    expect(run.args).toEqual([
      'apt-get update  && apt-get install -y --no-install-recommends gcc libc6-dev  && rm -rf /var/lib/apt/lists/*',
    ]);
    const copy = out.instructions.find((i: { keyword: string }) => i.keyword === 'copy');
    expect(copy.heredocs[0]).toMatchObject({ name: 'EOF', expand: true, startLine: 11, endLine: 13 });
    const entry = out.instructions.at(-1);
    expect(entry).toMatchObject({ keyword: 'entrypoint', json: true, args: ['/hello'] });
  });

  it('finds Containerfile, then Dockerfile, in the context directory', () => {
    const ctx = path.join(dir, 'ctx');
    rmSync(ctx, { recursive: true, force: true });
    mkdirSync(ctx);
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM dockerfile\n');
    expect(obox(['parse', '--json', ctx]).stdout).toContain('"dockerfile"');
    writeFileSync(path.join(ctx, 'Containerfile'), 'FROM containerfile\n');
    expect(obox(['parse', '--json', ctx]).stdout).toContain('"containerfile"');
  });

  it('-f - reads standard input', () => {
    const r = obox(['parse', '--json', '-f', '-'], { input: 'FROM stdin-image\nRUN true\n' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).file).toBe('<stdin>');
  });

  it('a syntax error exits 1 with FILE:LINE:COL, the line, a caret and a hint; no stack trace', () => {
    const file = path.join(dir, 'bad.Containerfile');
    writeFileSync(file, 'FROM busybox\nENV A=1 B\n');
    const r = obox(['parse', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:2:9:`);
    expect(r.stderr).toContain('ENV A=1 B');
    expect(r.stderr).toMatch(/\n\s+\|\s+\^/);
    expect(r.stderr).toContain('hint:');
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('an unknown instruction suggests the closest one', () => {
    const r = obox(['parse', '-f', '-'], { input: 'FROM busybox\nCOPPY a b\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('<stdin>:2:1:');
    expect(r.stderr).toMatch(/did you mean COPY\?/i);
  });

  it('an empty file or comments only is an error', () => {
    expect(obox(['parse', '-f', '-'], { input: '' }).code).toBe(1);
    const r = obox(['parse', '-f', '-'], { input: '# nothing\n\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no instructions');
  });

  it('a missing file exits 1 with a clear message', () => {
    const r = obox(['parse', '-f', path.join(dir, 'nope')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Containerfile not found');
    const r2 = obox(['parse', path.join(dir, 'empty-context-that-does-not-exist')]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('no Containerfile or Dockerfile');
  });

  it('--debug shows a stack trace for errors', () => {
    const r = obox(['--debug', 'parse', '-f', '-'], { input: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/at .*\.js:\d+/);
  });

  it('parses every Containerfile in the catalog', () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const n of readdirSync(d)) {
        const p = path.join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (n.endsWith('Containerfile')) files.push(p);
      }
    };
    walk(path.join(repoRoot, 'containerfiles'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(obox(['parse', '-f', f]).code, f).toBe(0);
  });
});
