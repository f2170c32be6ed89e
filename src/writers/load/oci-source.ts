/**
 * Images of an OCI archive (a tar of an OCI image layout), as index.json describes them. Each
 * descriptor is a manifest, or an index whose manifest for the wanted platform is taken. Every
 * blob must be in the archive under `blobs/<alg>/<hex>` with the descriptor's digest and size,
 * and media types must say what the bytes are. OCI manifests are stored byte for byte (same
 * digest); a Docker schema 2 manifest is converted to OCI media types (config and layer bytes kept).
 */
import { ErrorCodes, OboxError } from '../../errors.js';
import { MANIFEST_LIMIT } from '../../cache/store/index.js';
import type { Descriptor } from '../../image/descriptor.js';
import type { Digest } from '../../image/digest.js';
import { manifestFormat, parseManifestBytes } from '../../image/manifest.js';
import {
  isIndexMediaType,
  isLayerMediaType,
  isManifestMediaType,
  layerCompression,
  layerMediaTypeFor,
  MediaTypes,
} from '../../image/media-type.js';
import { parseIndexBytes } from '../../image/oci-index.js';
import type { Platform } from '../../image/platform.js';
import { blobPath } from '../entries.js';
import { candidate, checkImage, composeManifest, inEntry, type CheckedLayer, type LoadCandidate } from './candidate.js';
import { quoteEntry } from './entry-path.js';
import { METADATA_LIMIT } from './docker-source.js';
import { namesFromAnnotations } from './names.js';
import { selectPlatform } from './platform-select.js';
import { entryError, lookup, type ArchiveContents } from './read-archive.js';
import type { Staging } from './staging.js';

export const OCI_INDEX = 'index.json';
export const OCI_LAYOUT = 'oci-layout';
const MAX_INDEX_DEPTH = 4;

function invalid(archive: string, message: string): OboxError {
  return new OboxError(ErrorCodes.invalidArchive, `${archive}: ${message}`);
}

/** The blob a descriptor points at: present, under its digest's name, with its digest and size. */
function blobFor(contents: ArchiveContents, d: Descriptor, where: string): CheckedLayer {
  const entry = blobPath(d.digest);
  const blob = lookup(contents, entry);
  if (blob === undefined) {
    throw invalid(contents.archive, `${where} points at blob ${d.digest}, but entry ${quoteEntry(entry)} is not in the archive`);
  }
  if (blob.digest !== d.digest) throw entryError(contents.archive, entry, `content hashes to ${blob.digest}, not ${d.digest}`);
  if (blob.size !== d.size) throw entryError(contents.archive, entry, `${where} says ${d.size} bytes, the blob has ${blob.size}`);
  return { blob, entry };
}

