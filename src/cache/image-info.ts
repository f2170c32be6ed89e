/**
 * What `obox images`, `inspect` and `history` show: facts about stored images gathered from
 * their manifests and configs (no layer data is read).
 */
import { layerDescriptor, type HistoryEntry, type ImageConfig, type Manifest } from '../image/index.js';
import { ErrorCodes, OboxError } from '../errors.js';
import type { Store } from './store/index.js';

export interface ImageSummary {
  /** Full normalised names pointing at this image (may be empty). */
  names: string[];
  /** Config digest: what docker calls the image ID. */
  id: string;
  /** Manifest digest. */
  digest: string;
  created: string | undefined;
  /** Bytes of the stored blobs: config plus compressed layers. */
  size: number;
  layers: number;
  architecture: string;
  os: string;
}

export interface ImageDetails extends ImageSummary {
  mediaType: string;
  config: ImageConfig;
  manifest: Manifest;
  layerDigests: string[];
}

export interface HistoryRow {
  /** The layer this step made, or undefined for metadata-only steps. */
  layer: { digest: string; size: number } | undefined;
  entry: HistoryEntry;
}

async function details(store: Store, ref: string, names: string[]): Promise<ImageDetails> {
  const image = await store.image(ref);
  const [manifest, config, digest, id, mediaType, layers] = await Promise.all([
    image.manifest(),
    image.config(),
    image.digest(),
    image.configDigest(),
    image.mediaType(),
    image.layers(),
  ]);
  const layerDescs = await Promise.all(layers.map((l) => layerDescriptor(l)));
  const size = manifest.config.size + layerDescs.reduce((a, d) => a + d.size, 0);
  return {
    names,
    id,
    digest,
    created: config.created,
    size,
    layers: layers.length,
    architecture: config.architecture,
    os: config.os,
    mediaType,
    config,
    manifest,
    layerDigests: layerDescs.map((d) => d.digest),
  };
}

/** Every stored image, one entry per manifest, with all its names. Sorted newest first. */
export async function listImageSummaries(store: Store): Promise<ImageSummary[]> {
  const byDigest = new Map<string, string[]>();
  for (const { name, descriptor } of await store.listImages()) {
    const names = byDigest.get(descriptor.digest) ?? [];
    if (name !== undefined) names.push(name);
    byDigest.set(descriptor.digest, names);
  }
  const out = await Promise.all([...byDigest].map(([digest, names]) => details(store, digest, names.sort())));
  return out.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || a.id.localeCompare(b.id));
}

const HEX_PREFIX = /^(sha256:)?([0-9a-f]{4,64})$/;

/**
 * A name, a manifest digest, or (like docker) an image ID or a unique prefix of either digest
 * → the manifest digest.
 */
export async function resolveImage(store: Store, ref: string): Promise<string> {
  const m = HEX_PREFIX.exec(ref);
  if (m) {
    const prefix = `sha256:${m[2]}`;
    const matches = new Set<string>();
    for (const s of await listImageSummaries(store)) {
      if (s.id.startsWith(prefix) || s.digest.startsWith(prefix)) matches.add(s.digest);
    }
    if (matches.size === 1) return [...matches][0]!;
    if (matches.size > 1) throw new OboxError(ErrorCodes.usage, `${ref} matches ${matches.size} images`, { hint: 'give more digits of the ID' });
  }
  // A name, or the digest of a manifest no name points at.
  return (await store.resolve(ref)).digest;
}

/** Details of one image by name, digest or ID. */
export async function imageDetails(store: Store, ref: string): Promise<ImageDetails> {
  const digest = await resolveImage(store, ref);
  const names = (await store.listImages()).filter((e) => e.descriptor.digest === digest && e.name !== undefined).map((e) => e.name!);
  return details(store, digest, names.sort());
}

/** Build history, newest step first, each step paired with the layer it made. */
export async function imageHistory(store: Store, ref: string): Promise<HistoryRow[]> {
  const d = await imageDetails(store, ref);
  const layers = d.manifest.layers;
  let next = 0;
  const rows: HistoryRow[] = (d.config.history ?? []).map((entry) => {
    if (entry.empty_layer) return { layer: undefined, entry };
    const l = layers[next++];
    return { layer: l ? { digest: l.digest, size: l.size } : undefined, entry };
  });
  return rows.reverse();
}
