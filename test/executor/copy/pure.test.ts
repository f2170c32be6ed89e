/** The pure parts of COPY/ADD: wildcards, --chmod, --chown, destination paths, remote sources. */
import { describe, expect, it } from 'vitest';
import { goMatch, hasWildcards, normalizeDest, parseChmod, resolveChownFrom, isGitSource, isHttpSource, urlFileName } from '../../../src/executor/copy/index.js';
import { splitWildcards } from '../../../src/executor/copy/glob.js';
import { CopyError } from '../../../src/executor/copy/index.js';

describe('goMatch (Go filepath.Match)', () => {
  // From Go's path/filepath match_test.go.
  const cases: Array<[string, string, boolean]> = [
    ['abc', 'abc', true],
    ['*', 'abc', true],
    ['*c', 'abc', true],
    ['a*', 'a', true],
    ['a*', 'abc', true],
    ['a*', 'ab/c', false],
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
    ['[]a]', ']', false], // bad pattern: matches nothing
    ['[-]', '-', false],
    ['[x-]', 'x', false],
    ['[a-b-c]', 'a', false],
    ['[', 'a', false],
    ['[^', 'a', false],
    ['a\\', 'a', false],
    ['*x', 'xxx', true],
    ['.*', '.hidden', true],
    ['*', '.hidden', true],
  ];
  for (const [pattern, name, want] of cases) {
    it(`${JSON.stringify(pattern)} ~ ${JSON.stringify(name)} → ${want}`, () => expect(goMatch(pattern, name)).toBe(want));
  }

  it('hasWildcards and splitWildcards', () => {
    expect(hasWildcards('a/b.txt')).toBe(false);
    expect(hasWildcards('a/*.txt')).toBe(true);
    expect(hasWildcards('a\\*b')).toBe(false);
    expect(hasWildcards('f[0-9]')).toBe(true);
    expect(splitWildcards('a/b*/c')).toEqual({ literal: ['a'], pattern: ['b*', 'c'] });
    expect(splitWildcards('a/b')).toEqual({ literal: ['a', 'b'], pattern: [] });
    expect(splitWildcards('')).toEqual({ literal: [], pattern: [] });
  });
});

describe('--chmod', () => {
  it('octal: the exact mode, special bits included, for files and directories', () => {
    expect(parseChmod('0644').apply(0o4755, false)).toBe(0o644);
    expect(parseChmod('755').apply(0o600, true)).toBe(0o755);
    expect(parseChmod('4755').apply(0o644, false)).toBe(0o4755);
    expect(parseChmod('0').apply(0o644, false)).toBe(0);
  });
  it('octal out of range or not octal: BuildKit\'s message', () => {
    expect(() => parseChmod('17777')).toThrow("invalid chmod parameter: '17777'. it should be octal string and between 0 and 07777");
    expect(() => parseChmod('0789')).toThrow(/it should be octal string/);
    expect(() => parseChmod('-1')).toThrow(/it should be octal string/);
  });
  it('symbolic clauses apply to each file\'s own mode', () => {
    expect(parseChmod('u+x').apply(0o644, false)).toBe(0o744);
    expect(parseChmod('+x').apply(0o644, false)).toBe(0o755);
    expect(parseChmod('go-w').apply(0o666, false)).toBe(0o644);
    expect(parseChmod('a=r').apply(0o755, false)).toBe(0o444);
    expect(parseChmod('u=rwx,g=rx,o=').apply(0o000, false)).toBe(0o750);
    expect(parseChmod('a+X').apply(0o644, false)).toBe(0o644);
    expect(parseChmod('a+X').apply(0o644, true)).toBe(0o755);
    expect(parseChmod('a+X').apply(0o744, false)).toBe(0o755);
    expect(parseChmod('u+s,g+s').apply(0o755, false)).toBe(0o6755);
    expect(parseChmod('+t').apply(0o777, true)).toBe(0o1777);
    expect(parseChmod('g=u').apply(0o740, false)).toBe(0o770);
    expect(parseChmod('u-s').apply(0o4755, false)).toBe(0o755);
  });
  it('unreadable symbolic modes are errors', () => {
    for (const bad of ['u+q', 'x+r', 'u', ',', 'u+x,', 'a=ur']) expect(() => parseChmod(bad), bad).toThrow(CopyError);
  });
});

