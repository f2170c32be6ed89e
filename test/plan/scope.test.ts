/**
 * ARG and ENV: meta ARGs in FROM, scoping, precedence, build-arg overrides, proxy and platform
 * args, and what each step reads (for its cache key).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PATH, beginStage, envList, evaluateStage } from '../../src/plan/index.js';
import { failure } from '../instructions/helpers.js';
import { ARM64, args, obj, plan, targetSteps, walk } from './helpers.js';

/** The environment the last instruction of the target stage is expanded with. */
function lastEnv(text: string, options: Parameters<typeof plan>[1] = {}, imageEnv?: readonly string[]): Record<string, string> {
  const steps = targetSteps(text, options, imageEnv);
  return obj(steps[steps.length - 1]!.env);
}

describe('meta ARGs and FROM', () => {
  it('expand FROM with meta ARG defaults', () => {
    const p = plan('ARG TAG=3.19\nFROM alpine:$TAG\n');
    expect(p.target.base).toEqual({ kind: 'image', ref: 'alpine:3.19' });
    expect(obj(p.target.fromArgsRead)).toEqual({ TAG: '3.19' });
  });
  it('a build arg overrides a meta ARG default', () => {
    expect(plan('ARG TAG=3.19\nFROM alpine:$TAG\n', { buildArgs: args({ TAG: '3.20' }) }).target.base).toEqual({ kind: 'image', ref: 'alpine:3.20' });
  });
  it('meta defaults see earlier meta ARGs and the platform args', () => {
    const p = plan('ARG A=x\nARG B=${A}-$TARGETARCH\nFROM img:$B\n', { targetPlatform: ARM64 });
    expect(p.target.base).toEqual({ kind: 'image', ref: 'img:x-arm64' });
    expect(obj(p.globalArgs)).toMatchObject({ A: 'x', B: 'x-arm64' });
  });
  it('a meta ARG without a value is declared but unset: ${V:-default} works', () => {
    const p = plan('ARG V\nFROM alpine:${V:-latest}\n');
    expect(p.target.base).toEqual({ kind: 'image', ref: 'alpine:latest' });
    expect(p.globalArgs.has('V')).toBe(false);
    expect(p.warnings).toEqual([]);
  });
  it('warns about undeclared variables in FROM', () => {
    expect(plan('FROM alpine:${TAG:-3}\n').warnings).toEqual([{ message: "FROM argument 'TAG' is not declared", line: 1 }]);
  });
  it('build args that are not meta ARGs do not reach FROM', () => {
    expect(plan('FROM alpine:${TAG:-3}\n', { buildArgs: args({ TAG: '4' }) }).target.base).toEqual({ kind: 'image', ref: 'alpine:3' });
  });
  it('FROM --platform expands with globals', () => {
    const p = plan('FROM --platform=$BUILDPLATFORM golang AS b\nFROM --platform=${P:-linux/arm/v7} alpine\n', { targetPlatform: ARM64 });
    expect(p.allStages.map((s) => s.platform)).toEqual([
      { os: 'linux', architecture: 'amd64', variant: '' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ]);
  });
  it('a stage without --platform builds for the target platform; FROM <stage> inherits the platform', () => {
    const p = plan('FROM --platform=linux/arm64 alpine AS a\nFROM a\nFROM alpine\n');
    expect(p.allStages.map((s) => s.platform.architecture)).toEqual(['arm64', 'arm64', 'amd64']);
  });
  it('rejects an empty or invalid platform, and an empty base name', () => {
    expect(failure(() => plan('ARG P\nFROM --platform=$P alpine\n'))).toContain('empty platform value from expression $P');
    expect(failure(() => plan('FROM --platform=linux/a/b/c alpine\n'))).toContain('failed to parse platform linux/a/b/c');
    expect(failure(() => plan('ARG IMG\nFROM $IMG\n'))).toContain('base name ($IMG) should not be blank');
  });
});

describe('ARG inside a stage', () => {
  it('a meta ARG is not visible in a stage until redeclared', () => {
    const steps = targetSteps('ARG V=1\nFROM scratch\nENV X=$V\nARG V\nENV Y=$V\n');
    expect(steps[0]!.expanded).toMatchObject({ pairs: [{ key: 'X', value: '' }] });
    expect([...steps[0]!.unmatched]).toEqual(['V']);
    expect(steps[2]!.expanded).toMatchObject({ pairs: [{ key: 'Y', value: '1' }] });
  });
  it('a redeclared meta ARG takes the build arg when given', () => {
    expect(lastEnv('ARG V=1\nFROM scratch\nARG V\nRUN true\n', { buildArgs: args({ V: 'cli' }) })).toMatchObject({ V: 'cli' });
  });
  it('an ARG with its own default uses it, not the meta value; a build arg overrides both', () => {
    expect(lastEnv('ARG V=1\nFROM scratch\nARG V=2\nRUN true\n')).toMatchObject({ V: '2' });
    expect(lastEnv('ARG V=1\nFROM scratch\nARG V=2\nRUN true\n', { buildArgs: args({ V: '3' }) })).toMatchObject({ V: '3' });
  });
  it('an ARG without default or build arg has no value', () => {
    const env = lastEnv('FROM scratch\nARG V\nRUN true\n');
    expect(env).not.toHaveProperty('V');
  });
  it('a build arg only sets declared ARGs', () => {
    const env = lastEnv('FROM scratch\nARG A\nRUN true\n', { buildArgs: args({ A: 'a', B: 'b' }) });
    expect(env).toMatchObject({ A: 'a' });
    expect(env).not.toHaveProperty('B');
  });
  it('scope starts at the declaration', () => {
    const steps = targetSteps('FROM scratch\nENV BEFORE=$X\nARG X=1\nENV AFTER=$X\n');
    expect(steps[0]!.expanded).toMatchObject({ pairs: [{ value: '' }] });
    expect(steps[2]!.expanded).toMatchObject({ pairs: [{ value: '1' }] });
  });
  it('scope ends with the stage', () => {
    const p = plan('FROM alpine AS a\nARG X=1\nFROM alpine\nCOPY --from=a /$X /\n');
    const copy = walk(p).get('stage-1')![0]!;
    expect(copy.expanded).toMatchObject({ sources: [{ path: '/' }] });
  });
  it('several ARGs in one line, defaults reading earlier ones and ENV', () => {
    expect(lastEnv('FROM scratch\nENV E=e\nARG A=1 B=${A}2 C=$E\nRUN true\n')).toMatchObject({ A: '1', B: '12', C: 'e' });
  });
  it('FROM <stage> inherits the parent stage ARG values and ENV, as BuildKit does', () => {
    const p = plan('FROM alpine AS base\nARG V=1\nENV E=e\nFROM base\nRUN true\n');
    const run = walk(p).get('stage-1')![0]!;
    expect(obj(run.env)).toMatchObject({ V: '1', E: 'e' });
    expect(obj(run.args)).toEqual({ V: '1' });
  });
});

describe('ENV and ARG precedence', () => {
  it('an ENV after an ARG overrides it, whatever the build arg', () => {
    const text = 'FROM scratch\nARG X=a\nENV X=b\nWORKDIR /$X\n';
    expect(targetSteps(text)[2]!.expanded).toMatchObject({ path: '/b' });
    const withArg = targetSteps(text, { buildArgs: args({ X: 'c' }) });
    expect(withArg[2]!.expanded).toMatchObject({ path: '/b' });
    expect(obj(withArg[2]!.argsRead)).toEqual({});
  });
  it('an ARG with a value after an ENV overrides it for the build, not in the image config', () => {
    const p = plan('FROM scratch\nENV X=b\nARG X=a\nRUN true\n');
    const evaluation = evaluateStage(p, p.target, { imageEnv: [] });
    expect(obj(evaluation.steps[2]!.env)).toMatchObject({ X: 'a' });
    expect(obj(evaluation.final.env)).toMatchObject({ X: 'a' });
    expect(obj(evaluation.final.imageEnv)).toEqual({ PATH: DEFAULT_PATH, X: 'b' });
  });
  it('a bare ARG after an ENV keeps the ENV value', () => {
    expect(lastEnv('FROM scratch\nENV X=b\nARG X\nRUN true\n')).toMatchObject({ X: 'b' });
  });
  it('base image ENV is visible, and ENV builds on it', () => {
    const env = lastEnv('FROM debian\nENV PATH=$PATH:/opt/bin X=$FOO\nRUN true\n', {}, ['PATH=/usr/bin', 'FOO=img']);
    expect(env).toMatchObject({ PATH: '/usr/bin:/opt/bin', X: 'img', FOO: 'img' });
  });
  it('an image without PATH gets the default PATH, as BuildKit does', () => {
    expect(lastEnv('FROM scratch\nENV P=$PATH\n')).toMatchObject({ PATH: DEFAULT_PATH });
  });
  it('keeps the image config env apart from ARG values', () => {
    const scope = beginStage({ imageEnv: ['A=1', 'NOVALUE'] });
    expect(envList(scope.imageEnv)).toEqual(['A=1', 'NOVALUE=', `PATH=${DEFAULT_PATH}`]);
  });
});

describe('what each step reads', () => {
  const FILE = 'FROM scratch\nARG A=1 B=2\nENV E=$A\nCOPY $B /dst\nWORKDIR /w\nRUN true\n';
  it('RUN reads every ARG in scope; other steps what they expand', () => {
    const [arg, env, copy, workdir, run] = targetSteps(FILE);
    expect(obj(arg!.argsRead)).toEqual({ A: '1', B: '2' });
    expect(obj(env!.argsRead)).toEqual({ A: '1' });
    expect(obj(copy!.argsRead)).toEqual({ B: '2' });
    expect(obj(workdir!.argsRead)).toEqual({});
    expect(obj(run!.argsRead)).toEqual({ A: '1', B: '2' });
    expect(obj(run!.args)).toEqual({ A: '1', B: '2' });
  });
  it('build arg values are what is read', () => {
    const run = targetSteps(FILE, { buildArgs: args({ B: 'x' }) })[4]!;
    expect(obj(run.argsRead)).toEqual({ A: '1', B: 'x' });
  });
  it('variables from ENV or the base image are not build args', () => {
    const [, copy] = targetSteps('FROM debian\nENV E=1\nCOPY $E$FOO /\n', {}, ['FOO=f']);
    expect(obj(copy!.argsRead)).toEqual({});
    expect(copy!.expanded).toMatchObject({ sources: [{ path: '1f' }] });
  });
});

describe('proxy args', () => {
  const buildArgs = args({ HTTP_PROXY: 'http://proxy:3128', no_proxy: 'localhost', HTTPS_PROXY: 'https://p' });
  it('reach RUN without an ARG line, outside the environment and cache key', () => {
    const [env, run] = targetSteps('FROM scratch\nENV P=$HTTP_PROXY\nRUN curl x\n', { buildArgs });
    expect(env!.expanded).toMatchObject({ pairs: [{ key: 'P', value: '' }] });
    expect(obj(run!.proxyEnv)).toEqual({ HTTP_PROXY: 'http://proxy:3128', no_proxy: 'localhost', HTTPS_PROXY: 'https://p' });
    expect(run!.env.has('HTTP_PROXY')).toBe(false);
    expect(obj(run!.argsRead)).toEqual({});
  });
  it('once declared, are ordinary ARGs', () => {
    const run = targetSteps('FROM scratch\nARG HTTP_PROXY\nRUN curl x\n', { buildArgs })[1]!;
    expect(obj(run.argsRead)).toEqual({ HTTP_PROXY: 'http://proxy:3128' });
    expect(obj(run.proxyEnv)).toEqual({ no_proxy: 'localhost', HTTPS_PROXY: 'https://p' });
  });
  it('are only for RUN', () => {
    const copy = targetSteps('FROM scratch\nCOPY a b\n', { buildArgs })[0]!;
    expect(copy.proxyEnv.size).toBe(0);
  });
  it('are never reported unused', () => {
    expect(plan('FROM scratch\n', { buildArgs }).unusedBuildArgs).toEqual([]);
  });
});

describe('platform args', () => {
  const opts = { targetPlatform: { os: 'linux', architecture: 'arm', variant: 'v7' } };
  it('are global: usable in FROM, and in a stage once declared', () => {
    const steps = targetSteps('FROM scratch\nENV BEFORE=$TARGETARCH\nARG TARGETARCH TARGETPLATFORM TARGETOS TARGETVARIANT BUILDPLATFORM BUILDOS BUILDARCH BUILDVARIANT\nRUN true\n', opts);
    expect(steps[0]!.expanded).toMatchObject({ pairs: [{ value: '' }] });
    expect(obj(steps[2]!.args)).toEqual({
      TARGETARCH: 'arm',
      TARGETPLATFORM: 'linux/arm/v7',
      TARGETOS: 'linux',
      TARGETVARIANT: 'v7',
      BUILDPLATFORM: 'linux/amd64',
      BUILDOS: 'linux',
      BUILDARCH: 'amd64',
      BUILDVARIANT: '',
    });
  });
  it('default the target platform to the build platform', () => {
    expect(obj(plan('FROM scratch\n').globalArgs)).toMatchObject({ TARGETPLATFORM: 'linux/amd64', TARGETARCH: 'amd64', BUILDPLATFORM: 'linux/amd64' });
  });
  it('can be overridden with --build-arg, which consumes them', () => {
    const p = plan('FROM scratch\n', { buildArgs: args({ TARGETARCH: 'riscv64' }) });
    expect(p.globalArgs.get('TARGETARCH')).toBe('riscv64');
    expect(p.unusedBuildArgs).toEqual([]);
  });
  it('TARGETSTAGE names the stage being built', () => {
    expect(plan('FROM scratch AS one\nFROM scratch AS two\n', { target: 'One' }).globalArgs.get('TARGETSTAGE')).toBe('one');
  });
});

describe('unused build args', () => {
  it('reports build args no built stage (or meta ARG) declares, sorted, as docker warns', () => {
    const p = plan('ARG META\nFROM scratch AS a\nARG IN_A\nFROM scratch AS b\nARG IN_B\n', { target: 'b', buildArgs: args({ ZZZ: '1', META: '1', IN_A: '1', IN_B: '1', AAA: '1' }) });
    expect(p.unusedBuildArgs).toEqual(['AAA', 'IN_A', 'ZZZ']);
    expect(p.warnings).toContainEqual({ message: 'one or more build-args [AAA IN_A ZZZ] were not consumed' });
  });
});

describe('expansion errors', () => {
  it('are located at the failing character', () => {
    expect(failure(() => walk(plan('FROM scratch\nENV A=x${B:?unset}\n')))).toBe(
      ['Containerfile:2:8: failed to process "x${B:?unset}": B: unset', ' 2 | ENV A=x${B:?unset}', '   |        ^'].join('\n'),
    );
  });
  it('in meta ARG defaults too', () => {
    expect(failure(() => plan('ARG A=${X:?needed}\nFROM scratch\n'))).toMatch(/^Containerfile:1:7: failed to process "\$\{X:\?needed\}": X: needed\n/);
  });
});
