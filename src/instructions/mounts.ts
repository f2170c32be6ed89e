/**
 * `RUN --mount=…`: the CSV-ish option list, checked and typed as BuildKit does
 * (frontend/dockerfile/instructions/commands_runmount.go).
 *
 * Two steps, because BuildKit expands mount values with the stage's environment:
 * - `parseMountSpec` (when the instruction is read): splits the fields, rejects fields without `=`
 *   (other than ro/rw/required), unknown keys, and variables in `from=`.
 * - `resolveMounts` (after each value is expanded): types, per-type rules, and defaults.
 * Both throw {@link MountError}; callers turn it into an error located at the `--mount` flag.
 */
import { suggest } from './suggest.js';

export class MountError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'MountError';
  }
}

export interface MountField {
  /** Lowercased key. */
  key: string;
  /** Undefined for a bare `ro`, `rw`, `readonly`, `readwrite` or `required`. */
  value: string | undefined;
}

export interface MountSpec {
  /** The flag value as written after `--mount=`. */
  text: string;
  fields: MountField[];
}

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type CacheSharing = 'shared' | 'private' | 'locked';

export interface BindMount {
  type: 'bind';
  target: string;
  /** Path inside the source; `/` when not given. */
  source: string;
  /** Stage or image to mount from; undefined: the build context. */
  from: string | undefined;
  readOnly: boolean;
}

export interface CacheMount {
  type: 'cache';
  target: string;
  /** Defaults to the target. */
  id: string;
  sharing: CacheSharing;
  /** Stage or image to seed the cache from; undefined: an empty directory. */
  from: string | undefined;
  source: string;
  readOnly: boolean;
  mode: number;
  uid: number;
  gid: number;
}

export interface TmpfsMount {
  type: 'tmpfs';
  target: string;
  /** Bytes; undefined for no limit. */
  size: number | undefined;
}

export interface SecretMount {
  type: 'secret';
  id: string;
  /** Undefined only when the secret goes to `env` alone. */
  target: string | undefined;
  /** Environment variable to expose the secret as. */
  env: string | undefined;
  required: boolean;
  mode: number;
  uid: number;
  gid: number;
}

export interface SshMount {
  type: 'ssh';
  id: string;
  target: string;
  required: boolean;
  mode: number;
  uid: number;
  gid: number;
}

export type RunMount = BindMount | CacheMount | TmpfsMount | SecretMount | SshMount;

const MOUNT_TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING: readonly CacheSharing[] = ['shared', 'private', 'locked'];
const KEYS: readonly string[] = [
  'type',
  'from',
  'source',
  'src',
  'target',
  'dst',
  'destination',
  'readonly',
  'ro',
  'readwrite',
  'rw',
  'id',
  'sharing',
  'required',
  'mode',
  'uid',
  'gid',
  'size',
  'env',
];
const BARE_KEYS = new Set(['readonly', 'ro', 'readwrite', 'rw', 'required']);

/** One CSV record as Go's encoding/csv reads it (`,` separated, `"…"` fields with `""` for a quote). */
export function splitCsvRecord(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new MountError(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
      if (i < text.length && text[i] !== ',') throw new MountError(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
    } else {
      while (i < text.length && text[i] !== ',') {
        if (text[i] === '"') throw new MountError(`failed to parse csv mounts: bare " in non-quoted-field`);
        field += text[i++];
      }
    }
    fields.push(field);
    if (i >= text.length) return fields;
    i++; // the comma
  }
}

/** Reads one `--mount` value. Values stay unexpanded. */
export function parseMountSpec(text: string): MountSpec {
  const fields: MountField[] = [];
  for (const field of splitCsvRecord(text)) {
    const eq = field.indexOf('=');
    const key = (eq === -1 ? field : field.slice(0, eq)).toLowerCase();
    if (eq === -1) {
      if (!BARE_KEYS.has(key)) throw new MountError(`invalid field '${field}' must be a key=value pair`, 'write key=value, e.g. type=cache,target=/root/.cache');
      fields.push({ key, value: undefined });
      continue;
    }
    if (!KEYS.includes(key)) {
      const close = suggest(key, KEYS, true);
      throw new MountError(`unexpected key '${key}' in '${field}'`, close ? `did you mean ${close}?` : `mount options are: ${KEYS.join(', ')}`);
    }
    const value = field.slice(eq + 1);
    if (key === 'from' && hasVariable(value)) {
      throw new MountError(`'from' doesn't support variable expansion, define alias stage instead`, 'add `FROM ${VAR} AS alias` and mount from=alias');
    }
    fields.push({ key, value });
  }
  return { text, fields };
}

