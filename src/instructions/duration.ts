/**
 * Go's time.ParseDuration, which HEALTHCHECK's `--interval`, `--timeout`, `--start-period` and
 * `--start-interval` use: `300ms`, `1.5h`, `2h45m`, `-1s`, `0`. Units ns, us (µs, μs), ms, s, m, h.
 */

export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5
  'μs': 1e3, // U+03BC
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's Duration is an int64 of nanoseconds (2^63 - 1, as close as a double gets). */
const MAX_INT64 = 2 ** 63;

/** Nanoseconds. Throws {@link DurationError} with Go's wording. */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s[0] === '-' ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new DurationError(`invalid duration ${quoted}`);
  let total = 0;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const whole = num[1]!;
    const frac = num[2];
    if (whole === '' && (frac === undefined || frac === '')) throw new DurationError(`invalid duration ${quoted}`);
    s = s.slice(num[0].length);
    const unitMatch = /^[^0-9.]*/.exec(s)!;
    const unit = unitMatch[0];
    if (unit === '') throw new DurationError(`missing unit in duration ${quoted}`);
    const scale = UNIT_NS[unit];
    if (scale === undefined) throw new DurationError(`unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    s = s.slice(unit.length);
    total += Number(whole || '0') * scale + (frac ? Number(`0.${frac}`) * scale : 0);
    if (total >= MAX_INT64) throw new DurationError(`invalid duration ${quoted}`);
  }
  return sign * Math.round(total);
}
