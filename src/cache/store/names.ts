/**
 * Image names in the store's index.json: each name is one manifest descriptor whose
 * `org.opencontainers.image.ref.name` annotation is the full normalised reference
 * (`docker.io/library/busybox:latest`), so `skopeo inspect oci:ROOT:docker.io/library/busybox:latest`
 * finds it. An image stored without a name keeps one unannotated entry (docker's `<none>`) until
 * it is named. Entries are kept sorted (named by name, then unnamed by digest) so the same
 * contents always give the same index.json bytes.
 */
import { ErrorCodes, OboxError } from '../../errors.js';
import { compareUtf8 } from '../../image/canonical-json.js';
import { Annotations, type Descriptor } from '../../image/descriptor.js';
import type { Digest } from '../../image/digest.js';
import type { Index } from '../../image/oci-index.js';
import { normalizeReference } from '../../image/reference.js';

/** The name an image is stored under: normalised, tagged (`latest` by default), never a digest. */
export function storeName(name: string): string {
  const ref = normalizeReference(name);
  if (ref.digest !== undefined) {
    throw new OboxError(ErrorCodes.usage, `cannot name an image by digest: ${JSON.stringify(name)}`, {
      hint: 'use name:tag',
    });
  }
  return ref.toString();
}

export function refName(d: Descriptor): string | undefined {
  return d.annotations?.[Annotations.refName];
}

/** The descriptor without our name annotation (what the image is, not what it is called). */
export function withoutName(d: Descriptor): Descriptor {
  if (d.annotations === undefined || !(Annotations.refName in d.annotations)) return d;
  const { [Annotations.refName]: _name, ...rest } = d.annotations;
  const { annotations: _a, ...bare } = d;
  return Object.keys(rest).length > 0 ? { ...bare, annotations: rest } : bare;
}

function named(d: Descriptor, name: string): Descriptor {
  return { ...d, annotations: { ...(d.annotations ?? {}), [Annotations.refName]: name } };
}

function sorted(manifests: Descriptor[]): Descriptor[] {
  return manifests.sort((a, b) => {
    const [na, nb] = [refName(a), refName(b)];
    if (na !== undefined && nb !== undefined) return compareUtf8(na, nb);
    if (na !== undefined) return -1;
    if (nb !== undefined) return 1;
    return compareUtf8(a.digest, b.digest);
  });
}

/**
 * Point `names` (already normalised) at `image`, replacing whatever they named before.
 * With no names, keep the image as an unnamed entry unless some name already points at it.
 */
export function setNames(index: Index, image: Descriptor, names: readonly string[]): Index {
  const bare = withoutName(image);
  const taking = new Set(names);
  const kept = index.manifests.filter((m) => {
    const n = refName(m);
    return n === undefined ? m.digest !== bare.digest : !taking.has(n);
  });
  if (names.length === 0) {
    if (!kept.some((m) => m.digest === bare.digest)) kept.push(bare);
  } else {
    for (const n of taking) kept.push(named(bare, n));
  }
  return { ...index, manifests: sorted(kept) };
}

/** Remove one name; returns the index unchanged (same object) when the name is absent. */
export function removeName(index: Index, name: string): { index: Index; removed: Descriptor | undefined } {
  const i = index.manifests.findIndex((m) => refName(m) === name);
  if (i < 0) return { index, removed: undefined };
  const manifests = [...index.manifests];
  const [removed] = manifests.splice(i, 1);
  return { index: { ...index, manifests }, removed: removed && withoutName(removed) };
}

export function findName(index: Index, name: string): Descriptor | undefined {
  const d = index.manifests.find((m) => refName(m) === name);
  return d && withoutName(d);
}

export function findDigest(index: Index, digest: Digest): Descriptor | undefined {
  const d = index.manifests.find((m) => m.digest === digest);
  return d && withoutName(d);
}
