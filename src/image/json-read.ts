/**
 * Reading untrusted JSON into typed values: one helper per JSON shape, each naming the field that
 * failed (`image manifest: layers[2].digest: expected a string, got number`).
 * Every failure is an OboxError(invalidArchive). `null` counts as absent for optional fields,
 * because Go encoders write nil slices and maps as `null`.
 */
import { ErrorCodes, OboxError } from '../errors.js';

/** What is being read, for messages: `image manifest`, `image config`, `docker-archive manifest.json`. */
export interface ReadContext {
  readonly what: string;
}

export type JsonRecord = Readonly<Record<string, unknown>>;

export function fail(ctx: ReadContext, path: string, problem: string): never {
  const where = path === '' ? '' : `${path}: `;
  throw new OboxError(ErrorCodes.invalidArchive, `invalid ${ctx.what}: ${where}${problem}`);
}

export function describeJson(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** Parse bytes or text as JSON; a syntax error becomes invalidArchive. */
export function parseJsonText(ctx: ReadContext, data: Uint8Array | string): unknown {
  const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new OboxError(ErrorCodes.invalidArchive, `invalid ${ctx.what}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

export function readObject(ctx: ReadContext, v: unknown, path: string): JsonRecord {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(ctx, path, `expected an object, got ${describeJson(v)}`);
  return v as JsonRecord;
}

export function readString(ctx: ReadContext, v: unknown, path: string): string {
  if (typeof v !== 'string') fail(ctx, path, `expected a string, got ${describeJson(v)}`);
  return v;
}

export function optString(ctx: ReadContext, o: JsonRecord, key: string, path: string): string | undefined {
  const v = o[key];
  return v === undefined || v === null ? undefined : readString(ctx, v, join(path, key));
}

export function reqString(ctx: ReadContext, o: JsonRecord, key: string, path: string): string {
  const v = o[key];
  if (v === undefined || v === null) fail(ctx, join(path, key), 'required field is missing');
  return readString(ctx, v, join(path, key));
}

export function readInteger(ctx: ReadContext, v: unknown, path: string, min = Number.MIN_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(ctx, path, `expected an integer, got ${describeJson(v)}`);
  if (v < min) fail(ctx, path, `must be at least ${min}, got ${v}`);
  return v;
}

export function optInteger(ctx: ReadContext, o: JsonRecord, key: string, path: string, min?: number): number | undefined {
  const v = o[key];
  return v === undefined || v === null ? undefined : readInteger(ctx, v, join(path, key), min);
}

export function optBoolean(ctx: ReadContext, o: JsonRecord, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') fail(ctx, join(path, key), `expected true or false, got ${describeJson(v)}`);
  return v;
}

export function readArray(ctx: ReadContext, v: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(v)) fail(ctx, path, `expected an array, got ${describeJson(v)}`);
  return v;
}

export function readStringArray(ctx: ReadContext, v: unknown, path: string): string[] {
  return readArray(ctx, v, path).map((item, i) => readString(ctx, item, join(path, i)));
}

export function optStringArray(ctx: ReadContext, o: JsonRecord, key: string, path: string): string[] | undefined {
  const v = o[key];
  return v === undefined || v === null ? undefined : readStringArray(ctx, v, join(path, key));
}

export function readStringMap(ctx: ReadContext, v: unknown, path: string): Record<string, string> {
  const o = readObject(ctx, v, path);
  const out: Record<string, string> = {};
  for (const [k, item] of Object.entries(o)) out[k] = readString(ctx, item, join(path, k));
  return out;
}

export function optStringMap(ctx: ReadContext, o: JsonRecord, key: string, path: string): Record<string, string> | undefined {
  const v = o[key];
  return v === undefined || v === null ? undefined : readStringMap(ctx, v, join(path, key));
}

/** Go's `map[string]struct{}` (ExposedPorts, Volumes): keys matter, each value must be an object. */
export function optKeySet(ctx: ReadContext, o: JsonRecord, key: string, path: string): Record<string, EmptyObject> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const m = readObject(ctx, v, join(path, key));
  const out: Record<string, EmptyObject> = {};
  for (const [k, item] of Object.entries(m)) {
    readObject(ctx, item, join(join(path, key), k));
    out[k] = {};
  }
  return out;
}

export type EmptyObject = Record<string, never>;
