/**
 * HEALTHCHECK NONE, or HEALTHCHECK [--interval --timeout --start-period --start-interval --retries]
 * CMD command. Durations in Go syntax; a non-zero duration below 1ms and negative retries are
 * errors, as in BuildKit.
 */
import { ErrorCodes } from '../errors.js';
import { DurationError, parseGoDuration } from './duration.js';
import type { NodeContext } from './node-context.js';
import type { HealthcheckInstruction } from './types.js';

const MIN_DURATION_NS = 1e6; // 1ms
const DURATION_HINT = 'durations are written like 30s, 1m30s or 500ms';

export function parseHealthcheck(ctx: NodeContext): HealthcheckInstruction {
  const args = ctx.node.args;
  if (args.kind !== 'healthcheck') ctx.atLeastOne();
  const type = args.type.toUpperCase();

  if (type === 'NONE') {
    if (args.command !== undefined) throw ctx.syntaxError('HEALTHCHECK NONE takes no arguments', 'write HEALTHCHECK NONE alone to disable the base image health check');
    const flag = ctx.node.flags[0];
    if (flag !== undefined) {
      throw ctx.flagError(flag.name, 'HEALTHCHECK NONE takes no flags', { code: ErrorCodes.syntax, hint: `--${flag.name} applies to HEALTHCHECK CMD` });
    }
    return { ...ctx.base('healthcheck'), type: 'none' };
  }

  const flags = ctx.flags({ interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' } as const);
  if (type !== 'CMD') throw ctx.argsError(`Unknown type "${type}" in HEALTHCHECK (try CMD)`, { hint: ctx.usage() });
  const command = args.command;
  if (command === undefined || (command.kind === 'json' && command.items.length === 0)) {
    throw ctx.syntaxError('Missing command after HEALTHCHECK CMD', ctx.usage());
  }

  const duration = (name: 'interval' | 'timeout' | 'start-period' | 'start-interval'): number => {
    const text = flags[name];
    if (text === undefined || text === '') return 0;
    let ns: number;
    try {
      ns = parseGoDuration(text);
    } catch (e) {
      if (e instanceof DurationError) throw ctx.flagError(name, `--${name}: ${e.message}`, { hint: DURATION_HINT });
      throw e;
    }
    if (ns !== 0 && ns < MIN_DURATION_NS) throw ctx.flagError(name, `Interval "${name}" cannot be less than 1ms`, { hint: DURATION_HINT });
    return ns;
  };

  let retries = 0;
  if (flags.retries !== undefined && flags.retries !== '') {
    const text = flags.retries;
    const n = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n > 2 ** 31 - 1 || n < -(2 ** 31)) {
      throw ctx.flagError('retries', `--retries: invalid number ${JSON.stringify(text)}`, { hint: 'retries is a whole number, e.g. --retries=3' });
    }
    if (n < 0) throw ctx.flagError('retries', `--retries cannot be negative (${n})`);
    retries = n;
  }

  return {
    ...ctx.base('healthcheck'),
    type: 'cmd',
    command: command.kind === 'json' ? { form: 'exec', args: command.items } : { form: 'shell', command: command.text },
    interval: duration('interval'),
    timeout: duration('timeout'),
    startPeriod: duration('start-period'),
    startInterval: duration('start-interval'),
    retries,
  };
}
