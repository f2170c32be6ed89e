/**
 * walkContext on real temp directories: what is sent, sorted; symlinks kept as entries; parents
 * of re-included files kept; pruning of excluded directories; and a property test that pruning
 * never changes the result compared with checking every path.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes, OboxError } from '../../src/errors.js';
import {
  IgnoreMatcher,
  compareCodePoints,
  listIncludedFiles,
  parseIgnoreFile,
  walkContext,
  type ContextEntry,
} from '../../src/context/ignore.js';

// Count directory reads, to see pruning. The real readdir still does the work.
const readdirCalls: string[] = [];
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    readdir: ((...args: Parameters<typeof real.readdir>) => {
      readdirCalls.push(String(args[0]));
      return real.readdir(...args);
    }) as typeof real.readdir,
  };
});

function makeTree(root: string, files: Record<string, string | { symlink: string } | null>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    if (content === null) {
      mkdirSync(p, { recursive: true });
      continue;
    }
    mkdirSync(path.dirname(p), { recursive: true });
    if (typeof content === 'string') writeFileSync(p, content);
    else symlinkSync(content.symlink, p);
  }
}

const entries = (list: ContextEntry[]): string[] => list.map((e) => (e.kind === 'file' ? e.path : `${e.path} (${e.kind})`));

describe('walkContext', () => {
  let ctx: string;
  beforeEach(() => {
    ctx = mkdtempSync(path.join(tmpdir(), 'obox-walk-'));
    readdirCalls.length = 0;
  });
  afterEach(() => {
    rmSync(ctx, { recursive: true, force: true });
  });

  it('returns every entry, sorted, when nothing is ignored', async () => {
    makeTree(ctx, { 'b.txt': 'b', 'a/z': 'z', 'a/y/x': 'x', 'a-b': '', empty: null });
    expect(entries(await walkContext(ctx, IgnoreMatcher.none))).toEqual([
      'a (dir)',
      'a-b',
      'a/y (dir)',
      'a/y/x',
      'a/z',
      'b.txt',
      'empty (dir)',
    ]);
  });

  it('applies a realistic ignore file', async () => {
    makeTree(ctx, {
      'Containerfile': 'FROM scratch',
      '.dockerignore': '',
      '.git/HEAD': 'ref',
      '.git/objects/ab/cdef': 'blob',
      'README.md': '',
      'CHANGELOG.md': '',
      'docs/guide.md': '',
      'docs/README.md': '',
      'docs/img/logo.png': '',
      'node_modules/left-pad/index.js': '',
      'node_modules/left-pad/package.json': '',
      'src/main.go': '',
      'src/main_test.go': '',
      'src/util/strings.go': '',
      'src/util/strings_test.go': '',
      'tmp/': null,
      'link-to-src': { symlink: 'src' },
      'src/link-to-missing': { symlink: '../nowhere' },
    });
    const matcher = parseIgnoreFile(
      [
        '# dependencies and VCS',
        '.git',
        'node_modules/',
        '*.md',
        '!README.md',
        'docs',
        '!docs/README.md',
        '**/*_test.go',
        'tmp',
        'Containerfile',
        '.dockerignore',
      ].join('\n'),
    );
    expect(entries(await walkContext(ctx, matcher))).toEqual([
      'README.md',
      'docs (dir)', // excluded, but kept as the parent of a re-included file
      'docs/README.md',
      'link-to-src (symlink)', // not followed: src/* is not listed again under it
      'src (dir)',
      'src/link-to-missing (symlink)',
      'src/main.go',
      'src/util (dir)',
      'src/util/strings.go',
    ]);
    // .git, node_modules and docs/img were never read: nothing could be re-included inside them.
    expect(readdirCalls.map((d) => path.relative(ctx, d)).sort()).toEqual(['', 'docs', 'src', 'src/util']);
  });

  it('never follows a symlink to a directory, even one outside the context', async () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'obox-walk-outside-'));
    try {
      writeFileSync(path.join(outside, 'secret'), 's');
      makeTree(ctx, { 'out': { symlink: outside }, 'self': { symlink: '.' } });
      expect(entries(await walkContext(ctx, IgnoreMatcher.none))).toEqual(['out (symlink)', 'self (symlink)']);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('an ignore rule on a symlink excludes the link, not its target', async () => {
    makeTree(ctx, { 'real/f': '', 'link': { symlink: 'real' } });
    expect(entries(await walkContext(ctx, parseIgnoreFile('link')))).toEqual(['real (dir)', 'real/f']);
    expect(entries(await walkContext(ctx, parseIgnoreFile('real')))).toEqual(['link (symlink)']);
  });

  it('keeps an included empty directory and drops an excluded one', async () => {
    makeTree(ctx, { 'keep/': null, 'drop/': null, 'drop2/sub/': null });
    expect(entries(await walkContext(ctx, parseIgnoreFile('drop*\n!drop2/nothing')))).toEqual(['keep (dir)']);
  });

  it('an allow-list (* then !) enters only what it needs', async () => {
    makeTree(ctx, {
      'src/a.ts': '',
      'src/deep/b.ts': '',
      'package.json': '',
      'node_modules/x/y.js': '',
      'coverage/lcov.info': '',
    });
    const m = parseIgnoreFile('*\n!src\n!package.json');
    expect(entries(await walkContext(ctx, m))).toEqual(['package.json', 'src (dir)', 'src/a.ts', 'src/deep (dir)', 'src/deep/b.ts']);
    expect(readdirCalls.map((d) => path.relative(ctx, d)).sort()).toEqual(['', 'src', 'src/deep']);
  });

  it('a glob ! rule makes the walker enter excluded directories to look', async () => {
    makeTree(ctx, { 'vendor/a/keep.go': '', 'vendor/a/x.c': '', 'vendor/b.c': '', 'main.go': '' });
    const m = parseIgnoreFile('vendor\n!vendor/**/*.go');
    expect(entries(await walkContext(ctx, m))).toEqual(['main.go', 'vendor (dir)', 'vendor/a (dir)', 'vendor/a/keep.go']);
  });

  it('lists fifos as "other"', async () => {
    try {
      execFileSync('mkfifo', [path.join(ctx, 'pipe')]);
    } catch {
      return; // no mkfifo here
    }
    expect(await walkContext(ctx, IgnoreMatcher.none)).toEqual([{ path: 'pipe', kind: 'other' }]);
  });

  it('listIncludedFiles returns the non-directory paths', async () => {
    makeTree(ctx, { 'a/b': '', 'a/c/': null, 'l': { symlink: 'a' }, 'z': '' });
    expect(await listIncludedFiles(ctx, parseIgnoreFile('z'))).toEqual(['a/b', 'l']);
  });

  it('sorts by code point, so names above U+FFFF come after U+E000–U+FFFF', async () => {
    makeTree(ctx, { '\u{1F600}': '', '\uFF21': '', 'a/b': '' });
    expect(await listIncludedFiles(ctx, IgnoreMatcher.none)).toEqual(['a/b', '\uFF21', '\u{1F600}']);
  });

  it('fails clearly when the context is missing or not a directory', async () => {
    const missing = await walkContext(path.join(ctx, 'nope'), IgnoreMatcher.none).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OboxError);
    expect((missing as OboxError).code).toBe(ErrorCodes.notFound);
    writeFileSync(path.join(ctx, 'file'), '');
    const notDir = await walkContext(path.join(ctx, 'file'), IgnoreMatcher.none).catch((e: unknown) => e);
    expect((notDir as OboxError).code).toBe(ErrorCodes.usage);
  });
});

