/** Environment settings the CLI reads (library code takes them as parameters). */
import { ErrorCodes, OboxError } from '../errors.js';

/** SOURCE_DATE_EPOCH as seconds since the epoch, or undefined when unset. */
export function sourceDateEpoch(): number | undefined {
  const v = process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) {
    throw new OboxError(ErrorCodes.usage, `SOURCE_DATE_EPOCH=${JSON.stringify(v)} is not a number of seconds since the epoch`, {
      hint: 'unset it, or set it to e.g. $(git log -1 --format=%ct)',
    });
  }
  return Number(v);
}
