/**
 * Stages: split at FROM, meta ARGs kept apart, lookup by name or index.
 */
import { describe, expect, it } from 'vitest';
import { findStage, stageDisplayName } from '../../src/instructions/index.js';
import { parse } from './helpers.js';

const FILE = `ARG GO=1.22
ARG DEBIAN
FROM golang:$GO AS Build
ARG GO
RUN go build
FROM debian:$DEBIAN
COPY --from=build /out /out
FROM scratch AS final
`;

describe('stages', () => {
  it('splits at each FROM, with meta ARGs before the first', () => {
    const file = parse(FILE);
    expect(file.metaArgs.map((a) => a.args.map((x) => x.name))).toEqual([['GO'], ['DEBIAN']]);
    expect(file.stages.map((s) => [s.index, s.name, s.from.image, s.instructions.map((i) => i.kind)])).toEqual([
      [0, 'build', 'golang:$GO', ['arg', 'run']],
      [1, undefined, 'debian:$DEBIAN', ['copy']],
      [2, 'final', 'scratch', []],
    ]);
  });
  it('passes parser warnings on', () => {
    expect(parse('FROM a\nRUN a \\\n\n  b\n').warnings).toHaveLength(1);
  });
  it('a file of meta ARGs only has no stages (the plan rejects it)', () => {
    expect(parse('ARG A\n').stages).toEqual([]);
  });
  it('finds stages by name (any case) or index', () => {
    const { stages } = parse(FILE);
    expect(findStage(stages, 'BUILD')?.index).toBe(0);
    expect(findStage(stages, 'final')?.index).toBe(2);
    expect(findStage(stages, '1')?.index).toBe(1);
    expect(findStage(stages, '3')).toBeUndefined();
    expect(findStage(stages, 'nope')).toBeUndefined();
    expect(findStage(stages, '-1')).toBeUndefined();
  });
  it('names unnamed stages stage-N', () => {
    const { stages } = parse(FILE);
    expect(stages.map(stageDisplayName)).toEqual(['build', 'stage-1', 'final']);
  });
});
