/**
 * Images of a docker-archive, as manifest.json describes them (docker's own rule: `docker load`
 * reads nothing else): Config and Layers are paths in the archive, RepoTags the names. Layers are
 * stored as they are in the archive — a plain tar as `application/vnd.oci.image.layer.v1.tar`, a
 * gzip one as `…tar+gzip` — so their digests and bytes are kept and loading costs no compression.
 */
import { ErrorCodes, OboxError } from '../../errors.js';
import { parseDockerArchiveManifestBytes } from '../../image/docker-archive.js';
import { candidate, checkImage, composeManifest, inEntry, layerMediaTypeOf, type CheckedLayer, type LoadCandidate } from './candidate.js';
import { quoteEntry, toByteString } from './entry-path.js';
import { lookup, type ArchiveContents } from './read-archive.js';
import { namesFromRepoTags } from './names.js';
import type { Staging } from './staging.js';

export const DOCKER_MANIFEST = 'manifest.json';
/** manifest.json, index.json and repositories are refused beyond this size. */
export const METADATA_LIMIT = 16 * 1024 * 1024;

function find(contents: ArchiveContents, path: string, where: string): CheckedLayer {
  const entry = toByteString(path.split('/').filter((p) => p !== '' && p !== '.').join('/'));
  const blob = lookup(contents, entry);
  if (blob === undefined) {
    throw new OboxError(ErrorCodes.invalidArchive, `${contents.archive}: ${where} names entry ${quoteEntry(entry)}, which is not in the archive`);
  }
  return { blob, entry };
}

export async function dockerCandidates(contents: ArchiveContents, staging: Staging): Promise<LoadCandidate[]> {
  const archive = contents.archive;
  const file = lookup(contents, DOCKER_MANIFEST);
  if (file === undefined) return [];
  const bytes = await staging.read(file, METADATA_LIMIT, `${archive}: ${DOCKER_MANIFEST}`);
  const entries = inEntry(archive, DOCKER_MANIFEST, () => parseDockerArchiveManifestBytes(bytes));
  const out: LoadCandidate[] = [];
  for (const [i, e] of entries.entries()) {
    const where = `${DOCKER_MANIFEST}[${i}]`;
    if (e.LayerSources !== undefined && Object.keys(e.LayerSources).length > 0) {
      throw new OboxError(ErrorCodes.invalidArchive, `${archive}: ${where} has foreign layers (LayerSources); obox does not load those`);
    }
    const config = find(contents, e.Config, `${where}.Config`);
    const layers = e.Layers.map((p, j) => find(contents, p, `${where}.Layers[${j}]`));
    const parsed = await checkImage(archive, staging, config, layers, where);
    const manifest = composeManifest(
      config.blob,
      layers.map((l) => ({ blob: l.blob, mediaType: layerMediaTypeOf(l.blob.compression) })),
    );
    out.push(candidate(where, namesFromRepoTags(e.RepoTags), manifest, config.blob, parsed, layers));
  }
  return out;
}
