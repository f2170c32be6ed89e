/**
 * Indexes: OCI image index v1 (also the `index.json` of an image layout) and Docker manifest
 * list v2. Same shape; the media type decides the key order on output.
 */
import { encodeJsonBytes, omitEmptyString, struct } from './canonical-json.js';
import {
  annotationsJson,
  descriptorJson,
  dockerDescriptorJson,
  parseDescriptor,
  readMediaType,
  type Descriptor,
} from './descriptor.js';
import { fail, join, optString, parseJsonText, readArray, readObject, type ReadContext } from './json-read.js';
import { readOciExtras, readSchemaVersion } from './manifest.js';
import { isManifestMediaType, MediaTypes, type MediaType } from './media-type.js';

export interface Index {
  readonly schemaVersion: 2;
  readonly mediaType?: MediaType;
  readonly artifactType?: MediaType;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

const CTX: ReadContext = { what: 'image index' };

/** Parse an OCI image index or a Docker manifest list. `what` names it in messages (e.g. `index.json`). */
export function parseIndex(json: unknown, what = CTX.what): Index {
  const ctx: ReadContext = what === CTX.what ? CTX : { what };
  const o = readObject(ctx, json, '');
  const mediaTypeText = optString(ctx, o, 'mediaType', '');
  const mediaType = mediaTypeText === undefined ? undefined : readMediaType(ctx, mediaTypeText, 'mediaType');
  if (mediaType !== undefined && mediaType !== MediaTypes.ociIndex && mediaType !== MediaTypes.dockerManifestList) {
    const hint = isManifestMediaType(mediaType) ? ' (this is an image manifest, not an index)' : '';
    fail(ctx, 'mediaType', `unexpected ${JSON.stringify(mediaType)}${hint}`);
  }
  readSchemaVersion(ctx, o);
  if (o.manifests === undefined || o.manifests === null) fail(ctx, 'manifests', 'required field is missing');
  const manifests = readArray(ctx, o.manifests, 'manifests').map((d, i) => parseDescriptor(ctx, d, join('manifests', i)));
  if (mediaType === MediaTypes.dockerManifestList) return { schemaVersion: 2, mediaType, manifests };
  const { artifactType, subject, annotations } = readOciExtras(ctx, o);
  return {
    schemaVersion: 2,
    ...(mediaType !== undefined ? { mediaType } : {}),
    ...(artifactType !== undefined ? { artifactType } : {}),
    manifests,
    ...(subject !== undefined ? { subject } : {}),
    ...(annotations !== undefined ? { annotations } : {}),
  };
}

export function parseIndexBytes(data: Uint8Array | string, what = CTX.what): Index {
  return parseIndex(parseJsonText({ what }, data), what);
}

/** Canonical bytes: image-spec `Index` order for OCI, docker `manifestlist.ManifestList` order for Docker. */
export function serializeIndex(ix: Index): Uint8Array {
  if (ix.mediaType === MediaTypes.dockerManifestList) {
    return encodeJsonBytes(
      struct([
        ['schemaVersion', 2],
        ['mediaType', MediaTypes.dockerManifestList],
        ['manifests', ix.manifests.map(dockerDescriptorJson)],
      ]),
    );
  }
  return encodeJsonBytes(
    struct([
      ['schemaVersion', 2],
      ['mediaType', omitEmptyString(ix.mediaType)],
      ['artifactType', omitEmptyString(ix.artifactType)],
      ['manifests', ix.manifests.map(descriptorJson)],
      ['subject', ix.subject && descriptorJson(ix.subject)],
      ['annotations', annotationsJson(ix.annotations)],
    ]),
  );
}
