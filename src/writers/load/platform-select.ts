/**
 * Which manifest of a multi-platform index to load: the one for the wanted platform (default the
 * host's). os and architecture must match; a wanted variant must match too, and an exact variant
 * match beats a manifest that names none. Attestation manifests (BuildKit's `unknown/unknown`)
 * never match.
 */
import { ErrorCodes, OboxError } from '../../errors.js';
import type { Descriptor } from '../../image/descriptor.js';
import { formatPlatform, type Platform } from '../../image/platform.js';
import { isManifestMediaType } from '../../image/media-type.js';

/** 2: exact, 1: acceptable, 0: no. */
function variantScore(have: string | undefined, want: Platform): number {
  if (want.variant !== undefined) return have === want.variant ? 2 : have === undefined ? 1 : 0;
  // arm64 images say "v8" or nothing; both are what an arm64 host runs.
  return have === undefined || (want.architecture === 'arm64' && have === 'v8') ? 2 : 1;
}

/** The best match among `manifests`, or an OboxError(notFound) listing what there is. */
export function selectPlatform(manifests: readonly Descriptor[], want: Platform, where: string): Descriptor {
  let best: Descriptor | undefined;
  let bestScore = 0;
  for (const d of manifests) {
    if (!isManifestMediaType(d.mediaType) || d.platform === undefined) continue;
    if (d.annotations?.['vnd.docker.reference.type'] !== undefined) continue;
    if (d.platform.os !== want.os || d.platform.architecture !== want.architecture) continue;
    const score = variantScore(d.platform.variant, want);
    if (score > bestScore) {
      best = d;
      bestScore = score;
    }
  }
  if (best !== undefined) return best;
  const available = manifests
    .filter((d) => d.platform !== undefined && d.annotations?.['vnd.docker.reference.type'] === undefined)
    .map((d) => formatPlatform(d.platform as Platform));
  throw new OboxError(ErrorCodes.notFound, `${where} has no image for ${formatPlatform(want)}`, {
    hint: available.length > 0 ? `it has: ${[...new Set(available)].join(', ')}` : 'it lists no platforms',
  });
}
