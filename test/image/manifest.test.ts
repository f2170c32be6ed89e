import { describe, expect, it } from 'vitest';
import { OboxError, ErrorCodes } from '../../src/errors.js';
import { Digest } from '../../src/image/digest.js';
import { manifestFormat, parseManifest, parseManifestBytes, serializeManifest, type Manifest } from '../../src/image/manifest.js';
import { MediaTypes } from '../../src/image/media-type.js';
import { expectGolden } from '../helpers/golden.js';
import { CONFIG_DIGEST, DOCKER_MANIFEST, LAYER1, OCI_MANIFEST } from './fixtures.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const golden = (name: string): string => new URL(`golden/${name}`, import.meta.url).pathname;

function rejects(json: unknown, message: RegExp): void {
  let caught: unknown;
  try {
    parseManifest(json);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(OboxError);
  expect((caught as OboxError).code).toBe(ErrorCodes.invalidArchive);
  expect((caught as OboxError).message).toMatch(message);
}

const base = (): Record<string, unknown> => JSON.parse(OCI_MANIFEST) as Record<string, unknown>;

describe('image manifest', () => {
  it('round-trips BuildKit OCI bytes exactly', () => {
    const m = parseManifestBytes(OCI_MANIFEST);
    expect(m.layers).toHaveLength(2);
    expect(manifestFormat(m)).toBe('oci');
    expect(text(serializeManifest(m))).toBe(OCI_MANIFEST);
  });

  it('round-trips Docker schema 2 bytes exactly (mediaType, size, digest order)', () => {
    const m = parseManifestBytes(DOCKER_MANIFEST);
    expect(manifestFormat(m)).toBe('docker');
    expect(text(serializeManifest(m))).toBe(DOCKER_MANIFEST);
  });

  it('writes the canonical form of a re-indented manifest (same digest as the compact one)', () => {
    const pretty = JSON.stringify(JSON.parse(OCI_MANIFEST), null, 3);
    expect(Digest.of(serializeManifest(parseManifestBytes(pretty)))).toBe(Digest.of(OCI_MANIFEST));
  });

  it('keeps every v1.1 field, in image-spec order (golden)', () => {
    const m: Manifest = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: 'application/vnd.example+type' as Manifest['artifactType'],
      config: { mediaType: MediaTypes.ociEmpty, digest: Digest.of('{}'), size: 2, data: 'e30=' },
      layers: [
        {
          mediaType: MediaTypes.ociLayerGzip,
          digest: LAYER1,
          size: 100,
          urls: ['https://example.com/l'],
          annotations: { z: '1', a: '<&>' },
          platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
        },
      ],
      subject: { mediaType: MediaTypes.ociManifest, digest: CONFIG_DIGEST, size: 5 },
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
    };
    const bytes = serializeManifest(m);
    expectGolden(text(bytes), golden('manifest-v1.1.json'));
    expect(parseManifestBytes(bytes)).toEqual(m);
  });

  it('accepts a manifest without mediaType (OCI) and null annotations', () => {
    const j = base();
    delete j.mediaType;
    j.annotations = null;
    const m = parseManifest(j);
    expect(m.mediaType).toBeUndefined();
    expect(m.annotations).toBeUndefined();
    expect(manifestFormat(m)).toBe('oci');
  });

  it('accepts an image with no layers', () => {
    expect(parseManifest({ ...base(), layers: [] }).layers).toEqual([]);
  });

  it.each<[string, (j: Record<string, unknown>) => void, RegExp]>([
    ['not an object', () => undefined, /expected an object/],
    ['schemaVersion 1', (j) => (j.schemaVersion = 1), /schemaVersion: must be 2/],
    ['missing schemaVersion', (j) => delete j.schemaVersion, /schemaVersion: required/],
    ['schemaVersion as a string', (j) => (j.schemaVersion = '2'), /schemaVersion: must be 2/],
    ['an index media type', (j) => (j.mediaType = MediaTypes.ociIndex), /mediaType: unexpected .* index/],
    ['a bogus media type', (j) => (j.mediaType = 'not a type'), /mediaType: .*not a media type/],
    ['missing config', (j) => delete j.config, /config: required field is missing/],
    ['missing layers', (j) => delete j.layers, /layers: required field is missing/],
    ['layers not an array', (j) => (j.layers = {}), /layers: expected an array/],
    ['a bad layer digest', (j) => ((j.layers as Record<string, unknown>[])[1]!.digest = 'sha256:abc'), /layers\[1\]\.digest: .*64 lowercase hex/],
    ['a negative size', (j) => ((j.layers as Record<string, unknown>[])[0]!.size = -1), /layers\[0\]\.size: must be at least 0/],
    ['a fractional size', (j) => ((j.config as Record<string, unknown>).size = 1.5), /config\.size: expected an integer/],
    ['a missing layer mediaType', (j) => delete (j.layers as Record<string, unknown>[])[0]!.mediaType, /layers\[0\]\.mediaType: required/],
    ['a non-string annotation', (j) => (j.annotations = { a: 1 }), /annotations\.a: expected a string/],
    ['urls not strings', (j) => ((j.config as Record<string, unknown>).urls = [1]), /config\.urls\[0\]: expected a string/],
    ['data not matching the digest', (j) => ((j.config as Record<string, unknown>).data = 'e30='), /config\.data: holds 2 bytes but size is 1234/],
    ['a platform without os', (j) => ((j.config as Record<string, unknown>).platform = { architecture: 'amd64' }), /config\.platform\.os: required/],
    ['an index shape', (j) => {
      delete j.mediaType;
      j.manifests = [];
    }, /this is an index/],
  ])('rejects %s', (_name, change, message) => {
    if (_name === 'not an object') {
      rejects([], message);
      return;
    }
    const j = base();
    change(j);
    rejects(j, message);
  });

  it('reports JSON syntax errors as invalidArchive', () => {
    expect(() => parseManifestBytes('{')).toThrow(/invalid image manifest: not valid JSON/);
  });
});
