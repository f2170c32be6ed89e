import { describe, expect, it } from 'vitest';
import { explainMiss, fingerprintOf, type StepSnapshot } from '../../src/cache/explain.js';

const digest = (c: string): string => `sha256:${c.repeat(64)}`;
const base: StepSnapshot = {
  inputs: { parent: { kind: 'image', digest: digest('a') }, instruction: '{"kind":"run"}', args: { V: '1' }, platform: { os: 'linux', architecture: 'amd64' } },
  text: 'RUN make',
};
const file = (content: string, mode = 0o644, link = ''): string =>
  fingerprintOf({ type: link ? 'symlink' : 'file', mode, uid: 0, gid: 0, content: link ? '' : content, link, xattrs: [] });

describe('explainMiss', () => {
  it('says there is nothing to compare with', () => {
    expect(explainMiss(base, undefined)).toEqual([expect.stringContaining('no earlier build')]);
  });
  it('finds nothing when the inputs are equal', () => {
    expect(explainMiss(base, structuredClone(base))).toEqual([]);
  });
  it('names the base image, the instruction and each build arg', () => {
    const now: StepSnapshot = {
      inputs: { ...base.inputs, parent: { kind: 'image', digest: digest('b') }, instruction: '{"kind":"run","x":1}', args: { V: '2', W: 'new' } },
      text: 'RUN make all',
    };
    expect(explainMiss(now, base)).toEqual([
      `the base image changed: ${digest('a')} → ${digest('b')}`,
      'the instruction changed: "RUN make" → "RUN make all"',
      'build arg V changed from "1" to "2"',
      'build arg W was not set, now "new"',
    ]);
  });
  it('says a variable changed the expansion when the text is the same', () => {
    expect(explainMiss({ ...base, inputs: { ...base.inputs, instruction: 'other' } }, base)).toEqual([expect.stringContaining('expands differently')]);
  });
  it('uses the parent note for a changed parent step', () => {
    const a: StepSnapshot = { ...base, inputs: { ...base.inputs, parent: { kind: 'step', key: digest('1') } } };
    const b: StepSnapshot = { ...base, inputs: { ...base.inputs, parent: { kind: 'step', key: digest('2') } } };
    expect(explainMiss(b, a, { parentNote: 'the previous step (line 3) missed' })).toEqual(['the previous step (line 3) missed']);
  });
  it('names changed, added and removed files, and the kind of change', () => {
    const a: StepSnapshot = { ...base, inputs: { ...base.inputs, sources: digest('1') }, sources: { 'x/a': file(digest('a')), 'x/b': file(digest('b')), 'x/l': file('', 0o777, 'a'), 'x/gone': file(digest('c')) } };
    const b: StepSnapshot = {
      ...base,
      inputs: { ...base.inputs, sources: digest('2') },
      sources: { 'x/a': file(digest('d')), 'x/b': file(digest('b'), 0o755), 'x/l': file('', 0o777, 'b'), 'x/new': file(digest('e')) },
    };
    expect(explainMiss(b, a)).toEqual([
      `x/a changed (content ${digest('a').slice(0, 19)} → ${digest('d').slice(0, 19)})`,
      'x/b changed (mode 644 → 755)',
      'x/gone was removed',
      'x/l changed (link target a → b)',
      'x/new was added',
    ]);
  });
  it('limits the file list and falls back to the digests without file records', () => {
    const many = (c: string): Record<string, string> => Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`f${i}`, file(digest(c))]));
    const a: StepSnapshot = { ...base, inputs: { ...base.inputs, sources: digest('1') }, sources: many('a') };
    const b: StepSnapshot = { ...base, inputs: { ...base.inputs, sources: digest('2') }, sources: many('b') };
    const reasons = explainMiss(b, a);
    expect(reasons).toHaveLength(11);
    expect(reasons.at(-1)).toBe('and 5 more files');
    expect(explainMiss({ ...b, sources: undefined }, a)).toEqual([`the copied files changed (sources ${digest('1')} → ${digest('2')})`]);
  });
  it('names --from results, bind mounts, SOURCE_DATE_EPOCH and the platform', () => {
    const a: StepSnapshot = { ...base, inputs: { ...base.inputs, fromStages: { build: digest('1') }, mounts: { '/src': digest('1') } } };
    const b: StepSnapshot = {
      ...base,
      inputs: { ...base.inputs, platform: { os: 'linux', architecture: 'arm64' }, fromStages: { build: digest('2') }, mounts: { '/src': digest('2') }, sourceDateEpoch: 5 },
    };
    expect(explainMiss(b, a)).toEqual([
      'the platform changed: linux/amd64 → linux/arm64',
      'what it copies from --from=build changed',
      'the source of the bind mount at /src changed',
      'SOURCE_DATE_EPOCH changed: unset → 5',
    ]);
  });
});
