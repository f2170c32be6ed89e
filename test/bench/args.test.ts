import { describe, expect, it } from 'vitest';
import { parseHarnessArgs, PHASES, runCounts, TOOL_KEYS, UsageError } from '../../bench/lib/args.js';

const W = ['small', 'debian-c', 'many-files', 'big-layer', 'layers'];

describe('bench harness arguments', () => {
  it('defaults: every workload, tool and phase, full counts', () => {
    const a = parseHarnessArgs([], W);
    expect(a).toMatchObject({ workloads: W, tools: [...TOOL_KEYS], phases: [...PHASES], quick: false, help: false });
    expect(runCounts(a, 3)).toEqual({ coldWarmups: 1, coldRuns: 3, warmups: 1, runs: 5 });
  });

  it('--quick: one cold build without warm-up, two runs of the rest', () => {
    const a = parseHarnessArgs(['--workload', 'small', '--quick'], W);
    expect(a.workloads).toEqual(['small']);
    expect(runCounts(a, 3)).toEqual({ coldWarmups: 0, coldRuns: 1, warmups: 1, runs: 2 });
  });

  it('workloads: comma lists, repeats and --name=value, run in the harness order', () => {
    expect(parseHarnessArgs(['--workload', 'layers,small', '--workload=debian-c', '--workload', 'small'], W).workloads).toEqual(['small', 'debian-c', 'layers']);
  });

  it('explicit counts override --quick and the workload default', () => {
    const a = parseHarnessArgs(['--quick', '--runs', '7', '--warmups=0', '--cold-runs', '4', '--cold-warmups', '2'], W);
    expect(runCounts(a, 2)).toEqual({ coldWarmups: 2, coldRuns: 4, warmups: 0, runs: 7 });
  });

  it('tools and phases; the cold phase always runs, phases keep their order', () => {
    const a = parseHarnessArgs(['--tools', 'buildah,obox', '--phases', 'export,noop'], W);
    expect(a.tools).toEqual(['buildah', 'obox']);
    expect(a.phases).toEqual(['cold', 'noop', 'export']);
  });

  it('--out, --from, --readme and --help', () => {
    expect(parseHarnessArgs(['--out', 'x.json'], W).out).toBe('x.json');
    expect(parseHarnessArgs(['--from=r.json', '--readme'], W)).toMatchObject({ from: 'r.json', readme: true });
    expect(parseHarnessArgs(['-h'], W).help).toBe(true);
  });

  it.each([
    [['--workload', 'nope'], /unknown "nope"/],
    [['--tools', 'docker'], /unknown "docker"/],
    [['--phases', ','], /none given/],
    [['--runs', '0'], /≥ 1/],
    [['--runs', '1.5'], /whole number/],
    [['--warmups', '-1'], /whole number/],
    [['--runs'], /needs a value/],
    [['--frobnicate'], /unknown option --frobnicate/],
    [['small'], /unexpected argument/],
    [['--out='], /file name/],
  ])('refuses %j', (argv, msg) => {
    expect(() => parseHarnessArgs(argv, W)).toThrow(UsageError);
    expect(() => parseHarnessArgs(argv, W)).toThrow(msg);
  });
});