async function checkLayoutFile(contents: ArchiveContents, staging: Staging): Promise<void> {
  const file = lookup(contents, OCI_LAYOUT);
  if (file === undefined) return;
  const text = (await staging.read(file, 4096, `${contents.archive}: ${OCI_LAYOUT}`)).toString('utf8');
  let version: unknown;
  try {
    version = (JSON.parse(text) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch {
    version = undefined;
  }
  if (version !== '1.0.0') throw entryError(contents.archive, OCI_LAYOUT, `unsupported image layout version ${JSON.stringify(version)} (obox reads 1.0.0)`);
}

/** Where a descriptor is: the file that holds it and its place there (`index.json`, `manifests[0]`). */
interface Where {
  readonly entry: string;
  readonly at: string;
}

const show = (w: Where): string => `${w.entry} ${w.at}`;

/** Follow nested indexes down to one image manifest, choosing by platform. */
async function toManifest(contents: ArchiveContents, staging: Staging, d: Descriptor, where: Where, platform: Platform, depth = 0): Promise<{ d: Descriptor; where: Where }> {
  if (isManifestMediaType(d.mediaType)) return { d, where };
  if (!isIndexMediaType(d.mediaType)) {
    throw entryError(contents.archive, where.entry, `${where.at}: wrong media type ${JSON.stringify(d.mediaType)}: expected an image manifest or index`);
  }
  if (depth >= MAX_INDEX_DEPTH) throw entryError(contents.archive, where.entry, `${where.at}: indexes nested more than ${MAX_INDEX_DEPTH} deep`);
  const { blob, entry } = blobFor(contents, d, show(where));
  const bytes = await staging.read(blob, MANIFEST_LIMIT, `${contents.archive}: ${entry}`);
  const nested = inEntry(contents.archive, entry, () => parseIndexBytes(bytes));
  if (nested.mediaType !== undefined && nested.mediaType !== d.mediaType) {
    throw entryError(contents.archive, entry, `wrong media type: ${show(where)} says ${d.mediaType}, the blob is ${nested.mediaType}`);
  }
  const chosen = selectPlatform(nested.manifests, platform, `${contents.archive}: ${show(where)} (entry ${quoteEntry(entry)})`);
  const i = nested.manifests.indexOf(chosen);
  return toManifest(contents, staging, chosen, { entry, at: `manifests[${i}]` }, platform, depth + 1);
}

async function loadManifest(contents: ArchiveContents, staging: Staging, d: Descriptor, where: string, names: readonly string[]): Promise<LoadCandidate> {
  const archive = contents.archive;
  const { blob, entry } = blobFor(contents, d, where);
  const raw = await staging.read(blob, MANIFEST_LIMIT, `${archive}: ${entry}`);
  const manifest = inEntry(archive, entry, () => parseManifestBytes(raw));
  const actual = manifest.mediaType ?? MediaTypes.ociManifest;
  if (actual !== d.mediaType) throw entryError(archive, entry, `wrong media type: ${where} says ${d.mediaType}, the manifest is ${actual}`);
  const cfgType = manifest.config.mediaType;
  if (cfgType !== MediaTypes.ociConfig && cfgType !== MediaTypes.dockerConfig) {
    throw entryError(archive, entry, `wrong media type for the config: ${JSON.stringify(cfgType)} is not an image config type`);
  }
  const config = blobFor(contents, manifest.config, `manifest ${entry} config`);
  const layers = manifest.layers.map((l, i) => {
    const at = `manifest ${entry} layers[${i}]`;
    if (!isLayerMediaType(l.mediaType)) throw entryError(archive, entry, `layers[${i}]: wrong media type ${JSON.stringify(l.mediaType)}: not a layer type`);
    const found = blobFor(contents, l, at);
    const says = layerCompression(l.mediaType);
    if (says !== found.blob.compression) {
      throw entryError(archive, found.entry, `wrong media type: ${at} says ${l.mediaType} (${says}), the blob is ${found.blob.compression === 'none' ? 'not compressed' : found.blob.compression}`);
    }
    return found;
  });
  const parsed = await checkImage(archive, staging, config, layers, `manifest ${entry}`);
  const oci =
    manifestFormat(manifest) === 'oci'
      ? raw
      : composeManifest(
          config.blob,
          manifest.layers.map((l, i) => ({ blob: (layers[i] as CheckedLayer).blob, mediaType: layerMediaTypeFor(l.mediaType, 'oci') })),
        );
  return candidate(where, names, oci, config.blob, parsed, layers);
}

function platformOf(c: LoadCandidate): Platform {
  return { os: c.config.os, architecture: c.config.architecture, ...(c.config.variant ? { variant: c.config.variant } : {}) };
}

/**
 * index.json's images. A name given to several different manifests (a multi-platform layout
 * flattened into index.json) keeps the one for the wanted platform.
 */
export async function ociCandidates(contents: ArchiveContents, staging: Staging, platform: Platform): Promise<LoadCandidate[]> {
  const archive = contents.archive;
  const file = lookup(contents, OCI_INDEX);
  if (file === undefined) return [];
  await checkLayoutFile(contents, staging);
  const bytes = await staging.read(file, METADATA_LIMIT, `${archive}: ${OCI_INDEX}`);
  const index = inEntry(archive, OCI_INDEX, () => parseIndexBytes(bytes, OCI_INDEX));
  const found: LoadCandidate[] = [];
  for (const [i, top] of index.manifests.entries()) {
    const { d, where } = await toManifest(contents, staging, top, { entry: OCI_INDEX, at: `manifests[${i}]` }, platform);
    found.push(await loadManifest(contents, staging, d, show(where), namesFromAnnotations(top.annotations)));
  }
  // Resolve names shared by different manifests.
  const byName = new Map<string, LoadCandidate[]>();
  for (const c of found) for (const n of c.names) byName.set(n, [...(byName.get(n) ?? []), c]);
  const keep = new Map<LoadCandidate, string[]>(found.map((c) => [c, []]));
  for (const [name, list] of byName) {
    const digests = new Set<Digest>(list.map((c) => c.manifestDigest));
    let winner = list[0] as LoadCandidate;
    if (digests.size > 1) {
      const descs: Descriptor[] = list.map((c) => ({ mediaType: MediaTypes.ociManifest, digest: c.manifestDigest, size: c.rawManifest.byteLength, platform: platformOf(c) }));
      const chosen = selectPlatform(descs, platform, `${archive}: ${OCI_INDEX} name ${name}`);
      winner = list[descs.indexOf(chosen)] as LoadCandidate;
    }
    keep.get(winner)?.push(name);
  }
  return found.filter((c) => c.names.length === 0 || (keep.get(c)?.length ?? 0) > 0).map((c) => (c.names.length === 0 ? c : { ...c, names: keep.get(c) ?? [] }));
}
