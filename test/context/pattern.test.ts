/**
 * One pattern on its own: Go helpers (Clean, TrimSpace), patternmatcher's match kinds and
 * generated regexps, the filepath.Match syntax check, and Go-regexp quirks of `[...]` and `\`.
 * Tables follow moby/patternmatcher's patternmatcher_test.go (TestCompile, TestMatch) and Go's
 * path/filepath match_test.go.
 */
import { describe, expect, it } from 'vitest';
import { compilePattern, goClean, goTrimSpace, PatternSyntaxError, validateGlobSyntax } from '../../src/context/pattern.js';

describe('goClean (Go filepath.Clean)', () => {
  it.each([
    ['', '.'],
    ['.', '.'],
    ['./', '.'],
    ['a/..', '.'],
    ['./a//b/../c', 'a/c'],
    ['foo/', 'foo'],
    ['a/./b/.', 'a/b'],
    ['//a///b//', '/a/b'],
    ['/', '/'],
    ['/..', '/'],
    ['/../a', '/a'],
    ['..', '..'],
    ['../a', '../a'],
    ['a/../..', '..'],
    ['a/../../b', '../b'],
    ['../../a/b/../c', '../../a/c'],
    ['!a/../b', 'b'], // `!a` is an ordinary element to Clean
    ['!/', '!'],
    ['...', '...'],
    ['a/.../b', 'a/.../b'],
  ])('Clean(%j) = %j', (input, want) => {
    expect(goClean(input)).toBe(want);
  });
});

describe('goTrimSpace (Go strings.TrimSpace)', () => {
  it('trims Go unicode.IsSpace characters', () => {
    expect(goTrimSpace(' \t\r\n\v\f x y \u0085\u00a0\u3000')).toBe('x y');
  });
  it('does not trim a BOM (Go does not count it as space)', () => {
    expect(goTrimSpace('\uFEFFx')).toBe('\uFEFFx');
  });
});

