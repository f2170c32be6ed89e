/**
 * One image found in an archive, checked against what the archive holds: the config parses and
 * lists one diffID per layer, each layer blob is there, decompresses (when compressed) and hashes
 * to its diffID, and media types say what the bytes are. The result is the OCI manifest to store.
 */
import { ErrorCodes, OboxError } from '../../errors.js';
import { CONFIG_LIMIT } from '../../cache/store/index.js';
import { parseImageConfigBytes, type ImageConfig } from '../../image/config.js';
import { Digest } from '../../image/digest.js';
import { serializeManifest } from '../../image/manifest.js';
import { MediaTypes, type MediaType } from '../../image/media-type.js';
import { quoteEntry } from './entry-path.js';
import { entryError } from './read-archive.js';
import type { EntryCompression } from './decompress-hasher.js';
import type { StagedBlob, Staging } from './staging.js';

export interface LoadCandidate {
  /** Where the archive describes it, for messages (`manifest.json[0]`, `index.json manifests[1]`). */
  readonly source: string;
  /** Full normalised names. */
  readonly names: readonly string[];
  /** The OCI manifest to store. */
  readonly rawManifest: Uint8Array;
  readonly manifestDigest: Digest;
  readonly configDigest: Digest;
  readonly config: ImageConfig;
  /** Config and layer digests: the blobs to move into the store. */
  readonly blobs: readonly Digest[];
}

export interface CheckedLayer {
  readonly blob: StagedBlob;
  /** The entry it was found under (what messages name). */
  readonly entry: string;
}

/** Rethrow an invalid-archive error from a parser with the archive and entry in front. */
export function inEntry<T>(archive: string, entry: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof OboxError && e.code === ErrorCodes.invalidArchive) throw entryError(archive, entry, e.message, e);
    throw e;
  }
}

/** Read and parse the config; check each layer's diffID against it. */
export async function checkImage(
  archive: string,
  staging: Staging,
  config: CheckedLayer,
  layers: readonly CheckedLayer[],
  where: string,
): Promise<ImageConfig> {
  const raw = await staging.read(config.blob, CONFIG_LIMIT, `${archive}: ${config.entry}`);
  const parsed = inEntry(archive, config.entry, () => parseImageConfigBytes(raw));
  const diffIds = parsed.rootfs.diff_ids;
  if (diffIds.length !== layers.length) {
    throw new OboxError(
      ErrorCodes.invalidArchive,
      `${archive}: ${where} lists ${layers.length} layers but its config (entry ${quoteEntry(config.entry)}) lists ${diffIds.length} diffIDs`,
    );
  }
  for (const [i, l] of layers.entries()) {
    const want = diffIds[i] as Digest;
    if (l.blob.decodeProblem !== undefined) {
      const code = l.blob.decodeProblem.includes('cannot decompress zstd') ? ErrorCodes.environment : ErrorCodes.invalidArchive;
      throw new OboxError(code, `${archive}: entry ${quoteEntry(l.entry)}: layer ${i + 1} of ${where} cannot be decompressed (${l.blob.compression}): ${l.blob.decodeProblem}`);
    }
    if (l.blob.uncompressedDigest !== want) {
      throw entryError(
        archive,
        l.entry,
        `layer ${i + 1} of ${where}: diffID mismatch: its tar hashes to ${l.blob.uncompressedDigest ?? 'an unknown digest'}, the config lists ${want}`,
      );
    }
  }
  return parsed;
}

export function layerMediaTypeOf(compression: EntryCompression): MediaType {
  return compression === 'gzip' ? MediaTypes.ociLayerGzip : compression === 'zstd' ? MediaTypes.ociLayerZstd : MediaTypes.ociLayer;
}

/** A canonical OCI manifest for a config and layer blobs (docker-archive images, converted Docker manifests). */
export function composeManifest(
  config: StagedBlob,
  layers: ReadonlyArray<{ blob: StagedBlob; mediaType: MediaType }>,
  annotations?: Readonly<Record<string, string>>,
): Uint8Array {
  return serializeManifest({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.blob.digest, size: l.blob.size })),
    ...(annotations !== undefined && Object.keys(annotations).length > 0 ? { annotations } : {}),
  });
}

export function candidate(
  source: string,
  names: readonly string[],
  rawManifest: Uint8Array,
  config: StagedBlob,
  parsedConfig: ImageConfig,
  layers: readonly CheckedLayer[],
): LoadCandidate {
  return {
    source,
    names,
    rawManifest,
    manifestDigest: Digest.of(rawManifest),
    configDigest: config.digest,
    config: parsedConfig,
    blobs: [config.digest, ...layers.map((l) => l.blob.digest)],
  };
}
