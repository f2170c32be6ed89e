/**
 * Descriptors: what a manifest or index says about a blob it references.
 * Two key orders on output: OCI's (mediaType, digest, size, …) and docker distribution's
 * (mediaType, size, digest, …), because each family writes its own.
 */
import { goMap, omitEmptyArray, omitEmptyMap, omitEmptyString, struct, type JsonObject } from './canonical-json.js';
import { Digest, digestProblem } from './digest.js';
import {
  fail,
  join,
  optString,
  optStringArray,
  optStringMap,
  readInteger,
  readObject,
  readString,
  reqString,
  type ReadContext,
} from './json-read.js';
import { isValidMediaType, type MediaType } from './media-type.js';
import type { Platform } from './platform.js';

export interface Descriptor {
  readonly mediaType: MediaType;
  readonly digest: Digest;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  /** Base64 of the blob's content, embedded (image-spec v1.1). */
  readonly data?: string;
  readonly platform?: Platform;
  readonly artifactType?: MediaType;
}

export const Annotations = {
  refName: 'org.opencontainers.image.ref.name',
  created: 'org.opencontainers.image.created',
  baseName: 'org.opencontainers.image.base.name',
  baseDigest: 'org.opencontainers.image.base.digest',
} as const;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function readDigest(ctx: ReadContext, v: unknown, path: string): Digest {
  const s = readString(ctx, v, path);
  const problem = digestProblem(s);
  if (problem !== undefined) fail(ctx, path, `${JSON.stringify(s)}: ${problem}`);
  return s as Digest;
}

export function readMediaType(ctx: ReadContext, v: string, path: string): MediaType {
  if (!isValidMediaType(v)) fail(ctx, path, `${JSON.stringify(v)} is not a media type (expected type/subtype)`);
  return v;
}

export function parsePlatformObject(ctx: ReadContext, v: unknown, path: string): Platform {
  const o = readObject(ctx, v, path);
  const variant = optString(ctx, o, 'variant', path);
  const osVersion = optString(ctx, o, 'os.version', path);
  const osFeatures = optStringArray(ctx, o, 'os.features', path);
  return {
    architecture: reqString(ctx, o, 'architecture', path),
    os: reqString(ctx, o, 'os', path),
    ...(osVersion !== undefined ? { 'os.version': osVersion } : {}),
    ...(osFeatures !== undefined ? { 'os.features': osFeatures } : {}),
    ...(variant !== undefined ? { variant } : {}),
  };
}

export function parseDescriptor(ctx: ReadContext, v: unknown, path: string): Descriptor {
  const o = readObject(ctx, v, path);
  const mediaType = readMediaType(ctx, reqString(ctx, o, 'mediaType', path), join(path, 'mediaType'));
  if (o.digest === undefined || o.digest === null) fail(ctx, join(path, 'digest'), 'required field is missing');
  const digest = readDigest(ctx, o.digest, join(path, 'digest'));
  if (o.size === undefined || o.size === null) fail(ctx, join(path, 'size'), 'required field is missing');
  const size = readInteger(ctx, o.size, join(path, 'size'), 0);
  const urls = optStringArray(ctx, o, 'urls', path);
  const annotations = optStringMap(ctx, o, 'annotations', path);
  const data = optString(ctx, o, 'data', path);
  if (data !== undefined) {
    if (!BASE64.test(data) || data.length % 4 !== 0) fail(ctx, join(path, 'data'), 'expected base64');
    const bytes = Buffer.from(data, 'base64');
    if (bytes.byteLength !== size) fail(ctx, join(path, 'data'), `holds ${bytes.byteLength} bytes but size is ${size}`);
    if (Digest.of(bytes, Digest.algorithm(digest)) !== digest) fail(ctx, join(path, 'data'), 'does not match the digest');
  }
  const platform = o.platform === undefined || o.platform === null ? undefined : parsePlatformObject(ctx, o.platform, join(path, 'platform'));
  const artifactTypeText = optString(ctx, o, 'artifactType', path);
  const artifactType = artifactTypeText === undefined ? undefined : readMediaType(ctx, artifactTypeText, join(path, 'artifactType'));
  return {
    mediaType,
    digest,
    size,
    ...(urls !== undefined ? { urls } : {}),
    ...(annotations !== undefined ? { annotations } : {}),
    ...(data !== undefined ? { data } : {}),
    ...(platform !== undefined ? { platform } : {}),
    ...(artifactType !== undefined ? { artifactType } : {}),
  };
}

/** image-spec `Platform` struct order. */
export function platformJson(p: Platform): JsonObject {
  return struct([
    ['architecture', p.architecture],
    ['os', p.os],
    ['os.version', omitEmptyString(p['os.version'])],
    ['os.features', omitEmptyArray(p['os.features'])],
    ['variant', omitEmptyString(p.variant)],
  ]);
}

const stringValue = (s: string): string => s;

/** image-spec `Descriptor` struct order. */
export function descriptorJson(d: Descriptor): JsonObject {
  const annotations = omitEmptyMap(d.annotations);
  return struct([
    ['mediaType', d.mediaType],
    ['digest', d.digest],
    ['size', d.size],
    ['urls', omitEmptyArray(d.urls)],
    ['annotations', annotations && goMap(annotations, stringValue)],
    ['data', omitEmptyString(d.data)],
    ['platform', d.platform && platformJson(d.platform)],
    ['artifactType', omitEmptyString(d.artifactType)],
  ]);
}

/** docker/distribution `Descriptor` struct order (schema2 manifests, manifest lists, LayerSources). */
export function dockerDescriptorJson(d: Descriptor): JsonObject {
  const annotations = omitEmptyMap(d.annotations);
  return struct([
    ['mediaType', d.mediaType],
    ['size', d.size],
    ['digest', d.digest],
    ['urls', omitEmptyArray(d.urls)],
    ['annotations', annotations && goMap(annotations, stringValue)],
    ['platform', d.platform && platformJson(d.platform)],
  ]);
}

export function annotationsJson(a: Readonly<Record<string, string>> | undefined): JsonObject | undefined {
  const kept = omitEmptyMap(a);
  return kept && goMap(kept, stringValue);
}
