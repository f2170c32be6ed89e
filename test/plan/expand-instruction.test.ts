/**
 * expandInstruction: exactly the values BuildKit expands, with the step's environment.
 */
import { describe, expect, it } from 'vitest';
import { resolveMounts, type Instruction } from '../../src/instructions/index.js';
import { expandInstruction } from '../../src/plan/index.js';
import { failure, meaning, parse } from '../instructions/helpers.js';

const ENV = new Map([
  ['A', 'a'],
  ['B', 'b c'],
  ['P', '8080 9090/udp'],
  ['HOME', '/root'],
]);

function expand(line: string, env: ReadonlyMap<string, string> = ENV) {
  const file = parse(`FROM scratch\n${line}\n`);
  const instruction = file.stages[0]!.instructions[0]!;
  const result = expandInstruction(instruction, env, file.source);
  return { ...result, instruction: meaning(result.instruction) as Record<string, unknown>, typed: result.instruction as Instruction };
}

describe('expandInstruction', () => {
  it('ENV and LABEL: keys and values, quotes removed', () => {
    expect(expand('ENV K_$A="$B" L=\'$A\'').instruction.pairs).toEqual([
      { key: 'K_a', value: 'b c', hasEquals: true },
      { key: 'L', value: '$A', hasEquals: true },
    ]);
    expect(expand('LABEL "x.$A"=$A').instruction.pairs).toEqual([{ key: 'x.a', value: 'a', hasEquals: true }]);
  });
  it('WORKDIR, USER, STOPSIGNAL, VOLUME', () => {
    expect(expand('WORKDIR $HOME/$A').instruction.path).toBe('/root/a');
    expect(expand('USER ${A}:${A}').instruction.user).toBe('a:a');
    expect(expand('STOPSIGNAL ${SIG:-SIGTERM}').instruction.signal).toBe('SIGTERM');
    expect(expand('VOLUME ["/$A", "$HOME"]').instruction.volumes).toEqual(['/a', '/root']);
  });
  it('EXPOSE splits expanded words and normalizes them to port/proto', () => {
    expect(expand('EXPOSE 80 $P 7000-7001').instruction.ports).toEqual(['80/tcp', '8080/tcp', '9090/udp', '7000/tcp', '7001/tcp']);
  });
  it('EXPOSE and USER values are checked after expansion, at the word as written', () => {
    expect(failure(() => expand('EXPOSE 80 "$P"'))).toBe(
      ['Containerfile:2:11: invalid containerPort: 8080 9090/udp', ' 2 | EXPOSE 80 "$P"', '   |           ^^^^', 'hint: a port is a number from 0 to 65535, optionally a range (8000-8010) and /tcp, /udp or /sctp'].join(
        '\n',
      ),
    );
    expect(failure(() => expand('EXPOSE ${PROTO:-80/icmp}'))).toContain('invalid proto: icmp');
    expect(failure(() => expand('USER ${NOBODY}:staff'))).toContain('Containerfile:2:6: USER needs a user name or uid: ":staff"');
  });
  it('COPY: sources, destination, chown, chmod, excludes; never --from', () => {
    expect(expand('COPY --from=$A --chown=$A:$A --chmod=${MODE:-644} --exclude=*.$A $A "$B" /$A/').instruction).toEqual({
      kind: 'copy',
      sources: [
        { kind: 'path', path: 'a' },
        { kind: 'path', path: 'b c' },
      ],
      dest: '/a/',
      json: false,
      from: '$A',
      chown: 'a:a',
      chmod: '644',
      link: false,
      parents: false,
      excludes: ['*.a'],
    });
  });
  it('ADD: also the checksum', () => {
    expect(expand('ADD --checksum=sha256:$A https://x/$A.tgz /').instruction).toMatchObject({ checksum: 'sha256:a', sources: [{ path: 'https://x/a.tgz' }] });
  });
  it('heredoc bodies: expanded with quotes kept, unless the delimiter was quoted', () => {
    const copy = parse(`FROM scratch\nCOPY <<A <<'B' /d/\necho "$A" '$A' \\$A\nA\nraw $A\nB\n`);
    const result = expandInstruction(copy.stages[0]!.instructions[0]!, ENV, copy.source);
    expect(meaning(result.instruction)).toMatchObject({
      sources: [
        { kind: 'heredoc', name: 'A', content: `echo "a" 'a' $A\n` },
        { kind: 'heredoc', name: 'B', content: 'raw $A\n' },
      ],
    });
  });
  it('RUN: mount values only; the command is left to the shell', () => {
    const r = expand('RUN --mount=type=cache,target=$HOME/.cache,id=${A}-cache echo $A');
    expect(r.instruction.command).toEqual({ form: 'shell', command: 'echo $A' });
    expect(r.typed.kind === 'run' && resolveMounts(r.typed.mounts)).toEqual([
      { type: 'cache', target: '/root/.cache', id: 'a-cache', sharing: 'shared', from: undefined, source: '/', readOnly: false, mode: 0o755, uid: 0, gid: 0 },
    ]);
    expect([...r.matched].sort()).toEqual(['A', 'HOME']);
  });
  it('checks mounts once their values are expanded, at the --mount', () => {
    const env = new Map([['T', 'volume'], ['S', 'big']]);
    expect(failure(() => expand('RUN --mount=type=cache,target=/a --mount=type=$T,target=/x true', env))).toBe(
      [
        'Containerfile:2:34: unsupported mount type "volume"',
        ' 2 | RUN --mount=type=cache,target=/a --mount=type=$T,target=/x true',
        '   |                                  ^^^^^^^^^^^^^^^^^^^^^^^^^',
        'hint: mount types are: bind, cache, tmpfs, secret, ssh',
      ].join('\n'),
    );
    expect(failure(() => expand('RUN --mount=type=tmpfs,target=/t,size=$S true', env))).toContain('invalid value for size: big');
  });
  it('leaves CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER, ARG, FROM alone', () => {
    for (const line of ['CMD echo $A', 'ENTRYPOINT ["$A"]', 'SHELL ["$A"]', 'HEALTHCHECK CMD $A', 'ONBUILD RUN $A', 'MAINTAINER $A', 'ARG X=$A']) {
      const r = expand(line);
      expect(r.matched.size, line).toBe(0);
      expect(JSON.stringify(r.instruction), line).toContain('$A');
    }
  });
  it('reports the variables read and missing', () => {
    const r = expand('WORKDIR /$A/$MISSING/${OTHER:-x}');
    expect([...r.matched]).toEqual(['A']);
    expect([...r.unmatched].sort()).toEqual(['MISSING', 'OTHER']);
  });
  it('honours the escape directive', () => {
    const file = parse('# escape=`\nFROM scratch\nWORKDIR C:\\`$A\\$A\n');
    const r = expandInstruction(file.stages[0]!.instructions[0]!, ENV, file.source);
    expect(meaning(r.instruction)).toMatchObject({ path: 'C:\\$A\\a' });
  });
});