describe('compareCodePoints', () => {
  it('orders like UTF-8 bytes', () => {
    const words = ['b', 'a/b', 'a-b', 'a', '\uFF21', '\u{1F600}', 'ab', ''];
    const byBytes = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...words].sort(compareCodePoints)).toEqual(byBytes);
  });
});

describe('pruning never changes the result (property)', () => {
  let ctx: string;
  const dirs: string[] = [];
  const nonDirs: string[] = [];

  // A fixed tree where names repeat across levels and as both files and directories.
  beforeAll(() => {
    ctx = mkdtempSync(path.join(tmpdir(), 'obox-walk-prop-'));
    const build = (rel: string, depth: number): void => {
      for (const f of depth === 3 ? ['a', 'b', 'x.go', 'keep'] : ['x.go', 'keep', 'ax']) {
        const p = rel === '' ? f : `${rel}/${f}`;
        writeFileSync(path.join(ctx, p), '');
        nonDirs.push(p);
      }
      if (depth === 3) return;
      for (const d of ['a', 'b', 'ab']) {
        const p = rel === '' ? d : `${rel}/${d}`;
        mkdirSync(path.join(ctx, p));
        dirs.push(p);
        build(p, depth + 1);
      }
    };
    build('', 0);
  });
  afterAll(() => {
    rmSync(ctx, { recursive: true, force: true });
  });

  /** What walkContext must return, by checking every path with matches(). */
  function bruteForce(m: IgnoreMatcher): string[] {
    const kept = new Set<string>();
    for (const p of [...nonDirs, ...dirs]) {
      if (m.matches(p)) continue;
      kept.add(p);
      // The parents of a kept entry are kept (excluded or not).
      for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) kept.add(p.slice(0, i));
    }
    return [...kept].sort(compareCodePoints);
  }

  const segment = fc.constantFrom('a', 'b', 'ab', 'x.go', 'keep', '*', '**', 'a*', '?', '[ab]', '*.go', '[^a]*');
  const rule = fc
    .tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 4 }), fc.constantFrom('', '/', './'), fc.constantFrom('', '/'))
    .map(([neg, segs, lead, trail]) => `${neg ? '!' : ''}${lead}${segs.join('/')}${trail}`);

  it('walkContext equals matching every path', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rule, { minLength: 1, maxLength: 6 }), async (lines) => {
        const m = parseIgnoreFile(lines.join('\n'));
        const walked = (await walkContext(ctx, m)).map((e) => e.path);
        expect(walked).toEqual(bruteForce(m));
        // And canSkipDir is only true where nothing below survives.
        for (const d of dirs) {
          if (m.canSkipDir(d)) expect(walked.filter((p) => p === d || p.startsWith(`${d}/`))).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });
});
