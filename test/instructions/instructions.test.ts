/**
 * Valid forms of every instruction and every flag, typed.
 */
import { describe, expect, it } from 'vitest';
import { parseInstruction, sourceOf, type Instruction } from '../../src/instructions/index.js';
import { parseContainerfile } from '../../src/containerfile/parser.js';
import { inStage, meaning, one, parse } from './helpers.js';

function kind<K extends Instruction['kind']>(i: Instruction, k: K): Extract<Instruction, { kind: K }> {
  expect(i.kind).toBe(k);
  return i as Extract<Instruction, { kind: K }>;
}

describe('FROM', () => {
  it('reads image, lowercased AS name (any case of AS) and --platform, unexpanded', () => {
    const f = parse('FROM --platform=$BUILDPLATFORM golang:1.22 aS Build\n').stages[0]!.from;
    expect(meaning(f)).toEqual({ kind: 'from', image: 'golang:1.22', stageName: 'build', platform: '$BUILDPLATFORM' });
  });
  it('allows an unnamed stage and names with digits, -, _ and .', () => {
    expect(parse('FROM alpine\n').stages[0]!.from.stageName).toBeUndefined();
    expect(parse('FROM alpine AS b-1_x.y\n').stages[0]!.from.stageName).toBe('b-1_x.y');
  });
  it('treats --platform= (empty) as absent', () => {
    expect(parse('FROM --platform= alpine\n').stages[0]!.from.platform).toBeUndefined();
  });
  it('keeps where the instruction is', () => {
    const f = parse('# comment\n\nFROM \\\n  alpine\n').stages[0]!.from;
    expect(f.location).toEqual({ startLine: 3, endLine: 4, keywordPos: { line: 3, column: 1 }, argsPos: { line: 4, column: 3 } });
    expect(f.keyword).toBe('FROM');
  });
});

describe('RUN', () => {
  it('shell and exec forms', () => {
    expect(kind(one('RUN echo "$HOME"'), 'run').command).toEqual({ form: 'shell', command: 'echo "$HOME"' });
    expect(kind(one('RUN ["sh", "-c", "x"]'), 'run').command).toEqual({ form: 'exec', args: ['sh', '-c', 'x'] });
  });
  it('keeps heredocs with their bodies as written', () => {
    const r = kind(one('RUN <<-EOF bash\n\techo hi\n\tEOF'), 'run');
    expect(r.command).toEqual({ form: 'shell', command: '<<-EOF bash' });
    expect(r.heredocs).toMatchObject([{ name: 'EOF', chomp: true, expand: true, content: '\techo hi\n' }]);
  });
  it('--network and --security', () => {
    for (const mode of ['default', 'none', 'host'] as const) expect(kind(one(`RUN --network=${mode} true`), 'run').network).toBe(mode);
    for (const mode of ['insecure', 'sandbox'] as const) expect(kind(one(`RUN --security=${mode} true`), 'run').security).toBe(mode);
    const plain = kind(one('RUN true'), 'run');
    expect(plain.network).toBeUndefined();
    expect(plain.security).toBeUndefined();
    expect(plain.mounts).toEqual([]);
  });
  it('--mount is repeatable and keeps its fields unexpanded', () => {
    const r = kind(one('RUN --mount=type=cache,target=$HOME/.cache --mount=type=bind,ro,src=. true'), 'run');
    expect(r.mounts).toEqual([
      { text: 'type=cache,target=$HOME/.cache', fields: [{ key: 'type', value: 'cache' }, { key: 'target', value: '$HOME/.cache' }] },
      { text: 'type=bind,ro,src=.', fields: [{ key: 'type', value: 'bind' }, { key: 'ro', value: undefined }, { key: 'src', value: '.' }] },
    ]);
  });
  it('defers mount checks to expansion time when a value has a variable', () => {
    // `type=$T` cannot be checked until the stage environment is known.
    expect(kind(one('RUN --mount=type=$T,target=/x true'), 'run').mounts).toHaveLength(1);
    expect(kind(one('RUN --mount=type=tmpfs,target=/x,size=$SIZE true'), 'run').mounts).toHaveLength(1);
  });
});

describe('CMD and ENTRYPOINT', () => {
  it('exec form, shell form, and no arguments', () => {
    expect(kind(one('CMD ["a", "b"]'), 'cmd').command).toEqual({ form: 'exec', args: ['a', 'b'] });
    expect(kind(one('CMD a b'), 'cmd').command).toEqual({ form: 'shell', command: 'a b' });
    expect(kind(one('CMD []'), 'cmd').command).toEqual({ form: 'exec', args: [] });
    expect(kind(one('ENTRYPOINT ["/init"]'), 'entrypoint').command).toEqual({ form: 'exec', args: ['/init'] });
    expect(kind(one('ENTRYPOINT exec /init'), 'entrypoint').command).toEqual({ form: 'shell', command: 'exec /init' });
    expect(kind(one('ENTRYPOINT []'), 'entrypoint').command).toEqual({ form: 'exec', args: [] });
  });
  it('invalid JSON falls back to the shell form, as BuildKit does', () => {
    expect(kind(one('CMD [not json]'), 'cmd').command).toEqual({ form: 'shell', command: '[not json]' });
  });
});

