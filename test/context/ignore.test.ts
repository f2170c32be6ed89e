/**
 * Ignore files as a whole: Docker's line preprocessing (BuildKit dockerignore.ReadAll), rule
 * order and parent matching (patternmatcher MatchesOrParentMatches), the examples from the
 * Dockerfile reference's .dockerignore section, errors, and walker pruning (canSkipDir).
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, OboxError } from '../../src/errors.js';
import { IgnoreFileError, IgnoreMatcher, parseIgnoreFile, readIgnoreLines } from '../../src/context/ignore.js';

const matcher = (lines: string[]): IgnoreMatcher => parseIgnoreFile(lines.join('\n'));
const excluded = (lines: string[], path: string): boolean => matcher(lines).matches(path);

function ignoreError(text: string, source = '/ctx/.dockerignore'): IgnoreFileError {
  try {
    parseIgnoreFile(text, source);
  } catch (e) {
    expect(e).toBeInstanceOf(IgnoreFileError);
    return e as IgnoreFileError;
  }
  throw new Error('expected an IgnoreFileError');
}

describe('readIgnoreLines (Docker preprocessing)', () => {
  it('matches BuildKit ReadAll on its own test input', () => {
    const content = 'test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ';
    expect(readIgnoreLines(content).map((l) => l.pattern)).toEqual([
      'test1',
      'test2',
      'a/file/here',
      'lastfile',
      '!inverted/abs/path',
      '!',
      '!',
    ]);
  });

  it('keeps 1-based line numbers of the original file', () => {
    expect(readIgnoreLines('# c\n\na\n  \nb').map((l) => [l.pattern, l.line])).toEqual([
      ['a', 3],
      ['b', 5],
    ]);
  });

  it.each([
    ['  spaced  ', 'spaced'],
    ['\tfoo\t', 'foo'],
    ['./a//b/../c', 'a/c'],
    ['foo/', 'foo'],
    ['/foo', 'foo'],
    ['//foo//', 'foo'],
    ['/', '/'],
    ['.', '.'],
    ['./', '.'],
    ['a/..', '.'],
    ['../x', '../x'],
    ['/../x', 'x'],
    ['!  ./docs/../README.md ', '!README.md'],
    ['!/abs', '!abs'],
    [' #not-a-comment', '#not-a-comment'],
    ['\\#escaped', '\\#escaped'],
  ])('%j → %j', (line, want) => {
    expect(readIgnoreLines(line).map((l) => l.pattern)).toEqual([want]);
  });

  it('treats only a # in column 1 as a comment', () => {
    expect(readIgnoreLines('#a\n #b\n\t#c').map((l) => l.pattern)).toEqual(['#b', '#c']);
  });

  it('handles CRLF line endings and a UTF-8 BOM on the first line', () => {
    expect(readIgnoreLines('\uFEFF# comment\r\nfoo\r\n!bar\r\n').map((l) => l.pattern)).toEqual(['foo', '!bar']);
    expect(readIgnoreLines('\uFEFFfoo').map((l) => l.pattern)).toEqual(['foo']);
  });
});

describe('Dockerfile reference examples', () => {
  const ref = ['# comment', '*/temp*', '*/*/temp*', 'temp?'];
  it.each([
    ['somedir/temporary.txt', true],
    ['somedir/temp', true],
    ['somedir/temp/inside.txt', true], // a matched directory takes its contents with it
    ['somedir/subdir/temporary.txt', true],
    ['tempa', true],
    ['tempb', true],
    ['temp', false],
    ['tempab', false],
    ['temporary.txt', false],
    ['a/b/c/temp', false],
    ['# comment', false],
  ])('*/temp*, */*/temp*, temp?: %j → %s', (path, want) => {
    expect(excluded(ref, path)).toBe(want);
  });

  it('**/*.go excludes .go files in every directory, including the root', () => {
    const m = matcher(['**/*.go']);
    expect(m.matches('main.go')).toBe(true);
    expect(m.matches('a/b/c.go')).toBe(true);
    expect(m.matches('a/b/c.go.txt')).toBe(false);
    expect(m.matches('gopher')).toBe(false);
  });

  it('*.md then !README.md keeps README.md only', () => {
    const m = matcher(['*.md', '!README.md']);
    expect(m.matches('README.md')).toBe(false);
    expect(m.matches('CHANGES.md')).toBe(true);
    expect(m.matches('docs/guide.md')).toBe(false); // *.md is anchored at the root
  });

  it('the last matching line wins', () => {
    const a = matcher(['*.md', '!README*.md', 'README-secret.md']);
    expect(a.matches('README.md')).toBe(false);
    expect(a.matches('README-secret.md')).toBe(true);
    expect(a.matches('other.md')).toBe(true);
    const b = matcher(['*.md', 'README-secret.md', '!README*.md']);
    expect(b.matches('README-secret.md')).toBe(false);
    expect(b.matches('README.md')).toBe(false);
    expect(b.matches('other.md')).toBe(true);
  });

  it('* then ! lines is an allow-list', () => {
    const m = matcher(['*', '!src', '!package.json']);
    expect(m.matches('src')).toBe(false);
    expect(m.matches('src/index.ts')).toBe(false);
    expect(m.matches('package.json')).toBe(false);
    expect(m.matches('node_modules')).toBe(true);
    expect(m.matches('node_modules/x/index.js')).toBe(true);
    expect(m.matches('README.md')).toBe(true);
  });
});