describe('compile: match kind and regexp (patternmatcher TestCompile)', () => {
  it.each([
    ['*', 'regexp', '^[^/]*$'],
    ['file*', 'regexp', '^file[^/]*$'],
    ['*file', 'regexp', '^[^/]*file$'],
    ['a*/b', 'regexp', '^a[^/]*/b$'],
    ['**', 'suffix', undefined],
    ['**/**', 'regexp', '^(.*/)?.*$'],
    ['dir/**', 'prefix', undefined],
    ['**/dir', 'suffix', undefined],
    ['**/dir2/*', 'regexp', '^(.*/)?dir2/[^/]*$'],
    ['**/dir2/**', 'regexp', '^(.*/)?dir2/.*$'],
    ['**file', 'suffix', undefined],
    ['**/file*txt', 'regexp', '^(.*/)?file[^/]*txt$'],
    ['**/**/*.txt', 'regexp', '^(.*/)?(.*/)?[^/]*\\.txt$'],
    ['a[b-d]e', 'regexp', '^a[b-d]e$'],
    ['.*', 'regexp', '^\\.[^/]*$'],
    ['abc.def', 'exact', undefined],
    ['abc?def', 'regexp', '^abc[^/]def$'],
    ['**/foo/bar', 'suffix', undefined],
    ['a(b)c/def', 'exact', undefined],
    ['a.|)$(}+{bc', 'exact', undefined],
    ['dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'exact', undefined],
    ['a\\*b', 'regexp', '^a\\*b$'],
    ['a/**/b', 'regexp', '^a/(.*/)?b$'],
  ])('%j → %s %s', (pattern, kind, re) => {
    const c = compilePattern(pattern);
    expect(c.kind).toBe(kind);
    expect(c.goRegexp).toBe(re);
  });
});

/** Single-pattern matching of one exact path (no parent matching here). */
const m = (pattern: string, path: string): boolean => compilePattern(pattern).matches(path);

describe('matching a path against one pattern', () => {
  it.each([
    // patternmatcher TestMatches, MatchesExact column ("exact" cases true, others false)
    ['**', 'file', true],
    ['**', 'dir/file', true],
    ['**/**', 'dir/file', true],
    ['dir/**', 'dir/file', true],
    ['dir/**', 'dir/dir2/file', true],
    ['**/dir', 'dir', true],
    ['**/dir', 'dir/file', false],
    ['**/dir2/*', 'dir/dir2/file', true],
    ['**/dir2/**', 'dir/dir2/dir3/file', true],
    ['**file', 'file', true],
    ['**file', 'dir/file', true],
    ['**/file', 'dir/file', true],
    ['**file', 'dir/dir/file', true],
    ['**/file', 'dir/dir/file', true],
    ['**/file*', 'dir/dir/file', true],
    ['**/file*', 'dir/dir/file.txt', true],
    ['**/file*txt', 'dir/dir/file.txt', true],
    ['**/file*.txt', 'dir/dir/file.txt', true],
    ['**/file*.txt*', 'dir/dir/file.txt', true],
    ['**/**/*.txt', 'dir/dir/file.txt', true],
    ['**/**/*.txt2', 'dir/dir/file.txt', false],
    ['**/*.txt', 'file.txt', true],
    ['**/**/*.txt', 'file.txt', true],
    ['a**/*.txt', 'a/file.txt', true],
    ['a**/*.txt', 'a/dir/file.txt', true],
    ['a**/*.txt', 'a/dir/dir/file.txt', true],
    ['a/*.txt', 'a/dir/file.txt', false],
    ['a/*.txt', 'a/file.txt', true],
    ['a/*.txt**', 'a/file.txt', true],
    ['a[b-d]e', 'ae', false],
    ['a[b-d]e', 'ace', true],
    ['a[b-d]e', 'aae', false],
    ['a[^b-d]e', 'aze', true],
    ['.*', '.foo', true],
    ['.*', 'foo', false],
    ['abc.def', 'abcdef', false],
    ['abc.def', 'abc.def', true],
    ['abc.def', 'abcZdef', false],
    ['abc?def', 'abcZdef', true],
    ['abc?def', 'abcdef', false],
    ['**/foo/bar', 'foo/bar', true],
    ['**/foo/bar', 'dir/foo/bar', true],
    ['**/foo/bar', 'dir/dir2/foo/bar', true],
    ['abc/**', 'abc', false],
    ['abc/**', 'abc/def', true],
    ['abc/**', 'abc/def/ghi', true],
    ['**/.foo', '.foo', true],
    ['**/.foo', 'bar.foo', false],
    ['a(b)c/def', 'a(b)c/def', true],
    ['a(b)c/def', 'a(b)c/xyz', false],
    ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
    ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
    ['a\\\\', 'a\\', true],
    ['a\\*b', 'a*b', true],
    // `**` means zero or more directories
    ['a/**/b', 'a/b', true],
    ['a/**/b', 'a/x/b', true],
    ['a/**/b', 'a/x/y/b', true],
    ['a/**/b', 'b', false],
    ['a/**/b', 'x/a/b', false],
    ['a/**/b', 'a/xb', false],
    // suffix kind is a plain ends-with: `**foo` also matches `barfoo`
    ['**foo', 'barfoo', true],
    ['**foo', 'x/barfoo', true],
    ['**/foo', 'barfoo', false],
  ])('%j vs %j → %s', (pattern, path, want) => {
    expect(m(pattern, path)).toBe(want);
  });
});

describe('Go filepath.Match table (as run through patternmatcher)', () => {
  it.each([
    ['abc', 'abc', true],
    ['*', 'abc', true],
    ['*c', 'abc', true],
    ['a*', 'a', true],
    ['a*', 'abc', true],
    ['a*/b', 'abc/b', true],
    ['a*/b', 'a/c/b', false],
    ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
    ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false],
    ['ab[c]', 'abc', true],
    ['ab[b-d]', 'abc', true],
    ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false],
    ['ab[^b-d]', 'abc', false],
    ['ab[^e-g]', 'abc', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'ab', false],
    ['a?b', 'a☺b', true],
    ['a[^a]b', 'a☺b', true],
    ['a???b', 'a☺b', false],
    ['a[^a][^a][^a]b', 'a☺b', false],
    ['[a-ζ]*', 'α', true],
    ['*[a-ζ]', 'A', false],
    ['a?b', 'a/b', false],
    ['a*b', 'a/b', false],
    ['[\\]a]', ']', true],
    ['[\\-]', '-', true],
    ['[x\\-]', 'x', true],
    ['[x\\-]', '-', true],
    ['[x\\-]', 'z', false],
    ['[\\-x]', 'x', true],
    ['[\\-x]', '-', true],
    ['[\\-x]', 'a', false],
    ['*x', 'xxx', true],
  ])('%j vs %j → %s', (pattern, path, want) => {
    expect(m(pattern, path)).toBe(want);
  });

  it.each(['[]a]', '[-]', '[x-]', '[-x]', '\\', '[a-b-c]', '[', '[^', '[^bc', 'a[', 'ab\\', '[a\\', '*[', 'x*[a-]'])(
    '%j is a bad pattern',
    (pattern) => {
      expect(() => validateGlobSyntax(pattern)).toThrow(PatternSyntaxError);
      expect(() => compilePattern(pattern)).toThrow(PatternSyntaxError);
    },
  );

  it('names the problem', () => {
    const reason = (p: string): string => {
      try {
        compilePattern(p);
      } catch (e) {
        return (e as PatternSyntaxError).reason;
      }
      return 'no error';
    };
    expect(reason('foo[')).toMatch(/unterminated character class/);
    expect(reason('[]')).toMatch(/empty character class/);
    expect(reason('[a-]')).toMatch(/missing the character after "-"/);
    expect(reason('[-a]')).toMatch(/unescaped "-"/);
    expect(reason('foo\\')).toMatch(/trailing "\\" escapes nothing/);
  });
});