/** True when a value contains a `$` that could start a variable (BuildKit: a `$` before the last character). */
export function hasVariable(value: string): boolean {
  const at = value.indexOf('$');
  return at !== -1 && at !== value.length - 1;
}

/** Go strconv.ParseBool. */
function parseBool(key: string, value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new MountError(`invalid value for ${key}: ${value}`, `use ${key}=true or ${key}=false`);
}

function parseUint(key: string, value: string, radix: 8 | 10): number {
  const ok = radix === 8 ? /^[0-7]+$/.test(value) : /^[0-9]+$/.test(value);
  const n = ok ? Number.parseInt(value, radix) : NaN;
  if (!ok || n > 0xffffffff) {
    throw new MountError(`invalid value ${value} for ${key}`, radix === 8 ? `${key} is octal, e.g. ${key}=0755` : `${key} is a number, e.g. ${key}=1000`);
  }
  return n;
}

const SIZE = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const UNITS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** docker/go-units RAMInBytes: `64m`, `1g`, `512MiB`, plain bytes; binary multiples. */
export function parseRamSize(value: string): number {
  const m = SIZE.exec(value);
  const n = m ? Number(m[1]) : NaN;
  if (!m || !Number.isFinite(n)) throw new MountError(`invalid value for size: ${value}`, 'write a size such as size=64m or size=1g');
  return Math.trunc(n * (m[2] ? UNITS[m[2].toLowerCase()]! : 1));
}

interface Collected {
  type: MountType;
  from?: string;
  source?: string;
  target?: string;
  readOnly?: boolean;
  id?: string;
  sharing?: CacheSharing;
  required?: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  env?: string;
}

function collect(spec: MountSpec): Collected {
  const typeField = [...spec.fields].reverse().find((f) => f.key === 'type');
  let type: MountType = 'bind';
  if (typeField) {
    const t = (typeField.value ?? '').toLowerCase();
    if (!(MOUNT_TYPES as readonly string[]).includes(t)) {
      const close = suggest(t, MOUNT_TYPES, true);
      throw new MountError(`unsupported mount type "${typeField.value}"`, close ? `did you mean ${close}?` : `mount types are: ${MOUNT_TYPES.join(', ')}`);
    }
    type = t as MountType;
  }
  const c: Collected = { type };
  const onlyFor = (key: string, types: readonly MountType[]): void => {
    if (!types.includes(type)) throw new MountError(`unexpected key '${key}' for mount type '${type}'`, `${key} applies to type=${types.join('|')}`);
  };
  for (const { key, value } of spec.fields) {
    switch (key) {
      case 'type':
        break;
      case 'from':
        c.from = value;
        break;
      case 'source':
      case 'src':
        c.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        c.target = value;
        break;
      case 'readonly':
      case 'ro':
        c.readOnly = value === undefined ? true : parseBool(key, value);
        break;
      case 'readwrite':
      case 'rw':
        c.readOnly = value === undefined ? false : !parseBool(key, value);
        break;
      case 'required':
        onlyFor(key, ['secret', 'ssh']);
        c.required = value === undefined ? true : parseBool(key, value);
        break;
      case 'id':
        c.id = value;
        break;
      case 'sharing': {
        const s = (value ?? '').toLowerCase();
        if (!(SHARING as readonly string[]).includes(s)) throw new MountError(`unsupported sharing value "${value}"`, `sharing is one of ${SHARING.join(', ')}`);
        c.sharing = s as CacheSharing;
        break;
      }
      case 'mode':
        c.mode = parseUint(key, value ?? '', 8);
        break;
      case 'uid':
        c.uid = parseUint(key, value ?? '', 10);
        break;
      case 'gid':
        c.gid = parseUint(key, value ?? '', 10);
        break;
      case 'size':
        onlyFor(key, ['tmpfs']);
        c.size = parseRamSize(value ?? '');
        break;
      case 'env':
        onlyFor(key, ['secret']);
        c.env = value;
        break;
    }
  }
  return c;
}

