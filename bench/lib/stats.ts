/** Summaries and markdown formatting shared by the benchmarks. Reporting only: nothing here fails on timing. */

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  /** (max − min) / median: the relative width of the range (0 for a single run). */
  spread: number;
  /** spread above NOISE_SPREAD (two runs or more): the median should not be trusted to better than that. */
  noisy: boolean;
}

/** A row whose (max − min) / median exceeds this is flagged as noisy. */
export const NOISE_SPREAD = 0.25;
/** The noise rule in words, for report footers. */
export const NOISE_RULE = `(max − min) / median > ${NOISE_SPREAD * 100}%`;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** (max − min) / median; Infinity when the median is 0 but the values differ. */
export function spreadOf(min: number, max: number, med: number): number {
  if (max === min) return 0;
  return med > 0 ? (max - min) / med : Number.POSITIVE_INFINITY;
}

export function summarize(xs: readonly number[]): Summary {
  if (xs.length === 0) return { n: 0, median: Number.NaN, min: Number.NaN, max: Number.NaN, spread: Number.NaN, noisy: false };
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  const med = median(xs);
  const spread = spreadOf(min, max, med);
  return { n: xs.length, median: med, min, max, spread, noisy: xs.length >= 2 && spread > NOISE_SPREAD };
}

/** `123 ms` below 10 s, else `12.3 s`. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** `median (min–max)`, with ⚠ when the spread is above NOISE_SPREAD. */
export function fmtSummary(s: Summary): string {
  if (s.n === 0) return '–';
  return `${fmtMs(s.median)}${s.noisy ? ' ⚠' : ''} (${fmtMs(s.min)}–${fmtMs(s.max)})`;
}

export function fmtRatio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}

export function fmtBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}

/** Reads `--name VALUE` (number) from argv. */
export function numArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number, got ${process.argv[i + 1] ?? 'nothing'}`);
  return v;
}

/** Reads `--name VALUE` (string) from argv. */
export function strArg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}