describe('SHELL', () => {
  it('takes a JSON array', () => {
    expect(kind(one('SHELL ["pwsh", "-c"]'), 'shell').shell).toEqual(['pwsh', '-c']);
  });
});

describe('ENV and LABEL', () => {
  it('name=value pairs, raw, and the legacy form', () => {
    expect(meaning(one('ENV A=1 B="two words" C=$A'))).toEqual({
      kind: 'env',
      pairs: [
        { key: 'A', value: '1', hasEquals: true },
        { key: 'B', value: '"two words"', hasEquals: true },
        { key: 'C', value: '$A', hasEquals: true },
      ],
    });
    expect(meaning(one('ENV A the rest'))).toEqual({ kind: 'env', pairs: [{ key: 'A', value: 'the rest', hasEquals: false }] });
    expect(meaning(one('LABEL "com.example.k"="v" x=y'))).toEqual({
      kind: 'label',
      pairs: [
        { key: '"com.example.k"', value: '"v"', hasEquals: true },
        { key: 'x', value: 'y', hasEquals: true },
      ],
    });
  });
});

describe('single-value instructions', () => {
  it('MAINTAINER, USER, WORKDIR, STOPSIGNAL keep the value as written', () => {
    expect(kind(one('MAINTAINER A B <a@b>'), 'maintainer').maintainer).toBe('A B <a@b>');
    expect(kind(one('USER app:$GROUP'), 'user').user).toBe('app:$GROUP');
    expect(kind(one('WORKDIR /src/$APP'), 'workdir').path).toBe('/src/$APP');
    expect(kind(one('STOPSIGNAL SIGKILL'), 'stopsignal').signal).toBe('SIGKILL');
  });
});

describe('EXPOSE and VOLUME', () => {
  it('EXPOSE keeps its words for validation after expansion', () => {
    expect(kind(one('EXPOSE 80 443/tcp $EXTRA'), 'expose').ports).toEqual(['80', '443/tcp', '$EXTRA']);
  });
  it('VOLUME in words or JSON form', () => {
    expect(kind(one('VOLUME /a /b'), 'volume').volumes).toEqual(['/a', '/b']);
    expect(kind(one('VOLUME ["/a b", "/c"]'), 'volume').volumes).toEqual(['/a b', '/c']);
  });
});

describe('ARG', () => {
  it('several names, with and without defaults, defaults raw', () => {
    expect(kind(one('ARG A B=2 C="x y" D='), 'arg').args).toEqual([
      { name: 'A', defaultValue: undefined },
      { name: 'B', defaultValue: '2' },
      { name: 'C', defaultValue: '"x y"' },
      { name: 'D', defaultValue: '' },
    ]);
  });
  it('splits at the first =', () => {
    expect(kind(one('ARG URL=http://x/?a=b'), 'arg').args).toEqual([{ name: 'URL', defaultValue: 'http://x/?a=b' }]);
  });
});

describe('COPY', () => {
  it('sources and destination in words and JSON form', () => {
    expect(meaning(one('COPY a b /dst/'))).toMatchObject({ sources: [{ kind: 'path', path: 'a' }, { kind: 'path', path: 'b' }], dest: '/dst/', json: false });
    expect(meaning(one('COPY ["a b", "/dst/"]'))).toMatchObject({ sources: [{ kind: 'path', path: 'a b' }], dest: '/dst/', json: true });
  });
  it('every flag', () => {
    expect(meaning(one('COPY --from=build --chown=app:app --chmod=0640 --link --parents --exclude=*.tmp --exclude=.git a /b'))).toEqual({
      kind: 'copy',
      sources: [{ kind: 'path', path: 'a' }],
      dest: '/b',
      json: false,
      from: 'build',
      chown: 'app:app',
      chmod: '0640',
      link: true,
      parents: true,
      excludes: ['*.tmp', '.git'],
    });
  });
  it('boolean flags: bare, =true, =false, any case; defaults false', () => {
    expect(kind(one('COPY --link=TRUE a b'), 'copy').link).toBe(true);
    expect(kind(one('COPY --link=false --parents=False a b'), 'copy')).toMatchObject({ link: false, parents: false });
    expect(kind(one('COPY a b'), 'copy')).toMatchObject({ link: false, parents: false, excludes: [], from: undefined, chown: undefined, chmod: undefined });
  });
  it('an empty string flag means no flag', () => {
    expect(kind(one('COPY --from= --chown= --chmod= a b'), 'copy')).toMatchObject({ from: undefined, chown: undefined, chmod: undefined });
  });
  it('heredocs are sources: chomped for <<-, not expanded when quoted', () => {
    const c = kind(one('COPY <<A <<-"B" /dst/\na $X\nA\n\tb $Y\n\tB'), 'copy');
    expect(c.sources).toEqual([
      { kind: 'heredoc', name: 'A', content: 'a $X\n', expand: true },
      { kind: 'heredoc', name: 'B', content: 'b $Y\n', expand: false },
    ]);
    expect(c.dest).toBe('/dst/');
  });
  it('a heredoc and a path together', () => {
    expect(kind(one('COPY file <<EOF /dst/\nbody\nEOF'), 'copy').sources).toEqual([
      { kind: 'path', path: 'file' },
      { kind: 'heredoc', name: 'EOF', content: 'body\n', expand: true },
    ]);
  });
});