function requireTarget(c: Collected): string {
  if (c.target === undefined || c.target === '') {
    throw new MountError(`mount type '${c.type}' requires a target`, `add target=/path, e.g. --mount=type=${c.type},target=/cache`);
  }
  return c.target;
}

function basename(p: string): string {
  const parts = p.split('/').filter((s) => s !== '');
  return parts[parts.length - 1] ?? '';
}

function resolveOne(c: Collected, sshIndex: number): RunMount {
  const fileInfoAllowed = c.type === 'secret' || c.type === 'ssh' || c.type === 'cache';
  for (const key of ['mode', 'uid', 'gid'] as const) {
    if (c[key] !== undefined && !fileInfoAllowed) throw new MountError(`${key} not allowed for "${c.type}" type mounts`, `${key} applies to type=cache|secret|ssh`);
  }
  if (c.sharing !== undefined && c.type !== 'cache') throw new MountError(`invalid cache sharing set for ${c.type} mount`, 'sharing applies to type=cache');
  const from = c.from === '' ? undefined : c.from;

  switch (c.type) {
    case 'bind':
      return { type: 'bind', target: requireTarget(c), source: c.source || '/', from, readOnly: c.readOnly ?? true };
    case 'cache': {
      const target = requireTarget(c);
      return {
        type: 'cache',
        target,
        id: c.id || target,
        sharing: c.sharing ?? 'shared',
        from,
        source: c.source || '/',
        readOnly: c.readOnly ?? false,
        mode: c.mode ?? 0o755,
        uid: c.uid ?? 0,
        gid: c.gid ?? 0,
      };
    }
    case 'tmpfs':
      return { type: 'tmpfs', target: requireTarget(c), size: c.size };
    case 'secret': {
      if (from !== undefined) throw new MountError('secret mount should not have a from', 'secrets come from --secret on the command line');
      if (!c.source && !c.target && !c.id) throw new MountError('invalid secret mount. one of source, target required', 'add id=NAME (the --secret id) or target=/path');
      if (c.source && c.id) throw new MountError("both source and id can't be set", 'use id=NAME only');
      const id = c.id || c.source || basename(c.target ?? '');
      const target = c.target || (c.env ? undefined : `/run/secrets/${id}`);
      return { type: 'secret', id, target, env: c.env || undefined, required: c.required ?? false, mode: c.mode ?? 0o400, uid: c.uid ?? 0, gid: c.gid ?? 0 };
    }
    case 'ssh':
      return {
        type: 'ssh',
        id: c.id || 'default',
        target: c.target || `/run/buildkit/ssh_agent.${sshIndex}`,
        required: c.required ?? false,
        mode: c.mode ?? 0o600,
        uid: c.uid ?? 0,
        gid: c.gid ?? 0,
      };
  }
}

/**
 * Types the mounts of one RUN once their values are expanded, applying BuildKit's defaults.
 * Throws {@link MountError} with `index` set to the offending mount.
 */
export function resolveMounts(specs: readonly MountSpec[]): RunMount[] {
  let ssh = 0;
  return specs.map((spec, index) => {
    try {
      const collected = collect(spec);
      return resolveOne(collected, collected.type === 'ssh' ? ssh++ : ssh);
    } catch (e) {
      if (e instanceof MountError) throw new MountResolveError(e.message, index, e.hint);
      throw e;
    }
  });
}

/** A {@link MountError} that knows which `--mount` (0-based) it is about. */
export class MountResolveError extends MountError {
  constructor(
    message: string,
    readonly index: number,
    hint?: string,
  ) {
    super(message, hint);
    this.name = 'MountResolveError';
  }
}
