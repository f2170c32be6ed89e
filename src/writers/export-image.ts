/**
 * One image as it goes into an archive: its config bytes unchanged (so its image ID is the same),
 * its layers as exported, and the OCI manifest that lists them. When the layers are written as
 * the image holds them and its manifest is OCI, the manifest bytes are kept too (same digest);
 * otherwise a new canonical OCI manifest is made (a Docker schema 2 image, or uncompressed layers).
 */
import { ErrorCodes, OboxError } from '../errors.js';
import type { ImageConfig } from '../image/config.js';
import type { Descriptor } from '../image/descriptor.js';
import { Digest } from '../image/digest.js';
import { serializeManifest, type Manifest } from '../image/manifest.js';
import { MediaTypes } from '../image/media-type.js';
import type { Platform } from '../image/platform.js';
import type { Reference } from '../image/reference.js';
import type { ExportBlob, LayerExporter } from './export-layer.js';
import type { PreparedInput } from './inputs.js';

export interface ExportedImage {
  readonly names: readonly Reference[];
  readonly rawConfig: Uint8Array;
  readonly config: ImageConfig;
  readonly configDigest: Digest;
  readonly layers: readonly ExportBlob[];
  readonly rawManifest: Uint8Array;
  readonly manifestDigest: Digest;
  readonly platform: Platform;
}

function platformOf(c: ImageConfig): Platform {
  return {
    architecture: c.architecture,
    os: c.os,
    ...(c['os.version'] ? { 'os.version': c['os.version'] } : {}),
    ...(c.variant ? { variant: c.variant } : {}),
  };
}

function sameBlob(d: Descriptor | undefined, b: ExportBlob): boolean {
  return d !== undefined && d.digest === b.digest && d.size === b.size && d.mediaType === b.mediaType;
}

function describe(input: PreparedInput, index: number): string {
  const first = input.names[0];
  return first !== undefined ? first.familiarString() : `image #${index + 1}`;
}

export async function exportImage(input: PreparedInput, index: number, exporter: LayerExporter): Promise<ExportedImage> {
  const { image } = input;
  const what = describe(input, index);
  const [manifest, rawManifest, rawConfig, config, configDigest, layers] = await Promise.all([
    image.manifest(),
    image.rawManifest(),
    image.rawConfig(),
    image.config(),
    image.configDigest(),
    image.layers(),
  ]);
  const diffIds = config.rootfs.diff_ids;
  if (layers.length !== diffIds.length || manifest.layers.length !== layers.length) {
    throw new OboxError(
      ErrorCodes.invalidArchive,
      `${what}: ${layers.length} layers, ${manifest.layers.length} in the manifest, ${diffIds.length} diffIDs in the config`,
    );
  }
  const blobs: ExportBlob[] = [];
  for (const [i, layer] of layers.entries()) {
    blobs.push(await exporter.export(layer, diffIds[i] as Digest, `layer ${i + 1} of ${what}`));
  }
  const keep =
    (manifest.mediaType === undefined || manifest.mediaType === MediaTypes.ociManifest) &&
    manifest.config.digest === configDigest &&
    blobs.every((b, i) => sameBlob(manifest.layers[i], b));
  const out = keep ? Uint8Array.from(rawManifest) : serializeManifest(ociManifest(manifest, configDigest, rawConfig.byteLength, blobs));
  return {
    names: input.names,
    rawConfig,
    config,
    configDigest,
    layers: blobs,
    rawManifest: out,
    manifestDigest: Digest.of(out),
    platform: platformOf(config),
  };
}

function ociManifest(source: Manifest, configDigest: Digest, configSize: number, layers: readonly ExportBlob[]): Manifest {
  return {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: configDigest, size: configSize },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    ...(source.annotations !== undefined ? { annotations: source.annotations } : {}),
  };
}