describe('ADD', () => {
  it('every flag', () => {
    expect(meaning(one('ADD --chown=1:2 --chmod=755 --link --keep-git-dir=true --checksum=sha256:abc --unpack --exclude=x https://e.x/a.tgz /b'))).toEqual({
      kind: 'add',
      sources: [{ kind: 'path', path: 'https://e.x/a.tgz' }],
      dest: '/b',
      json: false,
      chown: '1:2',
      chmod: '755',
      link: true,
      keepGitDir: true,
      checksum: 'sha256:abc',
      unpack: true,
      excludes: ['x'],
    });
  });
  it('--unpack is undefined unless given', () => {
    expect(kind(one('ADD a b'), 'add').unpack).toBeUndefined();
    expect(kind(one('ADD --unpack=false a b'), 'add').unpack).toBe(false);
    expect(kind(one('ADD a b'), 'add').keepGitDir).toBe(false);
  });
});

describe('HEALTHCHECK', () => {
  it('NONE', () => {
    expect(meaning(one('HEALTHCHECK none'))).toEqual({ kind: 'healthcheck', type: 'none' });
  });
  it('CMD in both forms with every flag, durations in nanoseconds', () => {
    expect(meaning(one('HEALTHCHECK --interval=1m30s --timeout=2.5s --start-period=100ms --start-interval=1h --retries=0 cmd curl -f x'))).toEqual({
      kind: 'healthcheck',
      type: 'cmd',
      command: { form: 'shell', command: 'curl -f x' },
      interval: 90e9,
      timeout: 2.5e9,
      startPeriod: 100e6,
      startInterval: 3600e9,
      retries: 0,
    });
    expect(kind(one('HEALTHCHECK CMD ["/ok"]'), 'healthcheck')).toMatchObject({ type: 'cmd', command: { form: 'exec', args: ['/ok'] }, interval: 0, retries: 0 });
  });
  it('a zero duration is "not set", as in BuildKit', () => {
    expect(kind(one('HEALTHCHECK --interval=0s --timeout=0 CMD true'), 'healthcheck')).toMatchObject({ interval: 0, timeout: 0 });
  });
});

describe('ONBUILD', () => {
  it('parses the trigger and keeps the expression for the image config', () => {
    const o = kind(one('ONBUILD RUN --mount=type=cache,target=/c make'), 'onbuild');
    expect(o.trigger.kind).toBe('run');
    expect(o.expression).toBe('RUN --mount=type=cache,target=/c make');
  });
  it('appends heredoc bodies to the expression, as BuildKit does', () => {
    const o = kind(one('ONBUILD COPY <<EOF /x\nhello\nEOF'), 'onbuild');
    expect(o.expression).toBe('COPY <<EOF /x\nhello\nEOF');
    expect(o.trigger).toMatchObject({ kind: 'copy', sources: [{ kind: 'heredoc', name: 'EOF', content: 'hello\n' }] });
  });
});

describe('parseInstruction', () => {
  it('types a single node', () => {
    const parsed = parseContainerfile('FROM a\nEXPOSE 1\n', 'f');
    expect(parseInstruction(parsed.nodes[1]!, sourceOf(parsed)).kind).toBe('expose');
  });
  it('keywords are case-insensitive; the keyword is kept as written', () => {
    const list = inStage('run true\nCoPy a b');
    expect(list.map((i) => [i.kind, i.keyword])).toEqual([
      ['run', 'run'],
      ['copy', 'CoPy'],
    ]);
  });
});
