/**
 * Sizes and durations as users type them on the command line (`cache prune --keep-storage 2GiB
 * --max-age 7d`, `--filter until=24h`).
 *
 * Sizes: a number (fractions allowed) and an optional unit, case-insensitive, spaces between
 * allowed. SI units with a B are powers of 1000 (`kB`, `MB`, `GB`, `TB`: `512MB` is 512×10^6),
 * IEC units and bare letters are powers of 1024 (`KiB`, `MiB`, `GiB`, `TiB`, and `K`, `M`, `G`,
 * `T` as `du -h` and docker read them: `1.5G` is 1.5×2^30). No unit or `B` means bytes.
 *
 * Durations: one or more number+unit pairs, `ms`, `s`, `m`, `h`, `d` (24 h), `w` (7 d):
 * `30m`, `24h`, `7d`, `1h30m`, `1.5h`. A number needs a unit, except a lone `0`.
 */
import { ErrorCodes, OboxError } from '../errors.js';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  ki: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
};

const SIZE = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$/i;

/** Bytes for `text`; throws E_USAGE naming `what` (e.g. `--keep-storage`) on anything else. */
export function parseSize(text: string, what = 'size'): number {
  const m = SIZE.exec(text);
  const unit = m?.[2]?.toLowerCase();
  const scale = unit === undefined ? undefined : SIZE_UNITS[unit];
  if (!m || scale === undefined) {
    throw new OboxError(ErrorCodes.usage, `${what}: ${JSON.stringify(text)} is not a size`, {
      hint: 'give bytes or a number with a unit: 512MB (10^6), 2GiB or 2G (2^30), 1.5G',
    });
  }
  const bytes = Math.floor(Number(m[1]) * scale);
  if (!Number.isSafeInteger(bytes)) throw new OboxError(ErrorCodes.usage, `${what}: ${JSON.stringify(text)} is too large`);
  return bytes;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d|w)/gy;

/** Milliseconds for `text`; throws E_USAGE naming `what` on anything else. */
export function parseDuration(text: string, what = 'duration'): number {
  const s = text.trim().toLowerCase();
  if (s === '0') return 0;
  let total = 0;
  let at = 0;
  DURATION_PART.lastIndex = 0;
  for (let m = DURATION_PART.exec(s); m !== null; m = DURATION_PART.exec(s)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    at = DURATION_PART.lastIndex;
  }
  if (s === '' || at !== s.length) {
    throw new OboxError(ErrorCodes.usage, `${what}: ${JSON.stringify(text)} is not a duration`, {
      hint: 'give a number with a unit (ms, s, m, h, d, w), or several: 30m, 24h, 7d, 1h30m',
    });
  }
  const ms = Math.round(total);
  if (!Number.isSafeInteger(ms)) throw new OboxError(ErrorCodes.usage, `${what}: ${JSON.stringify(text)} is too long`);
  return ms;
}
