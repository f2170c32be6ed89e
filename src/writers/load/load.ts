/**
 * `load`: a docker-archive or OCI archive (plain, gzip or zstd; several images; BuildKit's and
 * docker ≥ 25's hybrid form with both manifest.json and index.json) into the store.
 *
 *  1. read: every entry streamed into a private staging area in the store's tmp/, by digest;
 *  2. interpret: manifest.json (docker's rule: it decides what is loaded and how it is named)
 *     and/or index.json; every image checked against the staged blobs;
 *  3. commit: the needed blobs renamed into blobs/, then each manifest stored and named.
 *
 * Any problem in 1 or 2 is an OboxError naming the archive and the entry, and leaves the store as
 * it was: no new blobs, no new names, nothing left in tmp/.
 *
 * In the hybrid form the two descriptions must agree where they overlap: an index.json manifest
 * with the same config and layers as a manifest.json entry is stored byte for byte (keeping its
 * digest) under manifest.json's RepoTags.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ErrorCodes, OboxError } from '../../errors.js';
import type { Store } from '../../cache/store/index.js';
import type { Digest } from '../../image/digest.js';
import { hostPlatform, type Platform } from '../../image/platform.js';
import type { LoadCandidate } from './candidate.js';
import { dockerCandidates, DOCKER_MANIFEST } from './docker-source.js';
import { OCI_INDEX, ociCandidates } from './oci-source.js';
import { lookup, readArchive, type ArchiveContents } from './read-archive.js';
import { Staging } from './staging.js';

export interface LoadOptions {
  /** Names the archive in messages (a file name); default `archive`. */
  archiveName?: string;
  /** Which image of a multi-platform index to load; default the host's (linux/<arch>). */
  platform?: Platform;
  /** Bytes of the archive read so far; `total` when the caller knows the size. */
  onProgress?: (progress: { bytes: number; total?: number }) => void;
  /** The archive's size, for progress. */
  totalBytes?: number;
}

export interface LoadedImage {
  /** Full normalised names now pointing at it (none: stored unnamed). */
  readonly names: readonly string[];
  readonly manifestDigest: Digest;
  /** The image ID. */
  readonly configDigest: Digest;
}

export interface LoadResult {
  /** Which description was used: manifest.json (`docker-archive`) or index.json (`oci-archive`). */
  readonly format: 'docker-archive' | 'oci-archive';
  readonly images: readonly LoadedImage[];
}

export type LoadSource = Readable | AsyncIterable<Uint8Array>;

async function* counted(source: LoadSource, opts: LoadOptions): AsyncGenerator<Buffer> {
  let bytes = 0;
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    bytes += b.byteLength;
    opts.onProgress?.(opts.totalBytes === undefined ? { bytes } : { bytes, total: opts.totalBytes });
    yield b;
  }
}

function sameImage(a: LoadCandidate, b: LoadCandidate): boolean {
  return a.blobs.length === b.blobs.length && a.blobs.every((d, i) => d === b.blobs[i]);
}

/** Both descriptions of a hybrid archive, merged: manifest.json decides, index.json lends manifest bytes. */
function merge(docker: LoadCandidate[], oci: LoadCandidate[]): LoadCandidate[] {
  if (docker.length === 0) return oci;
  const used = new Set<LoadCandidate>();
  const out = docker.map((d) => {
    const twin = oci.find((o) => sameImage(o, d));
    if (twin === undefined) return d;
    used.add(twin);
    return { ...twin, names: d.names, source: d.source };
  });
  return [...out, ...oci.filter((o) => !used.has(o))];
}

/** One entry per manifest digest, names merged in archive order. */
function dedupe(candidates: LoadCandidate[]): LoadCandidate[] {
  const byDigest = new Map<Digest, LoadCandidate>();
  for (const c of candidates) {
    const prev = byDigest.get(c.manifestDigest);
    byDigest.set(c.manifestDigest, prev === undefined ? c : { ...prev, names: [...new Set([...prev.names, ...c.names])] });
  }
  return [...byDigest.values()];
}

async function interpret(contents: ArchiveContents, staging: Staging, platform: Platform): Promise<{ format: LoadResult['format']; images: LoadCandidate[] }> {
  const hasDocker = lookup(contents, DOCKER_MANIFEST) !== undefined;
  const hasIndex = lookup(contents, OCI_INDEX) !== undefined;
  if (!hasDocker && !hasIndex) {
    throw new OboxError(
      ErrorCodes.invalidArchive,
      `${contents.archive}: neither ${DOCKER_MANIFEST} (docker-archive) nor ${OCI_INDEX} (OCI image layout) is in the archive`,
      { hint: 'archives from docker < 1.10 (only a repositories file) are not supported' },
    );
  }
  const oci = hasIndex ? await ociCandidates(contents, staging, platform) : [];
  const docker = hasDocker ? await dockerCandidates(contents, staging) : [];
  return { format: hasDocker ? 'docker-archive' : 'oci-archive', images: dedupe(merge(docker, oci)) };
}

/** Load every image of the archive `source` into `store`. */
export async function load(store: Store, source: LoadSource, opts: LoadOptions = {}): Promise<LoadResult> {
  const archive = opts.archiveName ?? 'archive';
  const staging = await Staging.create(store);
  try {
    const contents = await readArchive(counted(source, opts), archive, staging);
    const { format, images } = await interpret(contents, staging, opts.platform ?? hostPlatform());
    await staging.commit(images.flatMap((c) => c.blobs));
    const loaded: LoadedImage[] = [];
    for (const c of images) {
      const d = await store.putManifest(c.rawManifest, c.names);
      loaded.push({ names: c.names, manifestDigest: d.digest, configDigest: c.configDigest });
    }
    return { format, images: loaded };
  } finally {
    if (typeof (source as Readable).destroy === 'function') (source as Readable).destroy();
    await staging.dispose();
  }
}

/** Load an archive file (its path names it in messages). */
export async function loadFile(store: Store, path: string, opts: LoadOptions = {}): Promise<LoadResult> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (e) {
    throw new OboxError(ErrorCodes.notFound, `cannot read archive ${path}: ${(e as Error).message}`, { cause: e });
  }
  return load(store, createReadStream(path), { archiveName: path, totalBytes: size, ...opts });
}
