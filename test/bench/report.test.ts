import { describe, expect, it } from 'vitest';
import type { Phase, ToolKey } from '../../bench/lib/args.js';
import { parseHarnessArgs } from '../../bench/lib/args.js';
import { fmtRatioOf, fmtSeconds, fmtTime, mainTable, onTopTable, renderReport, verdicts, verdictTable, type ReportInput, type ResultsFile, type RunRecord } from '../../bench/lib/report.js';
import { summarize } from '../../bench/lib/stats.js';

function rec(workload: string, tool: ToolKey, phase: Phase, ms: number, extra: Partial<RunRecord> = {}): RunRecord {
  return { workload, tool, phase, round: 0, warmup: false, ms, loadavg1: 0, ...extra };
}

function runsOf(workload: string, tool: ToolKey, phase: Phase, mss: number[], extra: Partial<RunRecord> = {}): RunRecord[] {
  return mss.map((ms, round) => rec(workload, tool, phase, ms, { round, ...extra }));
}

const TOOLS: ToolKey[] = ['obox', 'buildkit', 'buildah'];

function input(runs: RunRecord[], over: Partial<ReportInput> = {}): ReportInput {
  return { tools: TOOLS, workloads: ['small'], runs, exports: {}, onTop: {}, ...over };
}

/** The cells of the row whose measure starts with PREFIX. */
function row(table: string, prefix: string): string[] {
  const line = table.split('\n').find((l) => l.split(' | ')[1]?.startsWith(prefix));
  if (!line) throw new Error(`no row ${prefix} in\n${table}`);
  return line.slice(2, -2).split(' | ');
}

describe('bench report formatting', () => {
  it('seconds: two decimals below 10 s, one above', () => {
    expect(fmtSeconds(1234)).toBe('1.23 s');
    expect(fmtSeconds(12345)).toBe('12.3 s');
    expect(fmtSeconds(Number.NaN)).toBe('–');
  });

  it('a time cell: median (min–max), ⚠ when noisy; one run alone', () => {
    expect(fmtTime(summarize([1000, 1100, 1050]))).toBe('1.05 s (1.00–1.10)');
    expect(fmtTime(summarize([1000, 2000, 1100]))).toBe('1.10 s ⚠ (1.00–2.00)');
    expect(fmtTime(summarize([3000]))).toBe('3.00 s');
    expect(fmtTime(summarize([]))).toBe('–');
  });

  it('a ratio of medians, ⚠ when either side is noisy, – when one is missing', () => {
    expect(fmtRatioOf(summarize([500, 510]), summarize([1000, 1010]))).toBe('0.50×');
    expect(fmtRatioOf(summarize([500, 510]), summarize([1000, 2000, 1100]))).toBe('0.46× ⚠');
    expect(fmtRatioOf(5, 10)).toBe('0.50×');
    expect(fmtRatioOf(summarize([]), summarize([1]))).toBe('–');
    expect(fmtRatioOf(1, 0)).toBe('–');
  });
});

