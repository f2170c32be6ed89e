import { describe, expect, it } from 'vitest';
import {
  archivePathProblem,
  parseDockerArchiveManifest,
  parseDockerArchiveManifestBytes,
  parseDockerRepositories,
  parseDockerRepositoriesBytes,
  serializeDockerArchiveManifest,
  serializeDockerRepositories,
} from '../../src/image/docker-archive.js';
import { Digest } from '../../src/image/digest.js';
import { DIFF1, LAYER1 } from './fixtures.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const hex = Digest.hex(Digest.of('config'));

describe('docker-archive manifest.json', () => {
  it('round-trips what docker save writes', () => {
    const json =
      `[{"Config":"${hex}.json","RepoTags":["busybox:latest","registry:5000/x/y:1.0"],` +
      `"Layers":["${Digest.hex(LAYER1)}/layer.tar","blobs/sha256/${Digest.hex(DIFF1)}"]}]`;
    const entries = parseDockerArchiveManifestBytes(json);
    expect(entries[0]?.RepoTags).toEqual(['busybox:latest', 'registry:5000/x/y:1.0']);
    expect(text(serializeDockerArchiveManifest(entries))).toBe(json);
  });

  it('writes RepoTags null when untagged, and LayerSources in docker order', () => {
    const entries = parseDockerArchiveManifest([
      {
        Config: 'c.json',
        RepoTags: null,
        Layers: ['l/layer.tar'],
        LayerSources: { [DIFF1]: { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: LAYER1, size: 10, urls: ['https://x/y'] } },
      },
    ]);
    expect(entries[0]?.RepoTags).toEqual([]);
    expect(text(serializeDockerArchiveManifest(entries))).toBe(
      `[{"Config":"c.json","RepoTags":null,"Layers":["l/layer.tar"],"LayerSources":{"${DIFF1}":` +
        `{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","size":10,"digest":"${LAYER1}","urls":["https://x/y"]}}}]`,
    );
  });

  it.each<[string, unknown, RegExp]>([
    ['not an array', {}, /manifest\.json: expected an array/],
    ['no Config', [{ Layers: [] }], /\[0\]\.Config: required/],
    ['no Layers', [{ Config: 'c.json' }], /\[0\]\.Layers: required/],
    ['an absolute Config path', [{ Config: '/etc/passwd', Layers: [] }], /\[0\]\.Config: path "\/etc\/passwd" is absolute/],
    ['a layer path climbing out', [{ Config: 'c', Layers: ['a/../../x'] }], /\[0\]\.Layers\[0\]: path .* climbs out/],
    ['a RepoTag without a tag', [{ Config: 'c', Layers: [], RepoTags: ['busybox'] }], /RepoTags\[0\]: "busybox" is not a name:tag/],
    ['a RepoTag with upper case', [{ Config: 'c', Layers: [], RepoTags: ['Busybox:latest'] }], /RepoTags\[0\]/],
    ['a LayerSources key that is not a digest', [{ Config: 'c', Layers: [], LayerSources: { x: {} } }], /LayerSources key/],
  ])('rejects %s', (_n, json, message) => {
    expect(() => parseDockerArchiveManifest(json)).toThrow(message);
  });

  it('checks archive paths', () => {
    expect(archivePathProblem('a/b.tar')).toBeUndefined();
    expect(archivePathProblem('')).toBe('is empty');
    expect(archivePathProblem('a\0b')).toBe('contains a NUL byte');
    expect(archivePathProblem('..')).toMatch(/climbs/);
  });
});

describe('docker-archive repositories', () => {
  const id = Digest.hex(LAYER1);

  it('round-trips, maps sorted', () => {
    const json = `{"busybox":{"1.36":"${id}","latest":"${id}"},"foo/bar":{"v1":"${id}"}}`;
    const repos = parseDockerRepositoriesBytes(json);
    expect(repos.busybox?.latest).toBe(id);
    expect(text(serializeDockerRepositories({ 'foo/bar': { v1: id }, busybox: { latest: id, '1.36': id } }))).toBe(json);
  });

  it.each<[string, unknown, RegExp]>([
    ['a bad repo', { 'Bad Repo': {} }, /"Bad Repo" is not a repository name/],
    ['a repo with a tag', { 'busybox:latest': {} }, /not a repository name/],
    ['a bad tag', { busybox: { '-x': id } }, /"-x" is not a valid tag/],
    ['a bad id', { busybox: { latest: 'sha256:' + id } }, /busybox\.latest: expected a 64-hex layer id/],
  ])('rejects %s', (_n, json, message) => {
    expect(() => parseDockerRepositories(json)).toThrow(message);
  });
});
