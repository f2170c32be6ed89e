import { describe, expect, it } from 'vitest';
import { Digest } from '../../src/image/digest.js';
import { MediaTypes } from '../../src/image/media-type.js';
import { parseIndex, parseIndexBytes, serializeIndex, type Index } from '../../src/image/oci-index.js';
import { LAYER1, LAYER2 } from './fixtures.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

describe('image index / manifest list', () => {
  it('writes an OCI layout index.json as BuildKit does', () => {
    const ix: Index = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [
        {
          mediaType: MediaTypes.ociManifest,
          digest: LAYER1,
          size: 481,
          annotations: { 'org.opencontainers.image.ref.name': 'latest', 'io.containerd.image.name': 'docker.io/library/x:latest' },
        },
      ],
    };
    const expected =
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[' +
      `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"${LAYER1}","size":481,` +
      '"annotations":{"io.containerd.image.name":"docker.io/library/x:latest","org.opencontainers.image.ref.name":"latest"}}]}';
    expect(text(serializeIndex(ix))).toBe(expected);
    expect(parseIndexBytes(expected)).toEqual(ix);
  });

  it('round-trips a Docker manifest list (size before digest, platform)', () => {
    const list =
      '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[' +
      `{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":527,"digest":"${LAYER1}","platform":{"architecture":"amd64","os":"linux"}},` +
      `{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":527,"digest":"${LAYER2}","platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}`;
    const ix = parseIndexBytes(list);
    expect(ix.manifests[1]?.platform).toEqual({ architecture: 'arm', os: 'linux', variant: 'v7' });
    expect(text(serializeIndex(ix))).toBe(list);
  });

  it('rejects a manifest given as an index, and names the field', () => {
    expect(() => parseIndex({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, manifests: [] })).toThrow(/image manifest, not an index/);
    expect(() => parseIndex({ schemaVersion: 2 }, 'index.json')).toThrow(/invalid index\.json: manifests: required field is missing/);
    expect(() => parseIndex({ schemaVersion: 2, manifests: [{ mediaType: MediaTypes.ociManifest, digest: Digest.of('x') }] })).toThrow(
      /manifests\[0\]\.size: required/,
    );
  });
});
