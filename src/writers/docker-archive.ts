/**
 * The files that make an OCI layout a docker-archive too, as docker ≥ 25 writes it:
 * `manifest.json` (Config, RepoTags, Layers as `blobs/sha256/<hex>` paths) and the legacy
 * `repositories` (familiar name → tag → hex of the top layer's diffID, as docker 25 writes it).
 * docker 20.10 reads only manifest.json and opens the paths it names, so the same archive loads
 * in old and new docker, in podman / skopeo (`docker-archive:`), and in OCI tools (`oci-archive:`).
 *
 * Images with the same config (the same image ID) are one manifest.json entry with all their tags.
 *
 * RepoTags hold full normalised names (`docker.io/library/busybox:1`) where docker writes the
 * familiar form (`busybox:1`): docker's loader, containers/image, containerd and
 * go-containerregistry all normalise them to the same reference, and podman (4.3) treats a
 * familiar name from a docker-archive as a short name and files it under `localhost/`.
 */
import {
  serializeDockerArchiveManifest,
  serializeDockerRepositories,
  type DockerArchiveEntry,
  type DockerRepositories,
} from '../image/docker-archive.js';
import { Digest } from '../image/digest.js';
import { blobPath, DOCKER_MANIFEST_FILE, DOCKER_REPOSITORIES_FILE, type LayoutEntry } from './entries.js';
import type { ExportedImage } from './export-image.js';

interface Merged {
  readonly image: ExportedImage;
  readonly tags: string[];
}

function mergeByConfig(images: readonly ExportedImage[]): Merged[] {
  const byConfig = new Map<Digest, Merged>();
  for (const img of images) {
    let m = byConfig.get(img.configDigest);
    if (m === undefined) {
      m = { image: img, tags: [] };
      byConfig.set(img.configDigest, m);
    }
    for (const n of img.names) {
      const tag = n.toString();
      if (!m.tags.includes(tag)) m.tags.push(tag);
    }
  }
  return [...byConfig.values()];
}

export function dockerManifestBytes(images: readonly ExportedImage[]): Uint8Array {
  const entries: DockerArchiveEntry[] = mergeByConfig(images).map(({ image, tags }) => ({
    Config: blobPath(image.configDigest),
    RepoTags: tags,
    Layers: image.layers.map((l) => blobPath(l.digest)),
  }));
  return serializeDockerArchiveManifest(entries);
}

/** undefined when no named image has a layer (docker then writes no `repositories` either). */
export function dockerRepositoriesBytes(images: readonly ExportedImage[]): Uint8Array | undefined {
  const repos: Record<string, Record<string, string>> = {};
  let any = false;
  for (const img of images) {
    const top = img.config.rootfs.diff_ids.at(-1);
    if (top === undefined) continue;
    for (const n of img.names) {
      const tags = (repos[n.familiarName()] ??= {});
      tags[n.tag ?? 'latest'] = Digest.hex(top);
      any = true;
    }
  }
  return any ? serializeDockerRepositories(repos as DockerRepositories) : undefined;
}

export function dockerArchiveExtraEntries(images: readonly ExportedImage[]): LayoutEntry[] {
  const repos = dockerRepositoriesBytes(images);
  return [
    { kind: 'bytes', path: DOCKER_MANIFEST_FILE, data: dockerManifestBytes(images) },
    ...(repos !== undefined ? [{ kind: 'bytes' as const, path: DOCKER_REPOSITORIES_FILE, data: repos }] : []),
  ];
}
