import { describe, expect, it } from 'vitest';
import { cacheCount, isWorkStep, stepsFromBuildah, stepsFromPlainProgress } from '../../bench/lib/build-steps.js';
import type { TimedLine } from '../../bench/lib/proc.js';

const lines = (texts: string[]): TimedLine[] => texts.map((text, i) => ({ t: i * 100, stream: 'stderr', text }));

describe('bench build steps', () => {
  it('RUN, COPY and ADD are work steps; FROM, internals, metadata and export are not', () => {
    expect(isWorkStep('[build 2/5] RUN apt-get update')).toBe(true);
    expect(isWorkStep('[stage-1 1/1] COPY --from=build /out/digest /digest')).toBe(true);
    expect(isWorkStep('[1/2] STEP 3/6: ADD x /x')).toBe(true);
    expect(isWorkStep('STEP 2/3: COPY stamp.txt /stamp.txt')).toBe(true);
    expect(isWorkStep('[build 1/5] FROM docker.io/library/debian-minbase:bookworm')).toBe(false);
    expect(isWorkStep('[internal] load build context')).toBe(false);
    expect(isWorkStep('[stage-0 5/5] CMD ["sh"]')).toBe(false);
    expect(isWorkStep('exporting to image')).toBe(false);
    expect(isWorkStep('STEP 1/3: FROM bench-busybox:latest')).toBe(false);
  });

  it('counts cache hits in plain progress (obox, BuildKit)', () => {
    const steps = stepsFromPlainProgress(
      lines([
        '#1 [internal] load build definition from Containerfile',
        '#1 DONE 0.0s',
        '#2 [stage-0 1/3] RUN echo a',
        '#2 CACHED',
        '#3 [stage-0 2/3] COPY f /f',
        '#3 DONE 0.1s',
        '#4 [stage-0 3/3] CMD ["sh"]',
        '#4 DONE 0.0s',
      ]),
    );
    expect(cacheCount(steps)).toEqual({ steps: 2, cached: 1 });
  });

  it('counts cache hits in buildah output', () => {
    const steps = stepsFromBuildah(
      lines(['STEP 1/3: FROM bench-busybox:latest', 'STEP 2/3: RUN echo a', '--> Using cache 1234', '--> 1234', 'STEP 3/3: COPY f /f', '--> 5678', 'COMMIT x', '--> 9abc']),
    );
    expect(cacheCount(steps)).toEqual({ steps: 2, cached: 1 });
  });
});
