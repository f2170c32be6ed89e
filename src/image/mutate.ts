/**
 * New images from old ones (go-containerregistry `mutate`): append layers with their history,
 * replace or edit the config, change the manifest family. Each function returns a new Image at
 * once and leaves its input untouched; the work (layer digests, serialisation) happens lazily
 * on first use and is memoised.
 *
 * A composed image's `rootfs.diff_ids` always come from its layers, and its manifest and config
 * are the canonical serialisations, so the same inputs give the same digests.
 * Manifest annotations of a base image are not carried over (they describe the base, not the
 * new image); set new ones with `setAnnotations`.
 */
import { ErrorCodes, OboxError } from '../errors.js';
import { isRfc3339, serializeImageConfig, type ContainerConfig, type HistoryEntry, type ImageConfig } from './config.js';
import { Digest } from './digest.js';
import { deepFreeze, type Image } from './image.js';
import { layerDescriptor, memo, type Layer } from './layer.js';
import { manifestFormat, serializeManifest, type Manifest } from './manifest.js';
import { configMediaTypeFor, manifestMediaTypeFor, type ImageFormat, type MediaType } from './media-type.js';

/** Everything a composed image is made of. */
export interface ImageSpec {
  readonly format: ImageFormat;
  /** `rootfs` is ignored: it is recomputed from `layers`. */
  readonly config: ImageConfig;
  readonly layers: readonly Layer[];
  readonly annotations?: Readonly<Record<string, string>>;
}

class ComposedImage implements Image {
  readonly spec: () => Promise<ImageSpec>;

  constructor(spec: () => Promise<ImageSpec>) {
    this.spec = memo(async () => deepFreezeSpec(await spec()));
  }

  readonly config = memo(async (): Promise<ImageConfig> => {
    const spec = await this.spec();
    const diffIds = await Promise.all(spec.layers.map((l) => l.diffId()));
    return deepFreeze({ ...spec.config, rootfs: { type: 'layers' as const, diff_ids: diffIds } });
  });

  readonly rawConfig = memo(async () => serializeImageConfig(await this.config()));

  readonly configDigest = memo(async () => Digest.of(await this.rawConfig()));

  readonly manifest = memo(async (): Promise<Manifest> => {
    const spec = await this.spec();
    const [rawConfig, configDigest, layers] = await Promise.all([
      this.rawConfig(),
      this.configDigest(),
      Promise.all(spec.layers.map((l) => layerDescriptor(l, spec.format))),
    ]);
    const annotations = spec.format === 'oci' && spec.annotations && Object.keys(spec.annotations).length > 0 ? spec.annotations : undefined;
    return deepFreeze({
      schemaVersion: 2 as const,
      mediaType: manifestMediaTypeFor(spec.format),
      config: { mediaType: configMediaTypeFor(spec.format), digest: configDigest, size: rawConfig.byteLength },
      layers,
      ...(annotations ? { annotations } : {}),
    });
  });

  readonly rawManifest = memo(async () => serializeManifest(await this.manifest()));

  readonly digest = memo(async () => Digest.of(await this.rawManifest()));

  async mediaType(): Promise<MediaType> {
    return manifestMediaTypeFor((await this.spec()).format);
  }

  async layers(): Promise<readonly Layer[]> {
    return (await this.spec()).layers;
  }
}

function deepFreezeSpec(spec: ImageSpec): ImageSpec {
  // Layers are objects with behaviour: freeze the list, not the layers.
  return Object.freeze({
    format: spec.format,
    config: deepFreeze(structuredClone(spec.config)),
    layers: Object.freeze([...spec.layers]),
    ...(spec.annotations ? { annotations: deepFreeze({ ...spec.annotations }) } : {}),
  });
}

/** An image from its parts. */
export function composeImage(spec: ImageSpec): Image {
  return new ComposedImage(async () => spec);
}

/** The parts of any image (for a stored image: its parsed config and its layers). */
export async function imageSpec(image: Image): Promise<ImageSpec> {
  if (image instanceof ComposedImage) return image.spec();
  const [manifest, config, layers] = await Promise.all([image.manifest(), image.config(), image.layers()]);
  return { format: manifestFormat(manifest), config, layers };
}

function derive(base: Image, change: (spec: ImageSpec) => ImageSpec | Promise<ImageSpec>): Image {
  return new ComposedImage(async () => change(await imageSpec(base)));
}

export interface Addendum {
  layer: Layer;
  /** Its history entry; `empty_layer` is ignored (this entry has a layer). Default `{}`. */
  history?: HistoryEntry;
}

function countLayerEntries(history: readonly HistoryEntry[]): number {
  return history.filter((h) => !h.empty_layer).length;
}

/**
 * Append layers, each with a history entry. When the base's history names fewer layers than it
 * has (images made without history), empty entries are added first so entries and layers line up.
 */
export function appendLayers(base: Image, ...adds: Addendum[]): Image {
  return derive(base, (spec) => {
    const history: HistoryEntry[] = [...(spec.config.history ?? [])];
    for (let missing = spec.layers.length - countLayerEntries(history); missing > 0; missing--) history.push({});
    for (const a of adds) {
      const { empty_layer: _ignored, ...entry } = a.history ?? {};
      history.push(entry);
    }
    return { ...spec, config: { ...spec.config, history }, layers: [...spec.layers, ...adds.map((a) => a.layer)] };
  });
}

export function appendLayer(base: Image, layer: Layer, history?: HistoryEntry): Image {
  return appendLayers(base, history === undefined ? { layer } : { layer, history });
}

/** Record a step that changed only metadata (ENV, CMD, LABEL…): a history entry with `empty_layer`. */
export function addHistory(base: Image, entry: HistoryEntry): Image {
  return derive(base, (spec) => ({
    ...spec,
    config: { ...spec.config, history: [...(spec.config.history ?? []), { ...entry, empty_layer: true }] },
  }));
}

/** Replace the whole config; its `rootfs` is ignored (the layers decide it). */
export function setConfig(base: Image, config: ImageConfig): Image {
  return derive(base, (spec) => ({ ...spec, config }));
}

export function updateConfig(base: Image, fn: (config: ImageConfig) => ImageConfig): Image {
  return derive(base, (spec) => ({ ...spec, config: fn(spec.config) }));
}

/** Replace the `config` section (Env, Cmd, Entrypoint, …). */
export function setContainerConfig(base: Image, containerConfig: ContainerConfig): Image {
  return updateConfig(base, (c) => ({ ...c, config: containerConfig }));
}

/** Set the image's creation time (RFC 3339). */
export function setCreated(base: Image, created: string): Image {
  if (!isRfc3339(created)) throw new OboxError(ErrorCodes.usage, `invalid creation time ${JSON.stringify(created)}: expected RFC 3339`);
  return updateConfig(base, (c) => ({ ...c, created }));
}

/** Manifest annotations (OCI only: Docker schema 2 manifests have none). */
export function setAnnotations(base: Image, annotations: Readonly<Record<string, string>>): Image {
  return derive(base, (spec) => ({ ...spec, annotations }));
}

/** The same image in the other media-type family: OCI ⇄ Docker schema 2 (layer bytes unchanged). */
export function setFormat(base: Image, format: ImageFormat): Image {
  return derive(base, (spec) => ({ ...spec, format }));
}
