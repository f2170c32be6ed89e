/**
 * The OCI image layout of a set of exported images: `oci-layout`, `index.json` and
 * `blobs/<alg>/<hex>` for every config, layer and manifest, each blob once however many images
 * share it. Each name is one index.json entry whose `org.opencontainers.image.ref.name` is the
 * full normalised name (as in the store, so `skopeo … oci:DIR:docker.io/library/x:1` finds it)
 * and whose `io.containerd.image.name` is the same (what containerd's and docker's importers read).
 */
import { compareUtf8, encodeJsonBytes, struct } from '../image/canonical-json.js';
import { Annotations, type Descriptor } from '../image/descriptor.js';
import type { Digest } from '../image/digest.js';
import { MediaTypes } from '../image/media-type.js';
import { serializeIndex } from '../image/oci-index.js';
import type { Reference } from '../image/reference.js';
import { blobPath, INDEX_FILE, OCI_LAYOUT_FILE, OCI_LAYOUT_VERSION, type LayoutEntry } from './entries.js';
import type { ExportedImage } from './export-image.js';

export const CONTAINERD_IMAGE_NAME = 'io.containerd.image.name';

export function ociLayoutFileBytes(): Uint8Array {
  return encodeJsonBytes(struct([['imageLayoutVersion', OCI_LAYOUT_VERSION]]));
}

/** The images' blobs: configs, layers and manifests, once each. */
export function blobEntries(images: readonly ExportedImage[]): LayoutEntry[] {
  const out = new Map<Digest, LayoutEntry>();
  const add = (e: LayoutEntry & { digest: Digest }): void => {
    if (!out.has(e.digest)) out.set(e.digest, e);
  };
  for (const img of images) {
    for (const l of img.layers) add({ kind: 'blob', path: blobPath(l.digest), digest: l.digest, size: l.size, open: l.open, sourceVerifies: l.sourceVerifies === true });
    add({ kind: 'bytes', path: blobPath(img.configDigest), digest: img.configDigest, data: img.rawConfig });
    add({ kind: 'bytes', path: blobPath(img.manifestDigest), digest: img.manifestDigest, data: img.rawManifest });
  }
  return [...out.values()];
}

function manifestEntry(img: ExportedImage, name: Reference | undefined): Descriptor {
  const full = name?.toString();
  return {
    mediaType: MediaTypes.ociManifest,
    digest: img.manifestDigest,
    size: img.rawManifest.byteLength,
    ...(full !== undefined ? { annotations: { [CONTAINERD_IMAGE_NAME]: full, [Annotations.refName]: full } } : {}),
    platform: img.platform,
  };
}

/** index.json: one entry per name (sorted), then one per unnamed image (by digest). */
export function indexBytes(images: readonly ExportedImage[]): Uint8Array {
  const named: Array<[string, Descriptor]> = [];
  const unnamed = new Map<Digest, Descriptor>();
  const namedDigests = new Set<Digest>();
  for (const img of images) {
    for (const n of img.names) {
      named.push([n.toString(), manifestEntry(img, n)]);
      namedDigests.add(img.manifestDigest);
    }
  }
  for (const img of images) {
    if (img.names.length === 0 && !namedDigests.has(img.manifestDigest)) unnamed.set(img.manifestDigest, manifestEntry(img, undefined));
  }
  named.sort((a, b) => compareUtf8(a[0], b[0]));
  const manifests = [...named.map(([, d]) => d), ...[...unnamed.values()].sort((a, b) => compareUtf8(a.digest, b.digest))];
  return serializeIndex({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests });
}

/** Every file of the layout (the caller adds directories and sorts). */
export function ociLayoutEntries(images: readonly ExportedImage[]): LayoutEntry[] {
  return [
    ...blobEntries(images),
    { kind: 'bytes', path: INDEX_FILE, data: indexBytes(images) },
    { kind: 'bytes', path: OCI_LAYOUT_FILE, data: ociLayoutFileBytes() },
  ];
}