describe('matching rules', () => {
  it.each<[string, string[], string, boolean]>([
    ['/foo matches foo at the root', ['/foo'], 'foo', true],
    ['/foo matches inside foo', ['/foo'], 'foo/bar', true],
    ['/foo does not match a deeper foo', ['/foo'], 'x/foo', false],
    ['foo is the same as /foo', ['foo'], 'foo/bar', true],
    ['foo does not match a deeper foo', ['foo'], 'x/foo', false],
    ['foo/ matches the directory', ['foo/'], 'foo', true],
    ['foo/ matches inside', ['foo/'], 'foo/a/b', true],
    ['foo/ also matches a file named foo (no dir-only rules)', ['foo/'], 'foo', true],
    ['foo/ does not match foobar', ['foo/'], 'foobar', false],
    ['a/**/b: zero dirs', ['a/**/b'], 'a/b', true],
    ['a/**/b: one dir', ['a/**/b'], 'a/x/b', true],
    ['a/**/b: many dirs', ['a/**/b'], 'a/x/y/z/b', true],
    ['a/**/b: below a match', ['a/**/b'], 'a/x/b/c', true],
    ['a/**/b: not b elsewhere', ['a/**/b'], 'b', false],
    ['a/**/b: anchored', ['a/**/b'], 'x/a/b', false],
    ['a/**/b: whole names', ['a/**/b'], 'a/xb', false],
    ['** alone: a file', ['**'], 'file', true],
    ['** alone: deep', ['**'], 'a/b/c', true],
    ['**/ alone', ['**/'], 'a/b', true],
    ['**/foo at the root', ['**/foo'], 'foo', true],
    ['**/foo deep', ['**/foo'], 'a/b/foo', true],
    ['**/foo below', ['**/foo'], 'a/foo/x', true],
    ['**/foo not a suffix of a name', ['**/foo'], 'afoo', false],
    ['dir/** not the dir itself', ['dir/**'], 'dir', false],
    ['dir/** everything inside', ['dir/**'], 'dir/a/b', true],
    ['* does not cross /', ['*.txt'], 'a/b.txt', false],
    ['* matches a parent dir, taking its contents', ['a*'], 'ab/c', true],
    ['? is one character', ['?.txt'], 'a.txt', true],
    ['? is not zero characters', ['?.txt'], '.txt', false],
    ['? does not match /', ['a?b'], 'a/b', false],
    ['[abc] class', ['file[abc]'], 'fileb', true],
    ['[abc] class miss', ['file[abc]'], 'filed', false],
    ['[a-c] range', ['file[a-c]'], 'filec', true],
    ['[^a-c] negation', ['file[^a-c]'], 'filed', true],
    ['[^a-c] negation miss', ['file[^a-c]'], 'fileb', false],
    ['\\* is a literal star', ['a\\*'], 'a*', true],
    ['\\* is not a wildcard', ['a\\*'], 'ab', false],
    ['\\? is a literal question mark', ['a\\?'], 'a?', true],
    ['\\[ is a literal bracket', ['\\[x\\]'], '[x]', true],
    ['\\\\ is a literal backslash', ['a\\\\b'], 'a\\b', true],
    ['\\# escapes a leading #', ['\\#notes'], '#notes', true],
    ['space before # makes a pattern', [' #notes'], '#notes', true],
    ['# in column 1 is a comment', ['#notes'], '#notes', false],
    ['path cleaning', ['./a//b/../c'], 'a/c', true],
    ['path cleaning to the parent', ['a/b/..'], 'a/x', true],
    ['. matches nothing (BuildKit never matches the root)', ['.'], 'anything', false],
    ['./ matches nothing', ['./'], 'x/y', false],
    ['/ matches nothing', ['/'], 'x', false],
    ['.. matches nothing in the context', ['../x'], 'x', false],
    ['.* matches dotfiles', ['.*'], '.git/config', true],
    ['.* does not match plain names', ['.*'], 'git', false],
    ['regexp-special characters are literal', ['a.b+(c)|{d}$'], 'a.b+(c)|{d}$', true],
    ['. is not a wildcard', ['a.b'], 'axb', false],
    ['case-sensitive', ['Makefile'], 'makefile', false],
    ['unicode', ['données/*'], 'données/x', true],
  ])('%s', (_, lines, path, want) => {
    expect(excluded(lines, path)).toBe(want);
  });

  it('excludes a directory, then re-includes a file inside it', () => {
    const m = matcher(['docs', '!docs/README.md']);
    expect(m.matches('docs')).toBe(true);
    expect(m.matches('docs/other.md')).toBe(true);
    expect(m.matches('docs/sub/x')).toBe(true);
    expect(m.matches('docs/README.md')).toBe(false);
  });

  it('re-includes a directory, and with it everything inside (parent matching of ! rules)', () => {
    const m = matcher(['**', '!util/docker/web']);
    expect(m.matches('util/docker/web')).toBe(false);
    expect(m.matches('util/docker/web/foo')).toBe(false);
    expect(m.matches('util/docker')).toBe(true);
    expect(matcher(['**', '!util/docker/web', 'util/docker/web/foo']).matches('util/docker/web/foo')).toBe(true);
  });

  it('a later ! on a parent directory re-includes a file an earlier line excluded', () => {
    expect(excluded(['a/b', '!a'], 'a/b')).toBe(false);
    expect(excluded(['a/b', '!a'], 'a/b/c')).toBe(false);
  });

  it('re-including something a parent excluded still needs the ! rule to match it', () => {
    const m = matcher(['*', '!*.go']);
    expect(m.matches('main.go')).toBe(false);
    expect(m.matches('cmd/main.go')).toBe(true); // `cmd` is excluded by `*`; `*.go` does not match cmd/main.go
  });

  it('!! re-includes a file whose name starts with !', () => {
    const m = matcher(['*', '!!important']);
    expect(m.matches('!important')).toBe(false);
    expect(m.matches('important')).toBe(true);
  });

  it('!. and ! on a cleaned-away pattern have no effect', () => {
    expect(excluded(['*', '!.'], 'x')).toBe(true);
    expect(excluded(['*', '!./'], 'x')).toBe(true);
  });

  it('normalizes the queried path, never excludes the root', () => {
    const m = matcher(['**']);
    expect(m.matches('.')).toBe(false);
    expect(m.matches('')).toBe(false);
    expect(m.matches('./a')).toBe(true);
    expect(matcher(['a/b']).matches('/a//b/')).toBe(true);
    expect(matcher(['a/b']).matches('a/x/../b')).toBe(true);
  });

  it('an empty file or a file of comments excludes nothing', () => {
    expect(parseIgnoreFile('').matches('x')).toBe(false);
    expect(parseIgnoreFile('# only\n\n   \n').matches('x')).toBe(false);
    expect(IgnoreMatcher.none.matches('x')).toBe(false);
    expect(IgnoreMatcher.none.canSkipDir('x')).toBe(false);
  });

  it('exposes the compiled rules', () => {
    const m = matcher(['a', '', '!b/']);
    expect(m.rules.map((r) => [r.pattern, r.negate, r.line])).toEqual([
      ['a', false, 1],
      ['b', true, 3],
    ]);
    expect(m.hasNegations).toBe(true);
  });

  it('evaluate with a parent state agrees with evaluate from scratch', () => {
    const m = matcher(['a*', '!ab/c', 'ab/c/d*', '!**/keep', 'x/**']);
    const paths = ['ab', 'ab/c', 'ab/c/d', 'ab/c/d1/keep', 'ab/c/d1/keep/z', 'x', 'x/y', 'x/y/keep', 'b'];
    const states = new Map<string, ReturnType<IgnoreMatcher['evaluate']>>();
    for (const p of paths) {
      const slash = p.lastIndexOf('/');
      const parent = slash < 0 ? m.root : states.get(p.slice(0, slash));
      const viaParent = m.evaluate(p, parent ?? m.evaluate(p.slice(0, slash)));
      states.set(p, viaParent);
      expect(viaParent).toEqual(m.evaluate(p));
      expect(viaParent.excluded).toBe(m.matches(p));
    }
  });
});

