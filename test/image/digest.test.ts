import { describe, expect, it } from 'vitest';
import { Digest, digestProblem } from '../../src/image/digest.js';
import { OboxError } from '../../src/errors.js';

const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('Digest', () => {
  it('hashes bytes and strings', () => {
    expect(Digest.of(new Uint8Array())).toBe(EMPTY_SHA256);
    expect(Digest.of('')).toBe(EMPTY_SHA256);
    expect(Digest.of('abc', 'sha512')).toBe(
      'sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
  });

  it('hashes incrementally with the same result, counting bytes', () => {
    const h = Digest.hasher();
    h.update(Buffer.from('ab'));
    h.update(Buffer.from('c'));
    expect(h.size).toBe(3);
    expect(h.digest()).toBe(Digest.of('abc'));
  });

  it.each([
    EMPTY_SHA256,
    `sha512:${'a'.repeat(128)}`,
  ])('accepts %s', (s) => {
    expect(Digest.parse(s)).toBe(s);
    expect(Digest.isValid(s)).toBe(true);
  });

  it.each([
    ['', 'expected algorithm:encoded'],
    ['e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'expected algorithm:encoded'],
    [`sha256:${'a'.repeat(63)}`, '64 lowercase hex'],
    [`sha256:${'a'.repeat(65)}`, '64 lowercase hex'],
    [`sha256:${'A'.repeat(64)}`, '64 lowercase hex'],
    [`sha256:${'g'.repeat(64)}`, '64 lowercase hex'],
    [`sha512:${'a'.repeat(64)}`, '128 lowercase hex'],
    [`md5:${'a'.repeat(32)}`, 'unsupported digest algorithm "md5"'],
    [`SHA256:${'a'.repeat(64)}`, 'expected algorithm:encoded'],
    [`sha256:${'a'.repeat(64)}\n`, 'expected algorithm:encoded'],
  ])('rejects %j', (s, problem) => {
    expect(digestProblem(s)).toContain(problem);
    expect(Digest.isValid(s)).toBe(false);
    expect(() => Digest.parse(s, 'layer digest')).toThrow(OboxError);
    expect(() => Digest.parse(s, 'layer digest')).toThrow(/invalid layer digest/);
  });

  it('splits algorithm and hex', () => {
    const d = Digest.parse(EMPTY_SHA256);
    expect(Digest.algorithm(d)).toBe('sha256');
    expect(Digest.hex(d)).toBe(EMPTY_SHA256.slice(7));
    expect(Digest.short(d)).toBe('e3b0c44298fc');
    expect(Digest.fromHex('sha256', Digest.hex(d))).toBe(d);
  });

  it('rejects non-strings', () => {
    expect(Digest.isValid(42)).toBe(false);
    expect(Digest.isValid(undefined)).toBe(false);
  });
});
