/**
 * "Did you mean …?": the closest option by edit distance, as BuildKit's util/suggest does
 * (Levenshtein distance below 3, exact matches are not suggestions). Adjacent transpositions
 * count as one edit, so `form` finds `from`.
 */

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The option closest to `value` within distance 2 (and closer than the value's own length, so
 * one-letter noise suggests nothing). Undefined when nothing is close or the value is an option.
 * Comparison ignores case unless `caseSensitive`; the option is returned as listed.
 */
export function suggest(value: string, options: readonly string[], caseSensitive = false): string | undefined {
  const v = caseSensitive ? value : value.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const option of options) {
    const o = caseSensitive ? option : option.toLowerCase();
    if (o === v) return undefined;
    const dist = editDistance(v, o);
    if (dist < bestDistance && dist < v.length) {
      best = option;
      bestDistance = dist;
    }
  }
  return best;
}

/** `did you mean X?` or undefined. */
export function didYouMean(value: string, options: readonly string[], format: (s: string) => string = (s) => s, caseSensitive = false): string | undefined {
  const match = suggest(value, options, caseSensitive);
  return match === undefined ? undefined : `did you mean ${format(match)}?`;
}
