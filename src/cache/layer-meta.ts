/**
 * What obox knows about an unpacked layer dir besides its diffID, kept beside the layers in
 * `layer-meta-v1/<alg>/<hex>.json`:
 *
 * - origin: 'build' (a step's overlay upper dir, adopted) or 'unpacked' (from a layer blob) or
 *   'import' (a root filesystem re-packed by obox import);
 * - the options its tar was written with (SOURCE_DATE_EPOCH clamps mtimes), so `cache verify`
 *   can re-tar a 'build' or 'import' dir and expect exactly its diffID; an 'unpacked' dir is
 *   verified against a fresh unpack of its blob instead (a foreign tar need not round-trip byte
 *   for byte through our writer);
 * - disk usage, filled in lazily by whoever measures it first (cache du/ls).
 *
 * Written after the layer dir is installed: a crash in between leaves a dir without metadata,
 * which readers treat as origin unknown.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Digest } from '../image/index.js';
import { errnoCode, writeFileAtomic } from './store/atomic.js';
import { mkdir } from 'node:fs/promises';
import type { StorePaths } from './store/paths.js';

export const LAYER_META_DIR = 'layer-meta-v1';
const FORMAT = 'obox-layer-meta-v1';

export interface LayerMeta {
  diffId: string;
  origin: 'build' | 'unpacked' | 'import';
  /** The SOURCE_DATE_EPOCH the dir's tar was written with ('build' and 'import'). */
  sourceDateEpoch?: number;
  /** ISO time the dir was installed. */
  createdAt: string;
  /** Bytes on disk (st_blocks × 512, hard links once) and entries, once measured. */
  diskBytes?: number;
  files?: number;
}

export function layerMetaPath(paths: StorePaths, diffId: string): string {
  return join(paths.root, LAYER_META_DIR, Digest.algorithm(diffId as Digest), `${Digest.hex(diffId as Digest)}.json`);
}

export async function writeLayerMeta(paths: StorePaths, meta: LayerMeta): Promise<void> {
  const file = layerMetaPath(paths, meta.diffId);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify({ format: FORMAT, ...meta })}\n`, paths.tmp);
}

/** The metadata of a layer dir, or undefined when absent or unreadable. */
export async function readLayerMeta(paths: StorePaths, diffId: string): Promise<LayerMeta | undefined> {
  let text: string;
  try {
    text = await readFile(layerMetaPath(paths, diffId), 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (v.format !== FORMAT || v.diffId !== diffId) return undefined;
    if (v.origin !== 'build' && v.origin !== 'unpacked' && v.origin !== 'import') return undefined;
    const meta: LayerMeta = { diffId, origin: v.origin, createdAt: typeof v.createdAt === 'string' ? v.createdAt : new Date(0).toISOString() };
    if (typeof v.sourceDateEpoch === 'number') meta.sourceDateEpoch = v.sourceDateEpoch;
    if (typeof v.diskBytes === 'number') meta.diskBytes = v.diskBytes;
    if (typeof v.files === 'number') meta.files = v.files;
    return meta;
  } catch {
    return undefined;
  }
}
