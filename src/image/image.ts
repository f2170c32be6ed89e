/**
 * Images (go-containerregistry `v1.Image`): a manifest, a config, and layers. Every writer
 * (docker-archive, OCI archive, OCI dir, registry, the store) takes this one interface.
 * Values handed out are frozen: nothing is edited in place; see mutate.ts for new images.
 */
import { ErrorCodes, OboxError } from '../errors.js';
import { parseImageConfigBytes, type ImageConfig } from './config.js';
import type { Descriptor } from './descriptor.js';
import { Digest } from './digest.js';
import type { Layer } from './layer.js';
import { memo } from './layer.js';
import { parseManifestBytes, type Manifest } from './manifest.js';
import { MediaTypes, type MediaType } from './media-type.js';

export interface Image {
  /** The manifest's media type (OCI or Docker schema 2). */
  mediaType(): Promise<MediaType>;
  manifest(): Promise<Manifest>;
  /** The exact manifest bytes: `digest()` is their hash. */
  rawManifest(): Promise<Uint8Array>;
  /** The manifest digest. */
  digest(): Promise<Digest>;
  config(): Promise<ImageConfig>;
  /** The exact config bytes: `configDigest()` is their hash, which docker shows as the image ID. */
  rawConfig(): Promise<Uint8Array>;
  configDigest(): Promise<Digest>;
  /** Base layer first. */
  layers(): Promise<readonly Layer[]>;
}

/** Freeze a parsed JSON-shaped value all the way down. */
export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const item of Object.values(v)) deepFreeze(item);
  }
  return v;
}

export interface RawImageSource {
  rawManifest: Uint8Array;
  rawConfig: Uint8Array;
  /** The layer for one manifest entry, given its descriptor and the config's diffID for it. */
  layer(descriptor: Descriptor, diffId: Digest): Layer;
}

/**
 * An image from stored bytes (the store, an archive). Checks now that the config matches the
 * manifest's config descriptor and that there is one diffID per layer; throws invalidArchive.
 */
export function imageFromRaw(src: RawImageSource): Image {
  const rawManifest = Uint8Array.from(src.rawManifest);
  const rawConfig = Uint8Array.from(src.rawConfig);
  const manifest = deepFreeze(parseManifestBytes(rawManifest));
  const configDigest = Digest.of(rawConfig, Digest.algorithm(manifest.config.digest));
  if (configDigest !== manifest.config.digest || rawConfig.byteLength !== manifest.config.size) {
    throw new OboxError(
      ErrorCodes.invalidArchive,
      `image config does not match the manifest: manifest names ${manifest.config.digest} (${manifest.config.size} bytes), ` +
        `config is ${configDigest} (${rawConfig.byteLength} bytes)`,
    );
  }
  const config = deepFreeze(parseImageConfigBytes(rawConfig));
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new OboxError(
      ErrorCodes.invalidArchive,
      `image has ${manifest.layers.length} layers but its config lists ${config.rootfs.diff_ids.length} diff_ids`,
    );
  }
  const digest = Digest.of(rawManifest);
  const layers = memo(async () =>
    Object.freeze(manifest.layers.map((d, i) => src.layer(d, config.rootfs.diff_ids[i] as Digest))),
  );
  return {
    mediaType: async () => manifest.mediaType ?? MediaTypes.ociManifest,
    manifest: async () => manifest,
    rawManifest: async () => Uint8Array.from(rawManifest),
    digest: async () => digest,
    config: async () => config,
    rawConfig: async () => Uint8Array.from(rawConfig),
    configDigest: async () => configDigest,
    layers,
  };
}

/** The descriptor an index lists for this image, with its platform. */
export async function manifestDescriptor(image: Image, annotations?: Readonly<Record<string, string>>): Promise<Descriptor> {
  const [mediaType, raw, config] = await Promise.all([image.mediaType(), image.rawManifest(), image.config()]);
  const platform = {
    architecture: config.architecture,
    os: config.os,
    ...(config['os.version'] ? { 'os.version': config['os.version'] } : {}),
    ...(config.variant ? { variant: config.variant } : {}),
  };
  return {
    mediaType,
    digest: Digest.of(raw),
    size: raw.byteLength,
    ...(annotations && Object.keys(annotations).length > 0 ? { annotations } : {}),
    platform,
  };
}

export async function layerByDigest(image: Image, digest: Digest): Promise<Layer | undefined> {
  for (const l of await image.layers()) if ((await l.digest()) === digest) return l;
  return undefined;
}

export async function layerByDiffId(image: Image, diffId: Digest): Promise<Layer | undefined> {
  for (const l of await image.layers()) if ((await l.diffId()) === diffId) return l;
  return undefined;
}