describe('--chown', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n';
  const group = 'root:x:0:\nstaff:x:50:\napp:x:1001:\n';
  const r = (spec: string) => resolveChownFrom(spec, passwd, group);
  it('numbers need no lookup; a lone uid is also the gid (BuildKit)', () => {
    expect(resolveChownFrom('1000', null, null)).toEqual({ uid: 1000, gid: 1000 });
    expect(resolveChownFrom('1000:5', null, null)).toEqual({ uid: 1000, gid: 5 });
    expect(resolveChownFrom('root', null, null)).toEqual({ uid: 0, gid: 0 });
    expect(resolveChownFrom('0:root', null, null)).toEqual({ uid: 0, gid: 0 });
  });
  it('names from the destination passwd and group', () => {
    expect(r('app')).toEqual({ uid: 1000, gid: 1001 });
    expect(r('app:staff')).toEqual({ uid: 1000, gid: 50 });
    expect(r('app:7')).toEqual({ uid: 1000, gid: 7 });
    expect(r(':staff')).toEqual({ uid: 0, gid: 50 });
    expect(r('42:staff')).toEqual({ uid: 42, gid: 50 });
    expect(r('app:')).toEqual({ uid: 1000, gid: 1001 });
  });
  it('unknown names and out-of-range ids are errors', () => {
    expect(() => r('nobody')).toThrow('unable to find user nobody: no matching entries in passwd file');
    expect(() => r('app:wheel')).toThrow('unable to find group wheel: no matching entries in group file');
    expect(() => resolveChownFrom('app', null, null)).toThrow(/unable to find user app/);
    expect(() => r('4294967296')).toThrow(/out of range/);
  });
});

describe('destination paths', () => {
  it('relative to WORKDIR; a trailing slash (or ".") means a directory', () => {
    expect(normalizeDest('/x', '/app')).toEqual({ path: '/x', dirLike: false, written: '/x' });
    expect(normalizeDest('x', '/app')).toMatchObject({ path: '/app/x', dirLike: false });
    expect(normalizeDest('x/', '/app')).toMatchObject({ path: '/app/x', dirLike: true });
    expect(normalizeDest('.', '/app')).toMatchObject({ path: '/app', dirLike: true });
    expect(normalizeDest('', '/app')).toMatchObject({ path: '/app', dirLike: true });
    expect(normalizeDest('x/.', '/')).toMatchObject({ path: '/x', dirLike: true });
    expect(normalizeDest('../../x', '/app')).toMatchObject({ path: '/x' });
    expect(normalizeDest('/', '/app')).toMatchObject({ path: '/', dirLike: true });
    expect(normalizeDest('sub', 'rel')).toMatchObject({ path: '/rel/sub' });
  });
});

describe('remote sources', () => {
  it('tells git repositories from downloads, as BuildKit does', () => {
    expect(isGitSource('git@github.com:moby/buildkit.git')).toBe(true);
    expect(isGitSource('https://github.com/moby/buildkit.git')).toBe(true);
    expect(isGitSource('https://github.com/moby/buildkit.git#v0.10.1:docs')).toBe(true);
    expect(isGitSource('git://example.com/x')).toBe(true);
    expect(isHttpSource('https://example.com/file.tar.gz')).toBe(true);
    expect(isHttpSource('https://github.com/moby/buildkit.git')).toBe(false);
    expect(isHttpSource('file.txt')).toBe(false);
  });
  it('names a download after the last component of its URL path', () => {
    expect(urlFileName('https://example.com/a/b/tool-1.0.tar.gz?x=1')).toBe('tool-1.0.tar.gz');
    expect(urlFileName('https://example.com/')).toBe('__unnamed__');
    expect(urlFileName('https://example.com')).toBe('__unnamed__');
    expect(urlFileName('https://example.com/dir/')).toBe('dir');
    expect(urlFileName('https://example.com/my%20file')).toBe('my file');
  });
});
