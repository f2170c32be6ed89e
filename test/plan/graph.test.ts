/**
 * The stage graph: bases, COPY --from and mount dependencies, --target pruning, stage lookup by
 * name and index, unknown stages and cycles.
 */
import { describe, expect, it } from 'vitest';
import { ContainerfileError, ErrorCodes, OboxError } from '../../src/errors.js';
import { failure, thrown } from '../instructions/helpers.js';
import { plan } from './helpers.js';

const deps = (text: string, target?: string) =>
  plan(text, { target }).allStages.map((s) => s.dependencies.map((d) => `${d.via}:${d.stage}`));

describe('stage bases', () => {
  it('FROM an earlier stage (any case), scratch, or an image', () => {
    const p = plan('FROM alpine AS base\nFROM BASE AS child\nFROM scratch\nFROM docker.io/library/debian:12\n', { target: '3' });
    expect(p.allStages.map((s) => s.base)).toEqual([
      { kind: 'image', ref: 'alpine' },
      { kind: 'stage', index: 0 },
      { kind: 'scratch' },
      { kind: 'image', ref: 'docker.io/library/debian:12' },
    ]);
  });
  it('FROM a later stage name is an image, as in BuildKit', () => {
    expect(plan('FROM later AS first\nFROM alpine AS later\n', { target: 'first' }).target.base).toEqual({ kind: 'image', ref: 'later' });
  });
  it('FROM resolves the expanded name, so a meta ARG can pick a stage', () => {
    const p = plan('ARG FLAVOR=slim\nFROM alpine AS slim\nFROM debian AS full\nFROM $FLAVOR\n');
    expect(p.target.base).toEqual({ kind: 'stage', index: 0 });
    expect(p.stages.map((s) => s.displayName)).toEqual(['slim', 'stage-2']);
  });
  it('FROM with a number is an image, not a stage index', () => {
    expect(plan('FROM alpine\nFROM 0\n').target.base).toEqual({ kind: 'image', ref: '0' });
  });
});

describe('dependencies', () => {
  it('COPY --from by name (any case) or index; other values are images', () => {
    const p = plan('FROM alpine AS build\nFROM alpine\nCOPY --from=BUILD /a /a\nCOPY --from=0 /b /b\nCOPY --from=busybox:1.36 /bin/sh /bin/sh\nCOPY --from=busybox:1.36 /x /x\n');
    expect(p.target.dependencies.map((d) => [d.via, d.stage])).toEqual([
      ['copy', 0],
      ['copy', 0],
    ]);
    expect(p.target.externalImages).toEqual(['busybox:1.36']);
  });
  it('RUN --mount from= a stage (bind and cache), else an image', () => {
    const p = plan(
      [
        'FROM alpine AS deps',
        'FROM alpine',
        'RUN --mount=type=bind,from=deps,target=/d --mount=type=cache,from=deps,target=/c --mount=from=golang:1.22,target=/go true',
        'RUN --mount=type=tmpfs,target=/t --mount=type=cache,target=/c2 true',
      ].join('\n'),
    );
    expect(p.target.dependencies.map((d) => [d.via, d.stage, d.occurrence])).toEqual([
      ['mount', 0, 0],
      ['mount', 0, 1],
    ]);
    expect(p.target.externalImages).toEqual(['golang:1.22']);
  });
  it('a mount from= a stage index is an image name, as in BuildKit', () => {
    expect(plan('FROM alpine\nFROM alpine\nRUN --mount=from=0,target=/x true\n').target.externalImages).toEqual(['0']);
  });
  it('ONBUILD triggers are not dependencies of the stage that declares them', () => {
    expect(deps('FROM alpine AS a\nFROM alpine\nONBUILD COPY --from=a / /\n')).toEqual([[], []]);
  });
  it('records the FROM dependency first', () => {
    expect(deps('FROM alpine AS a\nFROM alpine AS b\nFROM a\nCOPY --from=b / /\n')).toEqual([[], [], ['from:0', 'copy:1']]);
  });
});

