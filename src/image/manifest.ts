/**
 * Image manifests: OCI image manifest v1 and Docker image manifest v2 schema 2. Both have the
 * same shape (schemaVersion 2, config, layers); the media type says which, and decides the key
 * order on output.
 */
import { encodeJsonBytes, struct, omitEmptyString } from './canonical-json.js';
import {
  annotationsJson,
  descriptorJson,
  dockerDescriptorJson,
  parseDescriptor,
  readMediaType,
  type Descriptor,
} from './descriptor.js';
import {
  fail,
  join,
  optString,
  optStringMap,
  parseJsonText,
  readArray,
  readObject,
  type JsonRecord,
  type ReadContext,
} from './json-read.js';
import { isIndexMediaType, MediaTypes, type ImageFormat, type MediaType } from './media-type.js';

export interface Manifest {
  readonly schemaVersion: 2;
  /** Absent only in OCI manifests that omit it (allowed, discouraged). */
  readonly mediaType?: MediaType;
  readonly artifactType?: MediaType;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

const CTX: ReadContext = { what: 'image manifest' };

export function readSchemaVersion(ctx: ReadContext, o: JsonRecord): 2 {
  if (o.schemaVersion === undefined) fail(ctx, 'schemaVersion', 'required field is missing');
  if (o.schemaVersion !== 2) fail(ctx, 'schemaVersion', `must be 2, got ${JSON.stringify(o.schemaVersion)}`);
  return 2;
}

/** The optional OCI fields image manifests and indexes share: artifactType, subject, annotations. */
export function readOciExtras(
  ctx: ReadContext,
  o: JsonRecord,
): { artifactType: MediaType | undefined; subject: Descriptor | undefined; annotations: Record<string, string> | undefined } {
  const artifactTypeText = optString(ctx, o, 'artifactType', '');
  return {
    artifactType: artifactTypeText === undefined ? undefined : readMediaType(ctx, artifactTypeText, 'artifactType'),
    subject: o.subject === undefined || o.subject === null ? undefined : parseDescriptor(ctx, o.subject, 'subject'),
    annotations: optStringMap(ctx, o, 'annotations', ''),
  };
}

/** Parse an OCI or Docker schema 2 image manifest. */
export function parseManifest(json: unknown): Manifest {
  const o = readObject(CTX, json, '');
  const mediaTypeText = optString(CTX, o, 'mediaType', '');
  const mediaType = mediaTypeText === undefined ? undefined : readMediaType(CTX, mediaTypeText, 'mediaType');
  if (mediaType !== undefined && mediaType !== MediaTypes.ociManifest && mediaType !== MediaTypes.dockerManifest) {
    const hint = isIndexMediaType(mediaType) ? ' (this is an index / manifest list, not an image manifest)' : '';
    fail(CTX, 'mediaType', `unexpected ${JSON.stringify(mediaType)}${hint}`);
  }
  if (mediaType === undefined && o.manifests !== undefined) {
    fail(CTX, '', 'has "manifests": this is an index, not an image manifest');
  }
  readSchemaVersion(CTX, o);
  if (o.config === undefined || o.config === null) fail(CTX, 'config', 'required field is missing');
  const config = parseDescriptor(CTX, o.config, 'config');
  if (o.layers === undefined || o.layers === null) fail(CTX, 'layers', 'required field is missing');
  const layers = readArray(CTX, o.layers, 'layers').map((l, i) => parseDescriptor(CTX, l, join('layers', i)));
  if (mediaType === MediaTypes.dockerManifest) {
    // Docker's schema2.Manifest has no other fields.
    return { schemaVersion: 2, mediaType, config, layers };
  }
  const { artifactType, subject, annotations } = readOciExtras(CTX, o);
  return {
    schemaVersion: 2,
    ...(mediaType !== undefined ? { mediaType } : {}),
    ...(artifactType !== undefined ? { artifactType } : {}),
    config,
    layers,
    ...(subject !== undefined ? { subject } : {}),
    ...(annotations !== undefined ? { annotations } : {}),
  };
}

export function parseManifestBytes(data: Uint8Array | string): Manifest {
  return parseManifest(parseJsonText(CTX, data));
}

export function manifestFormat(m: Manifest): ImageFormat {
  return m.mediaType === MediaTypes.dockerManifest ? 'docker' : 'oci';
}

/** Canonical bytes: image-spec `Manifest` order for OCI, docker `schema2.Manifest` order for Docker. */
export function serializeManifest(m: Manifest): Uint8Array {
  if (manifestFormat(m) === 'docker') {
    return encodeJsonBytes(
      struct([
        ['schemaVersion', 2],
        ['mediaType', MediaTypes.dockerManifest],
        ['config', dockerDescriptorJson(m.config)],
        ['layers', m.layers.map(dockerDescriptorJson)],
      ]),
    );
  }
  return encodeJsonBytes(
    struct([
      ['schemaVersion', 2],
      ['mediaType', omitEmptyString(m.mediaType)],
      ['artifactType', omitEmptyString(m.artifactType)],
      ['config', descriptorJson(m.config)],
      ['layers', m.layers.map(descriptorJson)],
      ['subject', m.subject && descriptorJson(m.subject)],
      ['annotations', annotationsJson(m.annotations)],
    ]),
  );
}
