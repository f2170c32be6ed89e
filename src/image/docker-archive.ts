/**
 * The two index files of a `docker save` tarball: `manifest.json` (one entry per image:
 * Config, RepoTags, Layers, LayerSources) and the legacy `repositories` (repo → tag → top layer id).
 * Paths inside them are checked to stay inside the archive: relative, no `..`, no NUL.
 */
import { encodeJsonBytes, goMap, struct, type JsonValue } from './canonical-json.js';
import { dockerDescriptorJson, parseDescriptor, readDigest, type Descriptor } from './descriptor.js';
import {
  fail,
  join,
  optString,
  parseJsonText,
  readArray,
  readObject,
  readString,
  readStringMap,
  reqString,
  type ReadContext,
} from './json-read.js';
import { parseReference } from './reference.js';

export interface DockerArchiveEntry {
  /** Path of the config JSON inside the archive (`<hex>.json` or `blobs/sha256/<hex>`). */
  readonly Config: string;
  /** Familiar `name:tag` strings, as docker writes them (`busybox:latest`). */
  readonly RepoTags: readonly string[];
  /** Paths of the layer tars, base first. */
  readonly Layers: readonly string[];
  readonly Parent?: string;
  /** Where non-distributable layers come from, keyed by diffID. */
  readonly LayerSources?: Readonly<Record<string, Descriptor>>;
}

/** repo name → tag → id of the top layer (64 hex, no algorithm). */
export type DockerRepositories = Readonly<Record<string, Readonly<Record<string, string>>>>;

const MANIFEST_CTX: ReadContext = { what: 'docker-archive manifest.json' };
const REPOS_CTX: ReadContext = { what: 'docker-archive repositories file' };

/** Why `p` is not a safe relative path inside an archive, or undefined. */
export function archivePathProblem(p: string): string | undefined {
  if (p === '') return 'is empty';
  if (p.includes('\0')) return 'contains a NUL byte';
  if (p.startsWith('/')) return 'is absolute';
  if (p.split('/').some((part) => part === '..')) return 'climbs out with ".."';
  return undefined;
}

function readArchivePath(ctx: ReadContext, v: unknown, path: string): string {
  const s = readString(ctx, v, path);
  const problem = archivePathProblem(s);
  if (problem !== undefined) fail(ctx, path, `path ${JSON.stringify(s)} ${problem}`);
  return s;
}

function readRepoTag(ctx: ReadContext, v: unknown, path: string): string {
  const s = readString(ctx, v, path);
  let ok: boolean;
  try {
    const ref = parseReference(s);
    ok = ref.tag !== undefined && ref.digest === undefined;
  } catch {
    ok = false;
  }
  if (!ok) fail(ctx, path, `${JSON.stringify(s)} is not a name:tag reference`);
  return s;
}

export function parseDockerArchiveManifest(json: unknown): DockerArchiveEntry[] {
  const ctx = MANIFEST_CTX;
  return readArray(ctx, json, '').map((item, i) => {
    const path = `[${i}]`;
    const o = readObject(ctx, item, path);
    if (o.Config === undefined || o.Config === null) fail(ctx, join(path, 'Config'), 'required field is missing');
    const Config = readArchivePath(ctx, reqString(ctx, o, 'Config', path), join(path, 'Config'));
    const RepoTags =
      o.RepoTags === undefined || o.RepoTags === null
        ? []
        : readArray(ctx, o.RepoTags, join(path, 'RepoTags')).map((t, j) => readRepoTag(ctx, t, join(join(path, 'RepoTags'), j)));
    if (o.Layers === undefined || o.Layers === null) fail(ctx, join(path, 'Layers'), 'required field is missing');
    const Layers = readArray(ctx, o.Layers, join(path, 'Layers')).map((l, j) => readArchivePath(ctx, l, join(join(path, 'Layers'), j)));
    const Parent = optString(ctx, o, 'Parent', path);
    let LayerSources: Record<string, Descriptor> | undefined;
    if (o.LayerSources !== undefined && o.LayerSources !== null) {
      const sourcesPath = join(path, 'LayerSources');
      LayerSources = {};
      for (const [diffId, d] of Object.entries(readObject(ctx, o.LayerSources, sourcesPath))) {
        readDigest(ctx, diffId, `${sourcesPath} key`);
        LayerSources[diffId] = parseDescriptor(ctx, d, join(sourcesPath, diffId));
      }
    }
    return {
      Config,
      RepoTags,
      Layers,
      ...(Parent !== undefined && Parent !== '' ? { Parent } : {}),
      ...(LayerSources !== undefined ? { LayerSources } : {}),
    };
  });
}

export function parseDockerArchiveManifestBytes(data: Uint8Array | string): DockerArchiveEntry[] {
  return parseDockerArchiveManifest(parseJsonText(MANIFEST_CTX, data));
}

/** moby `tarexport.manifestItem` order; RepoTags is `null` when empty, as docker writes it. */
export function serializeDockerArchiveManifest(entries: readonly DockerArchiveEntry[]): Uint8Array {
  return encodeJsonBytes(
    entries.map((e) => {
      const sources = e.LayerSources && Object.keys(e.LayerSources).length > 0 ? e.LayerSources : undefined;
      return struct([
        ['Config', e.Config],
        ['RepoTags', e.RepoTags.length === 0 ? null : [...e.RepoTags]],
        ['Layers', [...e.Layers]],
        ['Parent', e.Parent === '' ? undefined : e.Parent],
        ['LayerSources', sources && goMap(sources, dockerDescriptorJson)],
      ]);
    }),
  );
}

const LAYER_ID = /^[a-f0-9]{64}$/;

export function parseDockerRepositories(json: unknown): DockerRepositories {
  const ctx = REPOS_CTX;
  const out: Record<string, Record<string, string>> = {};
  for (const [repo, tags] of Object.entries(readObject(ctx, json, ''))) {
    try {
      const ref = parseReference(repo);
      if (ref.tag !== undefined || ref.digest !== undefined) throw new Error('has a tag or digest');
    } catch {
      fail(ctx, '', `${JSON.stringify(repo)} is not a repository name`);
    }
    const m = readStringMap(ctx, tags, repo);
    for (const [tag, id] of Object.entries(m)) {
      try {
        parseReference(`${repo}:${tag}`);
      } catch {
        fail(ctx, repo, `${JSON.stringify(tag)} is not a valid tag`);
      }
      if (!LAYER_ID.test(id)) fail(ctx, join(repo, tag), `expected a 64-hex layer id, got ${JSON.stringify(id)}`);
    }
    out[repo] = m;
  }
  return out;
}

export function parseDockerRepositoriesBytes(data: Uint8Array | string): DockerRepositories {
  return parseDockerRepositories(parseJsonText(REPOS_CTX, data));
}

export function serializeDockerRepositories(repos: DockerRepositories): Uint8Array {
  return encodeJsonBytes(goMap(repos, (tags): JsonValue => goMap(tags, (id) => id)));
}

