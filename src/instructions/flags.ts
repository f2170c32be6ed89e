/**
 * Instruction flags, checked the way BuildKit's BFlags checks them: a boolean flag is `--link`,
 * `--link=true` or `--link=false`; a string flag needs `=value` (an empty value is allowed);
 * only repeatable flags may be given twice; an unknown flag is an error with a suggestion.
 */
import type { Flag } from '../containerfile/nodes.js';
import { ErrorCodes } from '../errors.js';
import { errorAtFlag, type SourceInfo } from './source.js';
import { didYouMean } from './suggest.js';
import type { InstructionLocation } from './types.js';

export type FlagType = 'bool' | 'string' | 'strings';
export type FlagSpec = Readonly<Record<string, FlagType>>;

export type ParsedFlags<S extends FlagSpec> = {
  -readonly [K in keyof S]: S[K] extends 'bool' ? boolean | undefined : S[K] extends 'string' ? string | undefined : string[];
};

export interface FlagContext {
  source: SourceInfo;
  location: InstructionLocation;
  /** Uppercase keyword, for messages. */
  keyword: string;
  flags: readonly Flag[];
}

/** Parses `ctx.flags` against `spec`. Absent flags are undefined (repeatable ones: empty arrays). */
export function parseFlags<S extends FlagSpec>(ctx: FlagContext, spec: S): ParsedFlags<S> {
  const out: Record<string, boolean | string | string[] | undefined> = {};
  for (const [name, type] of Object.entries(spec)) out[name] = type === 'strings' ? [] : undefined;
  const seen = new Set<string>();
  const fail = (flag: Flag, message: string, hint?: string): never => {
    throw errorAtFlag(ctx.source, ctx.location, flag.name, message, { hint, code: ErrorCodes.syntax });
  };

  for (const flag of ctx.flags) {
    const name = flag.name;
    const type = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (type === undefined) {
      const names = Object.keys(spec);
      const hint =
        didYouMean(name, names, (n) => `--${n}`, true) ??
        (names.length === 0 ? `${ctx.keyword} takes no flags` : `${ctx.keyword} accepts ${names.map((n) => `--${n}`).join(', ')}`);
      fail(flag, `unknown flag: --${name}`, hint);
    }
    if (seen.has(name) && type !== 'strings') fail(flag, `duplicate flag specified: --${name}`, `give --${name} once`);
    seen.add(name);

    switch (type) {
      case 'bool': {
        if (flag.value === undefined) {
          out[name] = true;
          break;
        }
        const lower = flag.value.toLowerCase();
        if (lower === '') fail(flag, `missing a value on flag: --${name}`, `write --${name} or --${name}=true|false`);
        if (lower !== 'true' && lower !== 'false') fail(flag, `expecting boolean value for flag --${name}, not: ${flag.value}`, `write --${name} or --${name}=true|false`);
        out[name] = lower === 'true';
        break;
      }
      case 'string':
        if (flag.value === undefined) fail(flag, `missing a value on flag: --${name}`, `write --${name}=VALUE`);
        out[name] = flag.value;
        break;
      case 'strings':
        if (flag.value === undefined) fail(flag, `missing a value on flag: --${name}`, `write --${name}=VALUE`);
        (out[name] as string[]).push(flag.value!);
        break;
    }
  }
  return out as ParsedFlags<S>;
}