describe('--target', () => {
  const FILE = [
    'FROM alpine AS base',
    'FROM base AS deps',
    'FROM golang AS tools',
    'FROM base AS build',
    'COPY --from=deps /d /d',
    'RUN --mount=type=bind,from=tools,target=/t true',
    'FROM scratch AS unrelated',
    'FROM scratch AS release',
    'COPY --from=build /out /',
  ].join('\n');

  it('defaults to the last stage and keeps what it needs, in dependency order', () => {
    const p = plan(FILE);
    expect(p.target.displayName).toBe('release');
    expect(p.stages.map((s) => s.displayName)).toEqual(['base', 'deps', 'tools', 'build', 'release']);
    expect(p.allStages).toHaveLength(6);
  });
  it('prunes to the named stage (any case)', () => {
    expect(plan(FILE, { target: 'DEPS' }).stages.map((s) => s.displayName)).toEqual(['base', 'deps']);
    expect(plan(FILE, { target: 'unrelated' }).stages.map((s) => s.displayName)).toEqual(['unrelated']);
  });
  it('accepts a stage index', () => {
    expect(plan(FILE, { target: '2' }).stages.map((s) => s.displayName)).toEqual(['tools']);
    expect(plan('FROM a\nFROM b\n', { target: '0' }).target.displayName).toBe('stage-0');
  });
  it('rejects an unknown target with a suggestion', () => {
    expect(failure(() => plan(FILE, { target: 'biuld' }))).toBe('target stage "biuld" could not be found\nhint: did you mean build?');
    expect(failure(() => plan(FILE, { target: 'zzz' }))).toBe('target stage "zzz" could not be found\nhint: stages are: base, deps, tools, build, unrelated, release');
    expect(failure(() => plan(FILE, { target: '9' }))).toContain('target stage "9" could not be found');
    const e = thrown(() => plan(FILE, { target: 'nope' }));
    expect(e).toBeInstanceOf(OboxError);
    expect(e).not.toBeInstanceOf(ContainerfileError);
    expect((e as OboxError).code).toBe(ErrorCodes.notFound);
  });
  it('does not check stages the target does not need', () => {
    const p = plan('FROM alpine AS a\nCOPY --from=b / /\nFROM alpine AS b\nFROM alpine AS c\n', { target: 'c' });
    expect(p.stages.map((s) => s.displayName)).toEqual(['c']);
  });
});

describe('errors', () => {
  it('an empty file of stages', () => {
    expect(failure(() => plan('ARG A=1\n'))).toContain('Containerfile contains no stages to build');
  });
  it('an unknown stage index', () => {
    expect(failure(() => plan('FROM alpine AS a\nFROM alpine\nCOPY --from=5 / /\n'))).toBe(
      ['Containerfile:3:6: invalid stage index 5', ' 3 | COPY --from=5 / /', '   |      ^^^^^^^^', 'hint: stages are numbered 0 to 1'].join('\n'),
    );
    const e = thrown(() => plan('FROM alpine\nCOPY --from=-1 / /\n'));
    expect(e).toBeInstanceOf(ContainerfileError);
    expect((e as ContainerfileError).code).toBe(ErrorCodes.notFound);
    expect((e as ContainerfileError).message).toBe('invalid stage index -1');
  });
  it('a variable in COPY --from', () => {
    expect(failure(() => plan('ARG S=a\nFROM alpine AS a\nFROM alpine\nCOPY --from=${S} / /\n'))).toContain(
      'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
    );
  });
  it('a stage copying from itself', () => {
    expect(failure(() => plan('FROM alpine AS a\nCOPY --from=a /x /y\n'))).toBe(
      ['Containerfile:2:6: circular dependency detected on stage: a', ' 2 | COPY --from=a /x /y', '   |      ^^^^^^^^', 'hint: stage a cannot use itself'].join('\n'),
    );
    expect(failure(() => plan('FROM alpine\nCOPY --from=0 /x /y\n'))).toContain('circular dependency detected on stage: stage-0');
    expect(failure(() => plan('FROM alpine AS a\nRUN --mount=from=a,target=/x true\n'))).toContain('circular dependency detected on stage: a');
  });
  it('two stages using each other', () => {
    expect(failure(() => plan('FROM alpine AS a\nCOPY --from=b / /\nFROM alpine AS b\nCOPY --from=a / /\n'))).toBe(
      [
        'Containerfile:4:6: circular dependency detected on stage: a',
        ' 4 | COPY --from=a / /',
        '   |      ^^^^^^^^',
        'hint: stage b uses a, which already depends on it',
      ].join('\n'),
    );
  });
  it('a longer cycle through FROM, COPY and a mount', () => {
    const text = ['FROM alpine AS a', 'RUN --mount=from=c,target=/c true', 'FROM a AS b', 'FROM alpine AS c', 'COPY --from=b / /'].join('\n');
    expect(failure(() => plan(text))).toContain('circular dependency detected on stage:');
  });
  it('a needed stage using a later one', () => {
    expect(failure(() => plan('FROM alpine AS a\nCOPY --from=b / /\nFROM alpine AS b\n', { target: 'a' }))).toBe(
      [
        'Containerfile:2:6: cannot copy from stage "b", it needs to be defined before current stage "a"',
        ' 2 | COPY --from=b / /',
        '   |      ^^^^^^^^',
        'hint: move the stage it uses above this one',
      ].join('\n'),
    );
    expect(failure(() => plan('FROM alpine\nCOPY --from=1 / /\nFROM alpine\n', { target: '0' }))).toContain(
      'cannot copy from stage "stage-1", it needs to be defined before current stage "stage-0"',
    );
    expect(failure(() => plan('FROM alpine AS a\nRUN --mount=type=cache,target=/c \\\n  --mount=from=b,target=/b true\nFROM alpine AS b\n', { target: 'a' }))).toBe(
      [
        'Containerfile:3:3: cannot mount from stage "b", it needs to be defined before current stage "a"',
        ' 3 |   --mount=from=b,target=/b true',
        '   |   ^^^^^^^^^^^^^^^^^^^^^^^^',
        'hint: move the stage it uses above this one',
      ].join('\n'),
    );
  });
});
