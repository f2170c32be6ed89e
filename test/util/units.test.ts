import { describe, expect, it } from 'vitest';
import { OboxError } from '../../src/errors.js';
import { parseDuration, parseSize } from '../../src/util/units.js';

describe('parseSize', () => {
  it.each([
    ['0', 0],
    ['1234', 1234],
    ['100B', 100],
    ['512MB', 512_000_000],
    ['512mb', 512_000_000],
    ['2GiB', 2 * 2 ** 30],
    ['2gib', 2 * 2 ** 30],
    ['1.5G', 1.5 * 2 ** 30],
    ['1.5 G', 1.5 * 2 ** 30],
    ['10k', 10_240],
    ['10kB', 10_000],
    ['3KiB', 3072],
    ['1M', 2 ** 20],
    ['1TB', 1e12],
    ['1T', 2 ** 40],
    ['.5K', 512],
    ['1.', 1],
    [' 7 ', 7],
  ])('%j is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it('rounds fractions of a byte down', () => {
    expect(parseSize('1.7')).toBe(1);
    expect(parseSize('0.3kB')).toBe(300);
  });

  it.each(['', 'MB', '-1', '1XB', '1 2', '1e6', 'ten', '1.2.3G', '1GB!'])('refuses %j with a usage error naming the option', (text) => {
    let err: unknown;
    try {
      parseSize(text, '--keep-storage');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OboxError);
    expect((err as OboxError).code).toBe('E_USAGE');
    expect((err as OboxError).message).toContain('--keep-storage');
    expect((err as OboxError).message).not.toContain('\n');
  });

  it('refuses sizes beyond what a double holds exactly', () => {
    expect(() => parseSize('99999999TiB')).toThrow(/too large/);
  });
});

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['250ms', 250],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['24h', 86_400_000],
    ['7d', 7 * 86_400_000],
    ['2w', 14 * 86_400_000],
    ['1h30m', 5_400_000],
    ['1d12h', 36 * 3_600_000],
    ['1.5h', 5_400_000],
    ['1H30M', 5_400_000],
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '30', 'h', '1h 30m', '-1h', '1y', '1h30', 'soon', '1.2.3s'])('refuses %j', (text) => {
    expect(() => parseDuration(text, '--max-age')).toThrow(OboxError);
    expect(() => parseDuration(text, '--max-age')).toThrow(/--max-age: .* is not a duration/);
  });
});