describe('Go regexp quirks Docker inherits', () => {
  it('a negated class can match "/" (it is a regexp class, not a filepath.Match one)', () => {
    expect(m('a[^x]b', 'a/b')).toBe(true);
    expect(m('a?b', 'a/b')).toBe(false);
  });

  it('"!" does not negate a class: [!a] is the set {!, a}', () => {
    expect(m('[!a]x', '!x')).toBe(true);
    expect(m('[!a]x', 'ax')).toBe(true);
    expect(m('[!a]x', 'bx')).toBe(false);
  });

  it('POSIX classes work inside [...]', () => {
    expect(m('[[:digit:]]*', '7up')).toBe(true);
    expect(m('[[:digit:]]*', 'up')).toBe(false);
    expect(m('[[:^digit:]]*', 'up')).toBe(true);
    expect(() => compilePattern('[[:nope:]]')).toThrow(/unknown character class/);
  });

  it('backslash escapes follow Go regexp: punctuation is literal, \\d is a digit, \\t a tab', () => {
    expect(m('\\#notes', '#notes')).toBe(true);
    expect(m('a\\.b', 'a.b')).toBe(true);
    expect(m('a\\.b', 'axb')).toBe(false);
    expect(m('\\[x\\]', '[x]')).toBe(true);
    expect(m('v\\d', 'v1')).toBe(true);
    expect(m('v\\d', 'vd')).toBe(false);
    expect(m('a\\tb', 'a\tb')).toBe(true);
    expect(m('a\\sb', 'a b')).toBe(true);
    expect(m('a\\sb', 'a\u00a0b')).toBe(false); // Go's \s is ASCII only
    expect(m('[\\d]x', '5x')).toBe(true);
    expect(m('\\x41', 'A')).toBe(true);
    expect(m('\\101', 'A')).toBe(true);
    expect(m('\\pL', 'é')).toBe(true);
    expect(m('\\PL', 'é')).toBe(false);
  });

  // `\p{Greek}` fails in Docker too: patternmatcher escapes the `{`, so Go sees `\p\{`.
  it.each(['a\\q', 'a\\1', 'a\\E', '\\p{Greek}', '\\x{41}', '\\pQ', '[\\b]'])('%j is an invalid Go regexp escape', (pattern) => {
    expect(() => compilePattern(pattern)).toThrow(/escape|Unicode class/);
  });

  it('a backwards class range passes filepath.Match but is refused (Docker fails at match time)', () => {
    expect(() => validateGlobSyntax('[Local-Only]')).not.toThrow();
    expect(() => compilePattern('[Local-Only]')).toThrow(/invalid character class range "l-O"/);
  });

  it('`*` inside a class turns into regexp text, as in Docker: [*] does not match "*"', () => {
    // patternmatcher emits ^[[^/]*]$ — a class of "[", "^", "/" repeated, then a literal "]".
    expect(compilePattern('[*]').goRegexp).toBe('^[[^/]*]$');
    expect(m('[*]', '*')).toBe(false);
    expect(m('[*]', ']')).toBe(true);
    expect(m('[*]', '[[]')).toBe(true);
  });

  it('"^" outside a class is a regexp anchor once the pattern is a regexp', () => {
    expect(m('a^b', 'a^b')).toBe(true); // exact kind: plain comparison
    expect(m('a^b*', 'a^bc')).toBe(false); // regexp kind: ^ anchors, never matches mid-string
  });

  it('does not blow up on many `**` (JavaScript backtracking)', () => {
    const c = compilePattern('**/**/**/**/**/**/**/*.nope');
    const deep = Array.from({ length: 60 }, (_, i) => `d${i}`).join('/') + '/file.txt';
    const t0 = Date.now();
    expect(c.matches(deep)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('`.` in a generated group does not cross a newline (Go regexp without (?s))', () => {
    expect(m('**/x', 'a\nb/x')).toBe(true); // suffix kind: plain ends-with
    expect(m('a/**/x*', 'a/b\nc/xy')).toBe(false);
    expect(m('a/**/x*', 'a/bc/xy')).toBe(true);
  });
});
