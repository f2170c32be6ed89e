/**
 * Unit tests for word expansion beyond BuildKit's shared vectors (those run in conformance.test.ts):
 * the pattern operators, the backtick escape, the raw/skip options heredoc detection uses,
 * matched/unmatched, errors, and hostile input. Expected values follow BuildKit's lexer (lex.go and
 * lex_test.go), including where it differs from a POSIX shell.
 */
import { describe, expect, it } from 'vitest';
import {
  ExpansionError,
  MAX_NESTING,
  expandWord,
  expandWords,
  type Env,
  type ExpandOptions,
} from '../../src/containerfile/expand.js';

const env = (o: Record<string, string> = {}): Env => new Map(Object.entries(o));
const word = (w: string, e: Record<string, string> = {}, o: ExpandOptions = {}): string => expandWord(w, env(e), o).value;
const words = (w: string, e: Record<string, string> = {}, o: ExpandOptions = {}): string[] =>
  expandWords(w, env(e), o).words;

function expansionError(fn: () => unknown): ExpansionError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ExpansionError);
    return e as ExpansionError;
  }
  throw new Error('expected an ExpansionError');
}

describe('prefix and suffix removal', () => {
  const path = { P: '/usr/local/bin.tar.gz' };

  it.each([
    ['${P#*/}', 'usr/local/bin.tar.gz'],
    ['${P##*/}', 'bin.tar.gz'],
    ['${P%.*}', '/usr/local/bin.tar'],
    ['${P%%.*}', '/usr/local/bin'],
    ['${P#/usr}', '/local/bin.tar.gz'],
    ['${P%.gz}', '/usr/local/bin.tar'],
    ['${P#nomatch}', '/usr/local/bin.tar.gz'],
    ['${P%nomatch}', '/usr/local/bin.tar.gz'],
    ['${P#}', '/usr/local/bin.tar.gz'],
    ['${P##}', '/usr/local/bin.tar.gz'],
    ['${P%}', '/usr/local/bin.tar.gz'],
    ['${P%%}', '/usr/local/bin.tar.gz'],
    ['${P#?}', 'usr/local/bin.tar.gz'],
    ['${P#??????}', 'ocal/bin.tar.gz'],
    ['${P%???}', '/usr/local/bin.tar'],
    ['${P#*}', '/usr/local/bin.tar.gz'],
    ['${P##*}', ''],
    ['${P%*}', '/usr/local/bin.tar.gz'],
    ['${P%%*}', ''],
    ['${P#/*/}', 'local/bin.tar.gz'],
    ['${P##/*/}', 'bin.tar.gz'],
    ['${P%/*}', '/usr/local'],
    ['${P%%/*}', ''],
  ])('%s', (input, expected) => {
    expect(word(input, path)).toBe(expected);
  });

  it('matches the BuildKit lex_test.go cases', () => {
    expect(word('${FOO#()[]{\\}^$.\\*\\?|\\\\}', { FOO: '()[]{}^$.*?|\\x' })).toBe('x');
    expect(word('${FOO%%\\**}', { FOO: 'xx**' })).toBe('xx');
    expect(word('${FOO#*x*y}', { FOO: 'xxyy' })).toBe('y');
    expect(word('${FOO#*}', { FOO: 'xxyy' })).toBe('xxyy');
    expect(word('${FOO#$BAR}', { FOO: 'xxyy', BAR: 'x' })).toBe('xyy');
    expect(word('${FOO#$BAR}', { FOO: 'xxyy', BAR: '' })).toBe('xxyy');
    expect(word('${FOO##*x}', { FOO: 'xxyy' })).toBe('yy');
    expect(word('${FOO#?\\?}', { FOO: '???y' })).toBe('?y');
    expect(word('${ABC:-.}${FOO%x}${ABC:-.}', { FOO: 'xxyy' })).toBe('.xxyy.');
    expect(word('${FOO%%\\**\\*}', { FOO: 'a***yy*' })).toBe('a');
    expect(word('${FOO%%$BAR}', { FOO: 'xxyy', BAR: '' })).toBe('xxyy');
  });

  it('takes escapes in the pattern: \\* \\? \\\\ are literal, \\} and \\/ are the bare character', () => {
    expect(word('${V#\\*}', { V: '*a' })).toBe('a');
    expect(word('${V#\\*}', { V: 'ba' })).toBe('ba');
    expect(word('${V%\\?}', { V: 'a?' })).toBe('a');
    expect(word('${V#\\\\}', { V: '\\a' })).toBe('a');
    expect(word('${V#a\\}}', { V: 'a}b' })).toBe('b');
    expect(word('${V%\\/}', { V: 'dir/' })).toBe('dir');
  });

  it('rejects other escapes in a pattern', () => {
    expect(expansionError(() => word('${V#\\a}', { V: 'a' })).message).toMatch(/invalid pattern/);
    expect(expansionError(() => word("${V#'x\\'}", { V: 'a' })).message).toMatch(/invalid pattern/);
    // Even when the variable is unset: the pattern is always compiled.
    expect(() => word('${V%\\a}')).toThrow(ExpansionError);
  });

  it('has no bracket expressions: [ and ] are literal (as in BuildKit)', () => {
    expect(word('${V#[ab]}', { V: '[ab]c' })).toBe('c');
    expect(word('${V#[ab]}', { V: 'ac' })).toBe('ac');
    expect(word('${V%[0-9]}', { V: 'x1' })).toBe('x1');
  });

  it('treats regexp metacharacters literally', () => {
    expect(word('${V#a.c}', { V: 'abc' })).toBe('abc');
    expect(word('${V#a.c}', { V: 'a.cd' })).toBe('d');
    expect(word('${V#(x|y)+}', { V: '(x|y)+z' })).toBe('z');
    expect(word('${V%^$}', { V: 'a^$' })).toBe('a');
  });

  it('never matches a newline with * or ? (Go regexp `.`)', () => {
    expect(word('${V##*}', { V: 'ab\ncd' })).toBe('\ncd');
    expect(word('${V%%*}', { V: 'ab\ncd' })).toBe('ab\n');
    expect(word('${V#??}', { V: 'a\nb' })).toBe('a\nb');
  });

  it('counts code points, not UTF-16 units', () => {
    expect(word('${V#?}', { V: '🖖🚀👽' })).toBe('🚀👽');
    expect(word('${V%?}', { V: '🖖🚀👽' })).toBe('🖖🚀');
    expect(word('${V#*🚀}', { V: '🖖🚀👽' })).toBe('👽');
  });

  it('expands variables and removes quotes in the pattern before reading it', () => {
    expect(word('${V#$P}', { V: 'prefix-rest', P: 'prefix-' })).toBe('rest');
    // Quoting does not make * literal in BuildKit.
    expect(word('${V#"*"-}', { V: 'a-b-c' })).toBe('b-c');
  });

  it('removes nothing from an unset variable and records it as unmatched', () => {
    const r = expandWord('${NOPE#x}${NOPE%%y}', env());
    expect(r.value).toBe('');
    expect([...r.unmatched]).toEqual(['NOPE']);
  });

  it('rejects ${V:#p} and ${V:%p}', () => {
    for (const w of ['${V:#}', '${V:##}', '${V:%}', '${V:%%}', '${V:#a}']) {
      expect(() => word(w, { V: 'a' })).toThrow(ExpansionError);
    }
  });
});

