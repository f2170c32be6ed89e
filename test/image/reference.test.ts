/**
 * Normalisation cases after distribution/reference's normalize_test.go (behaviour, not code).
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, OboxError } from '../../src/errors.js';
import type { Digest } from '../../src/image/digest.js';
import { isValidReference, isValidTag, normalizeReference, parseReference } from '../../src/image/reference.js';

const DGST = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';

describe('reference normalisation', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['foo/bar', 'docker.io/foo/bar:latest', 'foo/bar:latest'],
    ['docker.io/foo', 'docker.io/library/foo:latest', 'foo:latest'],
    ['docker.io/library/foo', 'docker.io/library/foo:latest', 'foo:latest'],
    ['index.docker.io/library/foo', 'docker.io/library/foo:latest', 'foo:latest'],
    ['index.docker.io/fooo/bar', 'docker.io/fooo/bar:latest', 'fooo/bar:latest'],
    ['library/foo/bar', 'docker.io/library/foo/bar:latest', 'library/foo/bar:latest'],
    ['store/foo/bar', 'docker.io/store/foo/bar:latest', 'store/foo/bar:latest'],
    ['other/library', 'docker.io/other/library:latest', 'other/library:latest'],
    ['localhost/x', 'localhost/x:latest', 'localhost/x:latest'],
    ['localhost:5000/x', 'localhost:5000/x:latest', 'localhost:5000/x:latest'],
    ['localhost', 'docker.io/library/localhost:latest', 'localhost:latest'],
    ['registry:5000/x:tag', 'registry:5000/x:tag', 'registry:5000/x:tag'],
    ['127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase:latest', '127.0.0.1:8000/private/moonbase:latest'],
    ['example.com/privatebase', 'example.com/privatebase:latest', 'example.com/privatebase:latest'],
    ['test_com/foo', 'docker.io/test_com/foo:latest', 'test_com/foo:latest'],
    ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080/foo:latest', 'xn--n3h.com:18080/foo:latest'],
    ['Foo/bar', 'Foo/bar:latest', 'Foo/bar:latest'],
    ['[fc00::1]:5000/docker/docker', '[fc00::1]:5000/docker/docker:latest', '[fc00::1]:5000/docker/docker:latest'],
    [`redis@${DGST}`, `docker.io/library/redis@${DGST}`, `redis@${DGST}`],
    [`busybox:latest@${DGST}`, `docker.io/library/busybox:latest@${DGST}`, `busybox:latest@${DGST}`],
    ['dbcc1', 'docker.io/library/dbcc1:latest', 'dbcc1:latest'],
    ['dock__er/docker', 'docker.io/dock__er/docker:latest', 'dock__er/docker:latest'],
    ['docker---rules/docker', 'docker.io/docker---rules/docker:latest', 'docker---rules/docker:latest'],
  ])('%s → %s (familiar %s)', (input, full, familiar) => {
    const ref = normalizeReference(input);
    expect(ref.toString()).toBe(full);
    expect(ref.familiarString()).toBe(familiar);
    // Normalising the full and the familiar form gives the same reference.
    expect(normalizeReference(full).toString()).toBe(full);
    expect(normalizeReference(familiar).toString()).toBe(full);
  });

  it('splits domain and path as distribution does', () => {
    const cases: Array<[string, string, string]> = [
      ['test.com/foo', 'test.com', 'foo'],
      ['test_com/foo', 'docker.io', 'test_com/foo'],
      ['docker/migrator', 'docker.io', 'docker/migrator'],
      ['test.com:8080/foo', 'test.com:8080', 'foo'],
      ['test-com:8080/foo', 'test-com:8080', 'foo'],
      ['foo', 'docker.io', 'library/foo'],
      ['docker.io/library/foo/bar', 'docker.io', 'library/foo/bar'],
    ];
    for (const [input, domain, path] of cases) {
      const ref = parseReference(input);
      expect([ref.domain, ref.path]).toEqual([domain, path]);
    }
  });

  it('parseReference adds no tag; normalizeReference adds latest only to bare names', () => {
    expect(parseReference('busybox').tag).toBeUndefined();
    expect(parseReference('busybox').toString()).toBe('docker.io/library/busybox');
    expect(normalizeReference(`busybox@${DGST}`).tag).toBeUndefined();
    expect(normalizeReference(`busybox@${DGST}`).digest).toBe(DGST);
  });

  it.each([
    ['docker/docker'],
    ['thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev'],
    ['docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a'],
    ['192.168.0.1'],
    ['192.168.0.1:80'],
    ['192.168.0.2:25000/debian'],
    ['[fc00:1:2:3:4:5:6:7]:5000/library/debian'],
    ['DOCKER/docker'],
    ['d/docker'],
    ['jess/t'],
  ])('accepts %s', (input) => {
    expect(isValidReference(input)).toBe(true);
  });

  it.each([
    ['https://github.com/docker/docker'],
    ['docker/Docker'],
    ['-docker'],
    ['-docker/docker'],
    ['-docker.io/docker/docker'],
    ['docker///docker'],
    ['docker.io/docker/Docker'],
    ['docker.io/docker///docker'],
    ['[fc00::1]'],
    ['[fc00::1]:5000'],
    ['fc00::1:5000/debian'],
    ['[fe80::1%eth0]:5000/debian'],
    ['[2001:db8:3:4::192.0.2.33]:5000/debian'],
    ['1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a'],
    ['docker-/docker'],
    ['-docker-/docker'],
    ['____/____'],
    ['_docker/_docker'],
    ['dock..er/docker'],
    ['dock_.er/docker'],
    ['dock-.er/docker'],
    ['docker/'],
    [''],
    [`${'a'.repeat(256)}/docker`],
    ['busybox:-tag'],
    [`busybox:${'a'.repeat(129)}`],
    ['busybox@sha256:abc'],
    [`busybox@md5:${'a'.repeat(32)}`],
  ])('rejects %j', (input) => {
    let caught: unknown;
    try {
      parseReference(input);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(OboxError);
    expect((caught as OboxError).code).toBe(ErrorCodes.usage);
  });

  it('says why an upper-case repository fails', () => {
    expect(() => parseReference('docker/Docker')).toThrow(/must be lowercase/);
    expect(() => parseReference('1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a')).toThrow(/64-byte hexadecimal/);
  });

  it('validates tags and builds new references without touching the old one', () => {
    expect(isValidTag('v1.0_rc-2')).toBe(true);
    expect(isValidTag('.x')).toBe(false);
    const ref = parseReference('foo/bar');
    const tagged = ref.withTag('v1');
    expect(tagged.toString()).toBe('docker.io/foo/bar:v1');
    expect(ref.tag).toBeUndefined();
    expect(() => ref.withTag('-no')).toThrow(OboxError);
    expect(tagged.withDigest(DGST as Digest).toString()).toBe(`docker.io/foo/bar:v1@${DGST}`);
    expect(tagged.repository().toString()).toBe('docker.io/foo/bar');
    expect(tagged.name).toBe('docker.io/foo/bar');
    expect(tagged.familiarName()).toBe('foo/bar');
    expect(tagged.equals(normalizeReference('foo/bar:v1'))).toBe(true);
  });
});