describe('bench report table', () => {
  const runs = [
    ...runsOf('small', 'obox', 'cold', [900, 1000, 1100], { peakRssBytes: 100 * 1048576, storeBeforeBytes: 1048576, storeAfterBytes: 3 * 1048576 }),
    ...runsOf('small', 'buildkit', 'cold', [2000, 2000, 2000], { peakRssBytes: 300 * 1048576, daemonRssBeforeBytes: 120 * 1048576, storeBeforeBytes: 0, storeAfterBytes: 4 * 1048576 }),
    ...runsOf('small', 'buildah', 'cold', [4000, 4100, 3900], { peakRssBytes: 80 * 1048576 }),
    rec('small', 'obox', 'noop', 5000, { warmup: true }),
    ...runsOf('small', 'obox', 'noop', [200, 210, 190, 200, 200], { cache: { steps: 6, cached: 6 } }),
    ...runsOf('small', 'buildkit', 'noop', [100, 100, 300, 100, 100], { cache: { steps: 6, cached: 6 } }),
    ...runsOf('small', 'buildah', 'noop', [1000, 1000, 1000, 1000, 1000], { cache: { steps: 6, cached: 6 } }),
    rec('small', 'obox', 'export', 400, { variant: 'docker', warmup: true, outputBytes: 2 * 1048576 }),
    ...runsOf('small', 'obox', 'export', [100, 100], { variant: 'docker', outputBytes: 2 * 1048576, peakRssBytes: 60 * 1048576 }),
    ...runsOf('small', 'buildah', 'export', [400, 400], { variant: 'docker', outputBytes: 4 * 1048576 }),
  ];
  const table = mainTable(input(runs, { exports: { small: { obox: { docker: { label: '`obox save`', layers: 'gzip' } } } } }));

  it('has a header with each tool and each obox/peer ratio', () => {
    expect(table.split('\n')[0]).toBe('| workload | measure | obox | BuildKit | buildah | obox/BuildKit | obox/buildah |');
  });

  it('cold: medians, counts and ratios', () => {
    expect(row(table, 'cold build')).toEqual(['small', 'cold build (3)', '1.00 s (0.90–1.10)', '2.00 s (2.00–2.00)', '4.00 s (3.90–4.10)', '0.50×', '0.25×']);
  });

  it('no-op: warm-ups left out, cache hits shown, the noisy side flagged', () => {
    const r = row(table, 'no-op');
    expect(r[1]).toBe('no-op rebuild (5)');
    expect(r[2]).toBe('0.20 s (0.19–0.21) · 6/6 cached');
    expect(r[3]).toBe('0.10 s ⚠ (0.10–0.30) · 6/6 cached');
    expect(r[5]).toBe('2.00× ⚠');
    expect(r[6]).toBe('0.20×');
  });

  it('export: the first save apart, sizes with the layer form, no OCI rows without OCI runs', () => {
    expect(row(table, 'save docker-archive: first')[2]).toBe('0.40 s');
    expect(row(table, 'save docker-archive (')).toEqual(['small', 'save docker-archive (2)', '0.10 s (0.10–0.10)', '–', '0.40 s (0.40–0.40)', '–', '0.25×']);
    expect(row(table, 'docker-archive size')[2]).toBe('2.0 MiB (gzip layers)');
    expect(row(table, 'peak memory, save')[2]).toBe('60.0 MiB');
    expect(table).not.toContain('OCI archive');
  });

  it('memory and storage growth from the cold runs', () => {
    expect(row(table, 'peak memory, cold')).toEqual(['small', 'peak memory, cold build (max)', '100.0 MiB', '300.0 MiB (daemon idle 120.0 MiB)', '80.0 MiB', '0.33×', '1.25×']);
    expect(row(table, 'storage growth').slice(2, 4)).toEqual(['+2.0 MiB (3.0 MiB in all)', '+4.0 MiB (4.0 MiB in all)']);
  });

  it('without obox: no ratio columns', () => {
    const t = mainTable(input(runs, { tools: ['buildkit', 'buildah'] }));
    expect(t.split('\n')[0]).toBe('| workload | measure | BuildKit | buildah |');
  });
});

