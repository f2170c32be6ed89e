import { describe, expect, it } from 'vitest';
import { encodeJson, goMap, JsonObject, quoteString, struct } from '../../src/image/canonical-json.js';

describe('canonical JSON (Go encoding/json bytes)', () => {
  it('escapes <, >, &, U+2028, U+2029 as Go does', () => {
    expect(quoteString('a && b > c < d')).toBe('"a \\u0026\\u0026 b \\u003e c \\u003c d"');
    expect(quoteString('\u2028\u2029')).toBe('"\\u2028\\u2029"');
  });

  it('escapes control characters and quotes', () => {
    expect(quoteString('"\\\n\r\t\b\f\u0001\u001b\u007f')).toBe('"\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001b\u007f"');
  });

  it('replaces lone surrogates with U+FFFD like Go, keeps pairs', () => {
    expect(quoteString('a\uD800b')).toBe('"a\uFFFDb"');
    expect(quoteString('\uDC00')).toBe('"\uFFFD"');
    expect(quoteString('😀')).toBe('"😀"');
  });

  it('writes struct fields in order, dropping undefined', () => {
    expect(encodeJson(struct([['b', 1], ['a', undefined], ['c', [true, null, 'x']]]))).toBe('{"b":1,"c":[true,null,"x"]}');
  });

  it('sorts map keys by UTF-8 bytes, including integer-like keys', () => {
    // A JS object would put "10" and "9" first; Go sorts bytes: "10" < "9" < "Z" < "a" < "é" < "😀".
    const m = goMap({ a: 1, '9': 2, Z: 3, '10': 4, 'é': 5, '😀': 6, '\uFF01': 7 }, (v) => v);
    expect(encodeJson(m)).toBe('{"10":4,"9":2,"Z":3,"a":1,"é":5,"\uFF01":7,"😀":6}');
  });

  it('refuses numbers that Go would not write as int64', () => {
    expect(() => encodeJson(1.5)).toThrow(RangeError);
    expect(() => encodeJson(2 ** 60)).toThrow(RangeError);
    expect(encodeJson(new JsonObject([]))).toBe('{}');
  });
});