describe('errors', () => {
  it('an unterminated [ names the file and the line', () => {
    const e = ignoreError('node_modules\n# comment\nfoo[\n');
    expect(e).toBeInstanceOf(OboxError);
    expect(e.code).toBe(ErrorCodes.syntax);
    expect(e.file).toBe('/ctx/.dockerignore');
    expect(e.line).toBe(3);
    expect(e.pattern).toBe('foo[');
    expect(e.message).toBe('/ctx/.dockerignore:3: invalid pattern "foo[": unterminated character class: missing "]"');
    expect(e.hint).toMatch(/escape a literal "\["/);
    expect(e.describe()).toContain('hint: ');
  });

  it('reports the line as written, before cleaning', () => {
    const e = ignoreError('ok\n  !  ./a/[b  \n');
    expect(e.line).toBe(2);
    expect(e.pattern).toBe('!  ./a/[b');
  });

  it.each([
    ['!', /a "!" needs a pattern after it/],
    ['! ', /a "!" needs a pattern after it/],
    ['!/', /a "!" needs a pattern after it/], // Clean("!/") is "!": Docker refuses it too
    ['[', /unterminated character class/],
    ['a[]b', /empty character class/],
    ['[a-]', /missing the character after "-"/],
    ['foo\\', /trailing "\\" escapes nothing/],
    ['[Local-Only]/', /invalid character class range "l-O"/],
    ['a\\q', /invalid escape sequence "\\q"/],
  ])('%j is refused', (line, reason) => {
    const e = ignoreError(`ok\n${line}`, 'x.dockerignore');
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/^x\.dockerignore:2: invalid pattern /);
    expect(e.message).toMatch(reason);
  });

  it('defaults the source name to .dockerignore', () => {
    expect(() => parseIgnoreFile('[')).toThrow(/^\.dockerignore:1: /);
  });
});

