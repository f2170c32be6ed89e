/**
 * `-o/--output` specs, docker buildx style: `FILE.tar` (docker-archive), `type=docker,dest=F`,
 * `type=oci,dest=F` (archive), `type=oci,dest=DIR,tar=false` (layout dir), `type=local,dest=DIR`
 * (the root filesystem).
 */
import { ErrorCodes, OboxError } from '../errors.js';
import type { BuildEventSink } from '../executor/events.js';
import type { Image } from '../image/index.js';

export type OutputSpec =
  | { type: 'docker'; dest: string }
  | { type: 'oci'; dest: string; tar: boolean }
  | { type: 'local'; dest: string };

export function parseOutputSpec(spec: string): OutputSpec {
  if (!spec.includes('=')) return { type: 'docker', dest: spec };
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) throw new OboxError(ErrorCodes.usage, `--output ${JSON.stringify(spec)}: "${part}" is not KEY=VALUE`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const type = fields.get('type') ?? 'docker';
  const dest = fields.get('dest');
  if (!dest) throw new OboxError(ErrorCodes.usage, `--output ${JSON.stringify(spec)} needs dest=`);
  const tar = fields.get('tar');
  if (tar !== undefined && tar !== 'true' && tar !== 'false') throw new OboxError(ErrorCodes.usage, `--output tar= takes true or false, not ${tar}`);
  switch (type) {
    case 'docker':
      return { type, dest };
    case 'oci':
      return { type, dest, tar: tar !== 'false' };
    case 'local':
      return { type, dest };
    default:
      throw new OboxError(ErrorCodes.usage, `--output type=${type} is not supported`, { hint: 'use type=docker, type=oci or type=local' });
  }
}

export async function writeOutputs(
  image: Image,
  names: readonly string[],
  specs: readonly OutputSpec[],
  onEvent: BuildEventSink,
  sourceDateEpoch: number | undefined,
): Promise<void> {
  if (specs.length === 0) return;
  const writers = await import('../writers/index.js');
  const opts = { layers: 'as-stored' as const, ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}) };
  for (const spec of specs) {
    onEvent({ type: 'export', what: `exporting ${spec.type}${spec.type === 'oci' && !spec.tar ? ' layout' : ''} to ${spec.dest}` });
    if (spec.type === 'docker') await writers.writeDockerArchive({ image, names }, spec.dest, opts);
    else if (spec.type === 'oci') {
      if (spec.tar) await writers.writeOciArchive({ image, names }, spec.dest, opts);
      else await writers.writeOciLayout({ image, names }, spec.dest, opts);
    } else {
      const { flattenLayers } = await import('../layer/index.js');
      const layers = await image.layers();
      const sources = await Promise.all(layers.map(async (l) => (await l.compressed()) as AsyncIterable<Buffer>));
      await flattenLayers(sources, spec.dest);
    }
  }
}
