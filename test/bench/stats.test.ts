import { describe, expect, it } from 'vitest';
import { fmtBytes, fmtSummary, markdownTable, median, NOISE_SPREAD, spreadOf, summarize } from '../../bench/lib/stats.js';

describe('bench stats', () => {
  it('median of odd and even counts, empty is NaN', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('summarize: min, max, median and the spread (max − min) / median', () => {
    const s = summarize([100, 110, 90, 105, 95]);
    expect(s).toMatchObject({ n: 5, median: 100, min: 90, max: 110 });
    expect(s.spread).toBeCloseTo(0.2);
    expect(s.noisy).toBe(false);
  });

  it('flags a row noisy above 25% spread, not at it', () => {
    expect(summarize([100, 125]).spread).toBeCloseTo(25 / 112.5);
    expect(summarize([80, 100, 105]).noisy).toBe(false); // 25/100 = exactly the limit
    expect(summarize([79, 100, 105]).noisy).toBe(true);
    expect(NOISE_SPREAD).toBe(0.25);
  });

  it('one run is never noisy; an empty summary has n 0', () => {
    expect(summarize([5])).toMatchObject({ n: 1, spread: 0, noisy: false });
    expect(summarize([]).n).toBe(0);
  });

  it('spread with a zero median is infinite unless all values are equal', () => {
    expect(spreadOf(0, 0, 0)).toBe(0);
    expect(spreadOf(0, 1, 0)).toBe(Number.POSITIVE_INFINITY);
    expect(summarize([0, 0, 1]).noisy).toBe(true);
  });

  it('formats summaries and sizes', () => {
    expect(fmtSummary(summarize([1000, 1500, 2000]))).toBe('1500 ms ⚠ (1000 ms–2000 ms)');
    expect(fmtBytes(1536)).toBe('1.5 KiB');
    expect(fmtBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(fmtBytes(undefined)).toBe('–');
  });

  it('renders a markdown table, escaping pipes', () => {
    expect(markdownTable(['a', 'b'], [['1', 'x|y']])).toBe('| a | b |\n| --- | --- |\n| 1 | x\\|y |\n');
  });
});