describe('canSkipDir (walker pruning)', () => {
  it.each<[string, string[], string, boolean]>([
    ['an excluded dir with no ! rules', ['node_modules'], 'node_modules', true],
    ['a dir inside an excluded dir', ['node_modules'], 'node_modules/x', true],
    ['a dir that is not excluded', ['node_modules'], 'src', false],
    ['the root', ['**'], '.', false],
    ['a ! rule for a file inside', ['docs', '!docs/README.md'], 'docs', false],
    ['a ! rule for a file in a sibling', ['docs', '!docs/README.md'], 'docs/sub', true],
    ['a ! rule deep inside', ['build', '!build/out/keep/me'], 'build/out', false],
    ['a ! rule in another tree', ['build', '!src/x'], 'build', true],
    ['a ! rule for the dir itself (not excluded then)', ['a', '!a'], 'a', false],
    ['a ! rule overridden by a later line', ['a', '!a', 'a/b'], 'a/b', true],
    ['a glob ! rule overridden by a later line', ['**', '!a/**', 'a/b'], 'a/b', true],
    ['a glob ! rule that a later line does not override', ['**', 'a/b', '!a/**'], 'a/b', false],
    ['a prefix ! rule under the dir', ['*', '!src/**'], 'src', false],
    ['a prefix ! rule elsewhere', ['*', '!src/**'], 'node_modules', true],
    ['a glob ! rule with no literal head', ['*', '!**/*.go'], 'vendor', false],
    ['a glob ! rule with a literal head elsewhere (fsutil would walk)', ['build', '!docs/*.md'], 'build', true],
    ['a glob ! rule with a literal head inside', ['build', '!build/*/keep'], 'build', false],
    ['a glob ! rule whose head is below the dir', ['build', '!build/a/b/*.txt'], 'build/a', false],
    ['a glob ! rule whose head is a sibling', ['build', '!build/a/b/*.txt'], 'build/c', true],
    ['a ! rule with a class in the first segment', ['build', '![b]uild/x'], 'build', false],
    ['a suffix ! rule', ['**/tmp', '!**/keep'], 'x/tmp', false],
    ['a literal ! rule under one match of a glob exclusion', ['**/tmp', '!keep/tmp/x'], 'keep/tmp', false],
    ['a literal ! rule not under another match', ['**/tmp', '!keep/tmp/x'], 'other/tmp', true],
    ['a literal ! rule that is a name prefix, not a path prefix', ['build', '!buildx/a'], 'build', true],
  ])('%s', (_, lines, dir, want) => {
    expect(matcher(lines).canSkipDir(dir)).toBe(want);
  });
});