describe('replacement', () => {
  it.each([
    ['${V/o/0}', 'f0o boo'],
    ['${V//o/0}', 'f00 b00'],
    ['${V/o/}', 'fo boo'],
    ['${V//o/}', 'f b'],
    ['${V/x/y}', 'foo boo'],
    ['${V//?o/X}', 'Xo Xo'],
    ['${V/ */_}', 'foo_'],
    ['${V//o*/_}', 'f_'],
    ['${V/#f/g}', 'foo boo'],
  ])('%s', (input, expected) => {
    expect(word(input, { V: 'foo boo' })).toBe(expected);
  });

  it('matches the BuildKit lex_test.go cases', () => {
    expect(word('${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}', { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' })).toBe(
      '/foo.*/*.txt - /foo..*.txt',
    );
    expect(word('${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}', { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' })).toBe(
      '/tmp/bar.txt - /bar.txt',
    );
    expect(
      word('${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}', {
        FOO: '/a/foo/b/c.txt',
        NEEDLE: '/?/',
        REPLACEMENT: '/',
      }),
    ).toBe('/foo/b/c.txt - /foo/c.txt');
    expect(word('${FOO/$N/$R}', { FOO: 'http://google.de', N: 'http://', R: 'https://' })).toBe('https://google.de');
    expect(word('${FOO//\\//\\/}', { FOO: '/tmp/foo.txt' })).toBe('\\/tmp\\/foo.txt');
    expect(word('${FOO/$BAR/ww}', { FOO: 'xxyy', BAR: '' })).toBe('wwxxyy');
    expect(() => word('${FOO//ww}', { FOO: 'xxyy' })).toThrow(ExpansionError);
    expect(() => word('${FOO//}', { FOO: 'xxyy' })).toThrow(ExpansionError);
    expect(word('${FOO///}', { FOO: 'xxyy' })).toBe('xxyy');
    const r = expandWord('${FOO///}', env());
    expect(r.value).toBe('');
    expect([...r.unmatched]).toEqual(['FOO']);
  });

  it('replaces empty matches the way Go ReplaceAllString does', () => {
    expect(word('${V///-}', { V: 'abc' })).toBe('-a-b-c-');
    expect(word('${V//*/-}', { V: 'abc' })).toBe('-');
    // An empty match right after a match is not replaced (JS String.replace would give "-a--c-").
    expect(word('${V//b*/-}', { V: 'abc' })).toBe('a-');
    expect(word('${V/*/-}', { V: '' })).toBe('-');
  });

  it('keeps escapes in the replacement, as BuildKit does', () => {
    expect(word('${V//a/\\}}', { V: 'xa' })).toBe('x\\}');
    expect(word('${V/a/\\$}', { V: 'xa' })).toBe('x\\$');
  });

  it('reads a ${V//p/r} replacement as a Go regexp template: $0 is the match, $$ is $', () => {
    // `$` reaches the template only through quotes or variable values (a bare $0 is a variable).
    expect(word("${V//o/<'$0'>}", { V: 'foo' })).toBe('f<o><o>');
    expect(word("${V//o/'${0}'}", { V: 'foo' })).toBe('foo');
    expect(word("${V//o/'$$'}", { V: 'foo' })).toBe('f$$');
    expect(word("${V//o/'$1x$'}", { V: 'fo' })).toBe('f$');
    expect(word("${V//o/'${x'}", { V: 'fo' })).toBe('f${x');
    expect(word('${V//o/$R}', { V: 'fo', R: '[$0]' })).toBe('f[o]');
    // The single replacement is literal.
    expect(word('${V/o/$R}', { V: 'fo', R: '[$0]' })).toBe('f[$0]');
  });

  it('reads a / inside the pattern only when escaped', () => {
    expect(word('${V/a\\/b/c}', { V: 'xa/by' })).toBe('xcy');
    expect(word('${V/a/b/c}', { V: 'xa' })).toBe('xb/c');
  });
});

describe('the escape character', () => {
  it('escapes with a backtick when told to, leaving backslashes literal', () => {
    const bt: ExpandOptions = { escape: '`' };
    expect(word('C:\\path\\to\\file', {}, bt)).toBe('C:\\path\\to\\file');
    expect(word('a`$b', { b: 'x' }, bt)).toBe('a$b');
    expect(word('a\\$b', { b: 'x' }, bt)).toBe('a\\x');
    expect(word('a` b', {}, bt)).toBe('a b');
    expect(word('"a`"b"', {}, bt)).toBe('a"b');
    expect(word('"a`tb"', {}, bt)).toBe('a`tb');
    expect(word('"a``b"', {}, bt)).toBe('a`b');
    expect(word('"a\\"', {}, bt)).toBe('a\\');
    expect(word('end`', {}, bt)).toBe('end');
    expect(words('a` b c', {}, bt)).toEqual(['a b', 'c']);
    // The kept backtick is a literal in the pattern; the star stays a (shortest) wildcard.
    expect(word('${V#`*}', { V: '`*x' }, bt)).toBe('*x');
  });

  it('escapes only " $ and itself inside double quotes', () => {
    expect(word('"a\\"b"')).toBe('a"b');
    expect(word('"a\\$b"', { b: 'x' })).toBe('a$b');
    expect(word('"a\\\\b"')).toBe('a\\b');
    expect(word('"a\\nb"')).toBe('a\\nb');
    expect(word("\"a\\'b\"")).toBe("a\\'b");
  });

  it('escapes anything outside quotes and is dropped at the end of the word', () => {
    expect(word('a\\nb')).toBe('anb');
    expect(word('a\\"b')).toBe('a"b');
    expect(word("a\\'b")).toBe("a'b");
    expect(word('a\\')).toBe('a');
    expect(word('a\\\\')).toBe('a\\');
    expect(word('\\${V}', { V: 'x' })).toBe('${V}');
  });

  it('lets an escaped } stay inside ${V:-...}', () => {
    expect(word('${V:-\\}}')).toBe('}');
    expect(word('${V:-"}"}')).toBe('}');
  });
});

describe('rawQuotes, rawEscapes, skipUnsetEnv (heredoc detection)', () => {
  const raw: ExpandOptions = { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true };

  it('returns the words of a RUN line with heredoc markers as written', () => {
    expect(words('cat <<"EOF" > x', {}, raw)).toEqual(['cat', '<<"EOF"', '>', 'x']);
    expect(words("cat 3<<-'EOF' >> /tmp/out", {}, raw)).toEqual(['cat', "3<<-'EOF'", '>>', '/tmp/out']);
    expect(words('<<EOF <<-EOT bash', {}, raw)).toEqual(['<<EOF', '<<-EOT', 'bash']);
    expect(words('cat <<E"O"F', {}, raw)).toEqual(['cat', '<<E"O"F']);
    expect(words('python3 <<\\EOF', {}, raw)).toEqual(['python3', '<<\\EOF']);
    expect(words('echo "a b" \'c d\' e\\ f', {}, raw)).toEqual(['echo', '"a b"', "'c d'", 'e\\ f']);
  });

  it('leaves references to unset variables as written', () => {
    expect(word('$A ${B} ${C:-x} ${D:+y} ${E?m} ${F#p} ${G%%q} ${H/a/b}', {}, { skipUnsetEnv: true })).toBe(
      '$A ${B} ${C:-x} ${D:+y} ${E?m} ${F#p} ${G%%q} ${H/a/b}',
    );
    expect(words('cat <<EOF $HOME ${X:-a b}', {}, raw)).toEqual(['cat', '<<EOF', '$HOME', '${X:-a', 'b}']);
    // Set variables still expand.
    expect(word('$A-${B}', { A: '1', B: '2' }, { skipUnsetEnv: true })).toBe('1-2');
    // Positional and special parameters are never set.
    expect(word('$1 $@ ${#}', {}, { skipUnsetEnv: true })).toBe('$1 $@ ${#}');
  });

  it('writes ${V//p/r} back with a single slash, as BuildKit does', () => {
    expect(word('${V//a/b}', {}, { skipUnsetEnv: true })).toBe('${V/a/b}');
  });

  it('keeps quotes with rawQuotes only', () => {
    expect(word(`"a"'b'`, {}, { rawQuotes: true })).toBe(`"a"'b'`);
    expect(word(`"a"'b'`)).toBe('ab');
    expect(word(`"$V"`, { V: 'x' }, { rawQuotes: true })).toBe('"x"');
  });

  it('keeps escapes with rawEscapes only', () => {
    expect(word('a\\ b\\$c', {}, { rawEscapes: true })).toBe('a\\ b\\$c');
    expect(word('"a\\"b"', {}, { rawEscapes: true })).toBe('a\\"b');
    // BuildKit quirk: in double quotes an escape before an ordinary character is written twice.
    expect(word('"a\\tb"', {}, { rawEscapes: true })).toBe('a\\\\tb');
    // Inside ${V:-...} escapes are always removed, even with rawEscapes.
    expect(word('${V:-\\$x}', {}, { rawEscapes: true })).toBe('$x');
  });
});

describe('splitting into words', () => {
  it('splits unquoted whitespace and unquoted expansion results, not quoted ones', () => {
    expect(words('a  b\tc\nd')).toEqual(['a', 'b', 'c', 'd']);
    expect(words('x${V}y', { V: ' 1  2 ' })).toEqual(['x', '1', '2', 'y']);
    expect(words('x"${V}"y', { V: ' 1  2 ' })).toEqual(['x 1  2 y']);
    expect(words("'a b'\"c d\"")).toEqual(['a bc d']);
    expect(words('a\\ b')).toEqual(['a b']);
  });

  it('drops empty quoted words, as BuildKit does', () => {
    expect(words('""')).toEqual([]);
    expect(words("a '' b")).toEqual(['a', 'b']);
  });

  it('splits the result of ${V:-"a b"} although it was quoted inside', () => {
    expect(words('${V:-"a b"}')).toEqual(['a', 'b']);
    expect(words('"${V:-a b}"')).toEqual(['a b']);
  });

  it('keeps the text before a ${V:-w} in the same word (older BuildKit; newer loses it, see expand.ts)', () => {
    expect(words('ab${X:-c}d e')).toEqual(['abcd', 'e']);
    expect(words('ab${X:-c d}e')).toEqual(['abc', 'de']);
  });

  it('splits on Unicode spaces as Go unicode.IsSpace does', () => {
    expect(words('a\u00a0b\u3000c\u2003d')).toEqual(['a', 'b', 'c', 'd']);
    expect(words('a\ufeffb')).toEqual(['a\ufeffb']);
  });
});

describe('names', () => {
  it('reads letters, digits and _ (Unicode letters too), digits-first names as all digits', () => {
    expect(word('$A_1b-', { A_1b: 'v' })).toBe('v-');
    expect(word('$한국어!', { 한국어: 'k' })).toBe('k!');
    expect(word('$12x', { '12': 'twelve' })).toBe('twelvex');
    expect(word('$$x')).toBe('x');
    expect(word('a$')).toBe('a$');
    expect(word('a$ b')).toBe('a$ b');
    expect(word('${-}${#}${?}', { '-': 'h', '#': '0', '?': '1' })).toBe('h01');
  });

  it('accepts ${+w} ${-} ${%p} ${/p/r} with an empty name, as BuildKit does', () => {
    expect(word('[${+x}]')).toBe('[]');
    expect(word('[${%x}]')).toBe('[]');
    expect(word('[${/a/b}]')).toBe('[]');
    expect([...expandWord('${+x}', env()).unmatched]).toEqual(['']);
  });

  it('drops a byte-order mark at the start of the word (Go text/scanner)', () => {
    expect(word('\ufeffabc')).toBe('abc');
    expect(word('a\ufeffbc')).toBe('a\ufeffbc');
  });
});

describe('${V?msg} and errors', () => {
  it('fails with the message when the variable is unset (or empty with :?)', () => {
    const e = expansionError(() => word('x ${TOKEN?TOKEN must be set for $WHO}', { WHO: 'release' }));
    expect(e.message).toContain('TOKEN: TOKEN must be set for release');
    expect(e.reason).toBe('TOKEN: TOKEN must be set for release');
    expect(e.column).toBe(2);
    expect(expansionError(() => word('${T:?}', { T: '' })).message).toContain('T: is not allowed to be empty');
    expect(expansionError(() => word('${T?}')).message).toContain('T: is not allowed to be unset');
    expect(word('${T?m}', { T: '' })).toBe('');
    expect(word('${T:?m}', { T: 'v' })).toBe('v');
  });

  it('matches BuildKit TestShellParserMandatoryEnvVars', () => {
    const noEmpty = '${VAR:?message here$ARG}';
    const noUnset = '${VAR?message here$ARG}';
    expect(word(noEmpty, { VAR: 'plain', ARG: 'x' })).toBe('plain');
    expect(expansionError(() => word(noEmpty, { VAR: '', ARG: 'x' })).message).toContain('message herex');
    expect(expansionError(() => word(noEmpty, { ARG: 'x' })).message).toContain('message herex');
    expect(word(noUnset, { VAR: 'plain', ARG: 'x' })).toBe('plain');
    expect(word(noUnset, { VAR: '', ARG: 'x' })).toBe('');
    expect(expansionError(() => word(noUnset, { ARG: 'x' })).message).toContain('message herex');
  });

  it('locates syntax errors', () => {
    expect(expansionError(() => word('abc "def')).column).toBe(4);
    expect(expansionError(() => word("ab 'cd")).column).toBe(3);
    expect(expansionError(() => word('ab${}')).column).toBe(2);
    expect(expansionError(() => word('ab${x')).column).toBe(2);
    expect(expansionError(() => word('ab${x:-${y}')).column).toBe(2);
    expect(expansionError(() => word('ab${x:y}')).reason).toBe('unsupported modifier (:y) in substitution');
    expect(expansionError(() => word('ab${x=y}')).reason).toBe('unsupported modifier (=) in substitution');
    expect(expansionError(() => word('${x/a}')).reason).toBe("syntax error: missing '/' in ${}");
    expect(expansionError(() => word('${{x}')).reason).toBe('syntax error: bad substitution');
  });

  it('reports an inner error as is when the outer expansion is complete', () => {
    expect(expansionError(() => word('${A:-${B?inner}}')).reason).toBe('B: inner');
  });

  it('is an Error with a name and never prints', () => {
    const e = expansionError(() => word('${'));
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ExpansionError');
  });
});

describe('matched and unmatched', () => {
  it('records the variables referenced, set or not (BuildKit TestProcessWithMatches)', () => {
    const cases: [string, Record<string, string>, string, string[], string[]][] = [
      ['x', { DUMMY: 'dummy' }, 'x', [], []],
      ['x ${UNUSED}', { DUMMY: 'dummy' }, 'x ', [], ['UNUSED']],
      ['x ${FOO}', { FOO: 'y' }, 'x y', ['FOO'], []],
      ['${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx  ccc', ['BAR', 'FOO'], ['BAZ']],
      ['${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx bbb ccc', ['BAR', 'FOO'], ['BAZ']],
      ['${FOO:-}', { FOO: 'xxx', BAR: '' }, 'xxx', ['FOO'], []],
      ['${FOO:-}', {}, '', [], ['FOO']],
      ['${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa bbb ', ['BAR', 'FOO'], ['BAZ']],
      ['${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa  ', ['BAR', 'FOO'], ['BAZ']],
      ['${FOO?aaa}', { FOO: 'xxx', BAR: '' }, 'xxx', ['FOO'], []],
      ['${BAR?bbb}', { FOO: 'xxx', BAR: '' }, '', ['BAR'], []],
      ['${A:-${B:-${C}}}', { C: 'c' }, 'c', ['C'], ['A', 'B']],
      ['$1 $@', {}, ' ', [], ['1', '@']],
    ];
    for (const [input, e, value, matched, unmatched] of cases) {
      const r = expandWord(input, env(e));
      expect(r.value, input).toBe(value);
      expect([...r.matched].sort(), input).toEqual(matched);
      expect([...r.unmatched].sort(), input).toEqual(unmatched);
    }
  });

  it('does not count escaped or single-quoted references', () => {
    const r = expandWord("\\$A '$B' \"\\$C\" \"$D\"", env({ D: 'd' }));
    expect(r.value).toBe('$A $B $C d');
    expect([...r.matched]).toEqual(['D']);
    expect([...r.unmatched]).toEqual([]);
  });

  it('are returned by expandWords too', () => {
    const r = expandWords('$A ${B:-x}', env({ A: 'a' }));
    expect(r.words).toEqual(['a', 'x']);
    expect([...r.matched]).toEqual(['A']);
    expect([...r.unmatched]).toEqual(['B']);
  });
});

describe('hostile input', () => {
  const quick = 5_000;

  it(`handles nesting up to ${MAX_NESTING} levels and refuses more`, () => {
    const ok = '${a:-'.repeat(MAX_NESTING) + 'x' + '}'.repeat(MAX_NESTING);
    expect(word(ok)).toBe('x');
    const tooDeep = '${a:-'.repeat(MAX_NESTING + 1) + 'x' + '}'.repeat(MAX_NESTING + 1);
    expect(expansionError(() => word(tooDeep)).reason).toMatch(/nested/);
  });

  it('refuses thousands of levels of nesting fast, in any form', { timeout: quick }, () => {
    const n = 100_000;
    expect(() => word('${a:-'.repeat(n) + '}'.repeat(n))).toThrow(ExpansionError);
    expect(() => word('${a:-'.repeat(n))).toThrow(ExpansionError);
    expect(() => word('"${a:-'.repeat(n) + '}"'.repeat(n))).toThrow(ExpansionError);
    expect(() => word('${a#'.repeat(n))).toThrow(ExpansionError);
    expect(() => word('${a/'.repeat(n))).toThrow(ExpansionError);
    expect(() => words('${a:+'.repeat(n) + '}'.repeat(n), { a: '1' })).toThrow(ExpansionError);
  });

  it('expands a 10 MB word', { timeout: quick }, () => {
    const big = 'abcdefghi '.repeat(1_000_000);
    expect(word(big)).toBe(big);
    expect(words(big).length).toBe(1_000_000);
    const refs = '$A'.repeat(5_000_000);
    expect(word(refs, { A: 'x' }).length).toBe(5_000_000);
    const quoted = `"${'x'.repeat(10_000_000)}"`;
    expect(word(quoted).length).toBe(10_000_000);
    const escaped = '\\a'.repeat(5_000_000);
    expect(word(escaped).length).toBe(5_000_000);
  });

  it('fails fast on a 10 MB unterminated word', { timeout: quick }, () => {
    expect(() => word('"' + 'x'.repeat(10_000_000))).toThrow(ExpansionError);
    expect(() => word("'" + 'x'.repeat(10_000_000))).toThrow(ExpansionError);
    expect(() => word('${V:-' + 'x'.repeat(10_000_000))).toThrow(ExpansionError);
  });

  it('matches patterns in linear time (no backtracking blow-up)', { timeout: quick }, () => {
    const value = 'a'.repeat(100_000);
    const V = { V: value };
    for (const op of ['#', '##', '%', '%%']) {
      expect(word(`\${V${op}*a*a*a*a*a*a*a*a*b}`, V)).toBe(value);
    }
    expect(word('${V/*a*a*a*a*a*a*a*a*b/x}', V)).toBe(value);
    expect(word('${V##*a*a*a*a*a*a*a*a*}', V)).toBe('');
  });

  it('bounds pattern work and result size with an ExpansionError', { timeout: quick }, () => {
    const V = { V: 'a'.repeat(1_000_000), P: '?'.repeat(200) + '*b' };
    // Each search costs value length times pattern size: refused rather than left to run for minutes.
    const e = expansionError(() => word('${V//$P/x}', V));
    expect(e.reason).toMatch(/pattern/);
    // A result longer than any JS string.
    const B = { B: 'b'.repeat(1_000_000) };
    expect(() => word('${B//?/$B}', B)).toThrow(ExpansionError);
  });
});
