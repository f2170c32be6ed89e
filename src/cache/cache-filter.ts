/**
 * `--filter KEY=VALUE` for `cache ls` and `cache prune`, docker style: the same key given twice
 * matches either value, different keys must all match.
 *
 *   type=step|cache-mount        the kind of row
 *   until=DURATION|TIME          last used before (now − DURATION, or the time)
 *   since=DURATION|TIME          last used at or after
 *   image=NAME                   steps whose layer an image of that name has
 *   stage=NAME                   steps of that stage
 *   containerfile=PATH           steps of that Containerfile
 *   id=PREFIX                    a step by key prefix, a cache mount by id
 *
 * A key that only steps have (image, stage, containerfile) never matches a cache mount.
 */
import { isAbsolute, resolve } from 'node:path';
import { ErrorCodes, OboxError } from '../errors.js';
import { normalizeReference } from '../image/reference.js';
import { parseDuration } from '../util/units.js';

export const FILTER_KEYS = ['type', 'until', 'since', 'image', 'stage', 'containerfile', 'id'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type RowType = 'step' | 'cache-mount';

export interface CacheFilter {
  types?: RowType[];
  /** Last used strictly before this time (ms since the epoch); several values: any. */
  until?: number[];
  since?: number[];
  /** Full normalised image names. */
  images?: string[];
  stages?: string[];
  containerfiles?: string[];
  /** Key hex prefixes (steps) or mount ids. */
  ids?: string[];
}

/** What a filter looks at in a row. */
export interface FilterSubject {
  type: RowType;
  lastUsedAt: string;
  /** Step key, or cache-mount id. */
  id: string;
  images?: readonly string[];
  stage?: string | undefined;
  containerfile?: string | undefined;
}

function usage(message: string): OboxError {
  return new OboxError(ErrorCodes.usage, message, { hint: `filter keys: ${FILTER_KEYS.join(', ')}; e.g. --filter until=24h --filter type=step` });
}

function parseTime(key: string, value: string, now: number): number {
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const t = Date.parse(value);
    if (Number.isNaN(t)) throw usage(`filter ${key}=${value}: not a time`);
    return t;
  }
  return now - parseDuration(value, `filter ${key}`);
}

/** Parses `KEY=VALUE` strings; throws a one-line E_USAGE for anything unknown or malformed. */
export function parseFilters(specs: readonly string[], now = Date.now()): CacheFilter {
  const f: CacheFilter = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw usage(`filter ${JSON.stringify(spec)} is not KEY=VALUE`);
    const key = spec.slice(0, eq).trim().toLowerCase();
    const value = spec.slice(eq + 1).trim();
    if (value === '') throw usage(`filter ${key}= needs a value`);
    switch (key) {
      case 'type':
        if (value !== 'step' && value !== 'cache-mount') throw usage(`filter type=${value}: type is step or cache-mount`);
        (f.types ??= []).push(value);
        break;
      case 'until':
      case 'since':
        (f[key] ??= []).push(parseTime(key, value, now));
        break;
      case 'image':
        try {
          (f.images ??= []).push(normalizeReference(value).toString());
        } catch (e) {
          throw usage(`filter image=${value}: ${(e as Error).message}`);
        }
        break;
      case 'stage':
        (f.stages ??= []).push(value);
        break;
      case 'containerfile':
        (f.containerfiles ??= []).push(value);
        break;
      case 'id': {
        const hex = value.replace(/^sha256:/, '').toLowerCase();
        (f.ids ??= []).push(/^[0-9a-f]+$/.test(hex) ? hex : value);
        break;
      }
      default:
        throw usage(`unknown filter key ${JSON.stringify(key)}`);
    }
  }
  return f;
}

export function isEmptyFilter(f: CacheFilter): boolean {
  return Object.values(f).every((v) => v === undefined || (Array.isArray(v) && v.length === 0));
}

/** True when the filter uses nothing but times (which unreferenced data can match too). */
export function onlyTimeFilters(f: CacheFilter): boolean {
  return f.types === undefined && f.images === undefined && f.stages === undefined && f.containerfiles === undefined && f.ids === undefined;
}

function sameContainerfile(wanted: string, recorded: string, cwd: string): boolean {
  if (wanted === recorded) return true;
  if (isAbsolute(recorded) && resolve(cwd, wanted) === resolve(recorded)) return true;
  return recorded.endsWith(`/${wanted.replace(/^\.\//, '')}`);
}

export function matchesFilter(f: CacheFilter, s: FilterSubject, cwd = process.cwd()): boolean {
  const used = Date.parse(s.lastUsedAt);
  if (f.types && !f.types.includes(s.type)) return false;
  if (f.until && !f.until.some((t) => used < t)) return false;
  if (f.since && !f.since.some((t) => used >= t)) return false;
  if (f.images && !(s.images ?? []).some((n) => f.images!.includes(n))) return false;
  if (f.stages && (s.stage === undefined || !f.stages.includes(s.stage))) return false;
  if (f.containerfiles && (s.containerfile === undefined || !f.containerfiles.some((c) => sameContainerfile(c, s.containerfile!, cwd)))) return false;
  if (f.ids) {
    const hex = s.id.replace(/^sha256:/, '');
    if (!f.ids.some((id) => (s.type === 'step' ? hex.startsWith(id) : s.id === id))) return false;
  }
  return true;
}
