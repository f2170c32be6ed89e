/**
 * The names a loaded image is stored under. docker-archive: manifest.json's RepoTags (docker's
 * own rule). OCI: `io.containerd.image.name` (docker ≥ 25, BuildKit, containerd), else
 * `org.opencontainers.image.ref.name` when it reads as an image reference (obox and skopeo write
 * full names there; a bare word like `latest` is read as a repository name, as `docker.io/library/latest:latest`).
 * A name that is not a valid reference is dropped rather than refusing the archive.
 */
import { Annotations } from '../../image/descriptor.js';
import { normalizeReference } from '../../image/reference.js';

export const CONTAINERD_IMAGE_NAME = 'io.containerd.image.name';

/** The full normalised form (`docker.io/library/busybox:latest`), or undefined when `text` is not a name:tag. */
export function storeNameOf(text: string): string | undefined {
  try {
    const ref = normalizeReference(text);
    return ref.digest === undefined ? ref.toString() : undefined;
  } catch {
    return undefined;
  }
}

export function namesFromRepoTags(tags: readonly string[]): string[] {
  return unique(tags.map(storeNameOf));
}

export function namesFromAnnotations(annotations: Readonly<Record<string, string>> | undefined): string[] {
  if (annotations === undefined) return [];
  const containerd = annotations[CONTAINERD_IMAGE_NAME];
  if (containerd !== undefined) {
    const n = storeNameOf(containerd);
    if (n !== undefined) return [n];
  }
  const ref = annotations[Annotations.refName];
  return ref === undefined ? [] : unique([storeNameOf(ref)]);
}

export function unique(names: ReadonlyArray<string | undefined>): string[] {
  const out: string[] = [];
  for (const n of names) if (n !== undefined && !out.includes(n)) out.push(n);
  return out;
}
