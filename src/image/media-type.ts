/**
 * Media types: the OCI and Docker ones obox knows as constants, validation of any other
 * (RFC 6838 `type/subtype`), and what a layer media type says about compression.
 */
import { ErrorCodes, OboxError } from '../errors.js';

declare const mediaTypeBrand: unique symbol;
export type MediaType = string & { readonly [mediaTypeBrand]: true };

const m = <T extends string>(s: T): T & MediaType => s as T & MediaType;

export const MediaTypes = {
  ociIndex: m('application/vnd.oci.image.index.v1+json'),
  ociManifest: m('application/vnd.oci.image.manifest.v1+json'),
  ociConfig: m('application/vnd.oci.image.config.v1+json'),
  ociLayer: m('application/vnd.oci.image.layer.v1.tar'),
  ociLayerGzip: m('application/vnd.oci.image.layer.v1.tar+gzip'),
  ociLayerZstd: m('application/vnd.oci.image.layer.v1.tar+zstd'),
  /** Deprecated by image-spec v1.1, still readable. */
  ociLayerNondistributable: m('application/vnd.oci.image.layer.nondistributable.v1.tar'),
  ociLayerNondistributableGzip: m('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'),
  ociLayerNondistributableZstd: m('application/vnd.oci.image.layer.nondistributable.v1.tar+zstd'),
  /** The empty descriptor `{}` of image-spec v1.1 (artifacts). */
  ociEmpty: m('application/vnd.oci.empty.v1+json'),

  dockerManifest: m('application/vnd.docker.distribution.manifest.v2+json'),
  dockerManifestList: m('application/vnd.docker.distribution.manifest.list.v2+json'),
  dockerConfig: m('application/vnd.docker.container.image.v1+json'),
  dockerLayer: m('application/vnd.docker.image.rootfs.diff.tar'),
  dockerLayerGzip: m('application/vnd.docker.image.rootfs.diff.tar.gzip'),
  dockerLayerZstd: m('application/vnd.docker.image.rootfs.diff.tar.zstd'),
  dockerForeignLayer: m('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'),
} as const;

/** RFC 6838 restricted-name for type and subtype; no parameters (OCI media types carry none). */
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export function isValidMediaType(s: unknown): s is MediaType {
  return typeof s === 'string' && MEDIA_TYPE.test(s);
}

export function parseMediaType(s: string, what = 'media type'): MediaType {
  if (!isValidMediaType(s)) {
    throw new OboxError(ErrorCodes.invalidArchive, `invalid ${what} ${JSON.stringify(s)}: expected type/subtype (RFC 6838)`);
  }
  return s;
}

export type Compression = 'none' | 'gzip' | 'zstd';

interface LayerInfo {
  compression: Compression;
  distributable: boolean;
  format: 'oci' | 'docker';
}

const LAYERS: ReadonlyMap<string, LayerInfo> = new Map<string, LayerInfo>([
  [MediaTypes.ociLayer, { compression: 'none', distributable: true, format: 'oci' }],
  [MediaTypes.ociLayerGzip, { compression: 'gzip', distributable: true, format: 'oci' }],
  [MediaTypes.ociLayerZstd, { compression: 'zstd', distributable: true, format: 'oci' }],
  [MediaTypes.ociLayerNondistributable, { compression: 'none', distributable: false, format: 'oci' }],
  [MediaTypes.ociLayerNondistributableGzip, { compression: 'gzip', distributable: false, format: 'oci' }],
  [MediaTypes.ociLayerNondistributableZstd, { compression: 'zstd', distributable: false, format: 'oci' }],
  [MediaTypes.dockerLayer, { compression: 'none', distributable: true, format: 'docker' }],
  [MediaTypes.dockerLayerGzip, { compression: 'gzip', distributable: true, format: 'docker' }],
  [MediaTypes.dockerLayerZstd, { compression: 'zstd', distributable: true, format: 'docker' }],
  [MediaTypes.dockerForeignLayer, { compression: 'gzip', distributable: false, format: 'docker' }],
]);

export function isLayerMediaType(mt: string): boolean {
  return LAYERS.has(mt);
}

/** How a layer blob of this media type is compressed; undefined for a type that is not a known layer. */
export function layerCompression(mt: string): Compression | undefined {
  return LAYERS.get(mt)?.compression;
}

/** False for foreign / non-distributable layers (their blobs may live elsewhere, see `urls`). */
export function isDistributableLayer(mt: string): boolean {
  return LAYERS.get(mt)?.distributable ?? true;
}

export function isManifestMediaType(mt: string): boolean {
  return mt === MediaTypes.ociManifest || mt === MediaTypes.dockerManifest;
}

export function isIndexMediaType(mt: string): boolean {
  return mt === MediaTypes.ociIndex || mt === MediaTypes.dockerManifestList;
}

/** Which family of media types an image manifest uses. */
export type ImageFormat = 'oci' | 'docker';

export function manifestMediaTypeFor(format: ImageFormat): MediaType {
  return format === 'oci' ? MediaTypes.ociManifest : MediaTypes.dockerManifest;
}

export function configMediaTypeFor(format: ImageFormat): MediaType {
  return format === 'oci' ? MediaTypes.ociConfig : MediaTypes.dockerConfig;
}

/**
 * The same layer bytes named in the other family: docker `…diff.tar.gzip` ⇄ OCI `…tar+gzip`.
 * Unknown types are returned unchanged.
 */
export function layerMediaTypeFor(mt: MediaType, format: ImageFormat): MediaType {
  const info = LAYERS.get(mt);
  if (info === undefined || info.format === format) return mt;
  for (const [other, o] of LAYERS) {
    if (o.format === format && o.compression === info.compression && o.distributable === info.distributable) {
      return other as MediaType;
    }
  }
  return mt;
}
