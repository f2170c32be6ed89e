/**
 * Canonical JSON bytes, the way Go's encoding/json writes them (what docker, BuildKit and
 * containerd emit): no whitespace, struct fields in declaration order, map keys sorted by their
 * UTF-8 bytes, `<` `>` `&` U+2028 U+2029 escaped as \u00XX, invalid UTF-16 replaced by U+FFFD.
 * The same value always gives the same bytes, so the same digest.
 *
 * Serialisers build a tree of `JsonObject`s (ordered entries) rather than relying on JS object key
 * order, which puts integer-like keys first.
 */

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | JsonObject;

/** An object whose keys are written in exactly this order. */
export class JsonObject {
  constructor(readonly entries: ReadonlyArray<readonly [string, JsonValue]>) {}
}

/** A struct: keys in the given order; `undefined` values are left out (Go's omitempty / nil pointers). */
export function struct(entries: ReadonlyArray<readonly [string, JsonValue | undefined]>): JsonObject {
  const kept: Array<readonly [string, JsonValue]> = [];
  for (const [k, v] of entries) if (v !== undefined) kept.push([k, v]);
  return new JsonObject(kept);
}

/** A Go map: keys sorted by UTF-8 byte order. */
export function goMap<T>(record: Readonly<Record<string, T>>, value: (v: T) => JsonValue): JsonObject {
  const keys = Object.keys(record).sort(compareUtf8);
  return new JsonObject(keys.map((k) => [k, value(record[k] as T)] as const));
}

/** Go's omitempty for strings, slices and maps: empty means absent. */
export function omitEmptyString(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

export function omitEmptyArray<T>(a: readonly T[] | undefined): readonly T[] | undefined {
  return a === undefined || a.length === 0 ? undefined : a;
}

export function omitEmptyMap<T>(m: Readonly<Record<string, T>> | undefined): Readonly<Record<string, T>> | undefined {
  return m === undefined || Object.keys(m).length === 0 ? undefined : m;
}

export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const GO_EXTRA_ESCAPES = /[<>&\u2028\u2029]/g;

export function quoteString(s: string): string {
  return JSON.stringify(s.replace(LONE_SURROGATE, '\uFFFD')).replace(
    GO_EXTRA_ESCAPES,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function encodeJson(v: JsonValue): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return quoteString(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(v)) throw new RangeError(`canonical JSON only holds safe integers, got ${v}`);
      return String(v);
  }
  if (v instanceof JsonObject) {
    return `{${v.entries.map(([k, item]) => `${quoteString(k)}:${encodeJson(item)}`).join(',')}}`;
  }
  return `[${(v as readonly JsonValue[]).map(encodeJson).join(',')}]`;
}

export function encodeJsonBytes(v: JsonValue): Uint8Array {
  return Buffer.from(encodeJson(v), 'utf8');
}