describe('bench verdicts', () => {
  const base = [
    ...runsOf('small', 'obox', 'cold', [1000, 1000]),
    ...runsOf('small', 'buildkit', 'cold', [2000, 2000]),
    ...runsOf('small', 'obox', 'noop', [3000, 3000], { cache: { steps: 4, cached: 0 } }),
    ...runsOf('small', 'buildkit', 'noop', [100, 100], { cache: { steps: 4, cached: 4 } }),
    ...runsOf('small', 'buildah', 'noop', [1000, 1000], { cache: { steps: 4, cached: 4 } }),
  ];

  it('met, not met and not measured, with the reason a figure needs care', () => {
    const vs = verdicts(input(base));
    const find = (t: string): (typeof vs)[number] => vs.find((v) => v.target.startsWith(t) && v.workload === 'small')!;
    expect(find('cold build')).toMatchObject({ verdict: 'met', measured: '0.50× (1.00 s vs 2.00 s)' });
    expect(find('no-op rebuild: obox/BuildKit')).toMatchObject({ verdict: 'not met', note: 'obox answered no step from a cache: a full rebuild' });
    expect(find('one-file')).toBeUndefined(); // no one-file runs at all: the phase was left out
    const failed = verdicts(input([...base, ...runsOf('small', 'buildkit', 'onefile', [100])]));
    expect(failed.find((v) => v.target.startsWith('one-file'))).toMatchObject({ verdict: 'not measured', measured: '–' });
    expect(find('no-op rebuild: obox/buildah')).toMatchObject({ verdict: 'not met', measured: '3.00× (3.00 s vs 1.00 s)' });
    expect(verdictTable(vs)).toContain('| no-op rebuild: obox/BuildKit ≤ 1.0 | small | 30.00× (3.00 s vs 0.10 s) | not met (obox answered no step from a cache: a full rebuild) |');
  });

  it('flat commit: the step on top over the big vs the small layer', () => {
    const runs = [
      ...runsOf('big-layer', 'obox', 'ontop', [1000, 1000], { variant: 'small', topStepMs: 200 }),
      ...runsOf('big-layer', 'obox', 'ontop', [9000, 9000], { variant: 'big', topStepMs: 210 }),
    ];
    const onTop = { 'big-layer': { small: '10 MiB', big: '500 MiB' } };
    const vs = verdicts(input(runs, { workloads: ['big-layer'], tools: ['obox'], onTop }));
    expect(vs).toHaveLength(1);
    expect(vs[0]).toMatchObject({ verdict: 'not met', measured: '9.00× (9.00 s vs 1.00 s); the step on top alone 1.05×' });
    const t = onTopTable(input(runs, { workloads: ['big-layer'], tools: ['obox'], onTop }), 'big-layer')!;
    expect(t).toContain('| obox | 1.00 s (1.00–1.00) | 9.00 s (9.00–9.00) | 9.00× | 0.20 s (0.20–0.20) | 0.21 s (0.21–0.21) | 1.05× |');
    const coarse = [
      ...runsOf('big-layer', 'buildkit', 'ontop', [300, 300], { variant: 'small', topStepMs: 100, topStepResolutionMs: 100 }),
      ...runsOf('big-layer', 'buildkit', 'ontop', [300, 300], { variant: 'big', topStepMs: 0, topStepResolutionMs: 100 }),
    ];
    expect(onTopTable(input(coarse, { workloads: ['big-layer'], tools: ['buildkit'], onTop }), 'big-layer')).toContain('| 1.00× | 0.10 s (0.10–0.10) | 0.00 s (0.00–0.00) | – (below its 100 ms resolution) |');
  });

  it('no verdicts without obox', () => {
    expect(verdicts(input(base, { tools: ['buildkit', 'buildah'] }))).toEqual([]);
  });
});

describe('bench report as a whole', () => {
  const res: ResultsFile = {
    bench: 'harness',
    schema: 1,
    quick: true,
    options: parseHarnessArgs(['--workload', 'small', '--quick', '--tools', 'obox,buildkit'], ['small']),
    counts: { small: { coldWarmups: 0, coldRuns: 1, warmups: 1, runs: 2 } },
    elapsedMs: 90_000,
    machine: { date: '2026-11-23T17:00:00.000Z', nproc: 2, cpu: 'cpu', memTotalMiB: 1024, memAvailableMiB: 512, kernel: '6.18', os: 'Debian', node: 'v20', arch: 'x64', loadavg: [0], tools: { dockerd: 'Docker 20.10' } },
    obox: { commit: 'abc1234', distWarning: null },
    notes: ['a note'],
    setupMs: {},
    tools: {},
    workloads: {},
    verified: { small: { obox: [{ when: 'cold', expected: 'x', output: 'x', ok: true }], buildkit: [{ when: 'final', expected: 'y', output: 'z', ok: false }] } },
    failed: { small: { buildkit: 'boom' } },
    exports: {},
    onTop: {},
    verdicts: [],
    runs: [...runsOf('small', 'obox', 'cold', [1000]), ...runsOf('small', 'obox', 'noop', [100, 100], { cache: { steps: 3, cached: 2 }, missed: ['[stage-0 3/3] RUN x'] })],
  };

  it('title, run counts, table, checks, cache misses, failures and notes; headings one level down for the README', () => {
    const r = renderReport(res);
    expect(r.startsWith('## obox vs BuildKit vs buildah (--quick)\n\n2026-11-23, 2 cores (cpu)')).toBe(true);
    expect(r).toContain('small: 0 warm-up + 1 cold build, 1 warm-up + 2 runs of each other measure');
    expect(r).toContain('took 1.5 min');
    expect(r).toContain('| small | cold build (1) | 1.00 s | – | – |');
    expect(r).toContain('- small: obox cold ok; BuildKit final WRONG (printed "z", expected "y") — e.g. `x`');
    expect(r).toContain('- small, obox: 2 of 2 no-op rebuilds ran steps again (2/3 cached, 2/3 cached): `[stage-0 3/3] RUN x`');
    expect(r).toContain('**small: BuildKit failed:**');
    expect(r).toContain('note: a note');
    expect(r).toContain('\n### Targets\n');
    const inReadme = renderReport(res, 3);
    expect(inReadme.startsWith('### obox vs')).toBe(true);
    expect(inReadme).toContain('\n#### Targets\n');
  });
});
