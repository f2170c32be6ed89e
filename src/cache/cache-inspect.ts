/**
 * `obox cache inspect KEY`: one cache entry, found by its key or a unique prefix of at least 8
 * hex digits, with where its layer is on disk and the inputs its key was computed from.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, OboxError } from '../errors.js';
import { BuildIndex, type BuildCacheEntry, type IndexProblem } from './build-index.js';
import { allocated, measureTree } from './disk-usage.js';
import { laterIso, loadImages } from './inventory.js';
import { readLayerMeta } from './layer-meta.js';
import { errnoCode, pathExistsSync } from './store/atomic.js';
import type { Store } from './store/index.js';

export const MIN_KEY_PREFIX = 8;

export interface EntryDetails {
  entry: BuildCacheEntry;
  /** The later of the recorded time and the entry file's mtime. */
  lastUsedAt: string;
  layer: {
    dirPath: string;
    /** Undefined when the dir is not on disk. */
    dirBytes: number | undefined;
    origin: string | undefined;
    blobBytes: number | undefined;
  } | null;
  /** Names of images with this layer. */
  images: string[];
  /** The parent step's text, when the parent is a step with an entry. */
  parentText?: string;
}

/** The full key for `text` (a key or a unique prefix); one-line E_USAGE / E_NOT_FOUND otherwise. */
export async function resolveEntryKey(store: Store, text: string): Promise<string> {
  const hex = text.trim().replace(/^sha256:/i, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex) || hex.length < MIN_KEY_PREFIX || hex.length > 64) {
    throw new OboxError(ErrorCodes.usage, `${JSON.stringify(text)} is not a cache key or a prefix of one`, {
      hint: `give at least ${MIN_KEY_PREFIX} hex digits of a key from obox cache ls`,
    });
  }
  const index = await BuildIndex.open(store.paths);
  const shard = join(index.entriesDir, hex.slice(0, 2));
  let names: string[];
  try {
    names = readdirSync(shard);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
    names = [];
  }
  const matches = names.filter((n) => /^[0-9a-f]{64}\.json$/.test(n) && n.startsWith(hex)).map((n) => `sha256:${n.slice(0, 64)}`);
  if (matches.length === 0) throw new OboxError(ErrorCodes.notFound, `no cache entry matches ${text}`, { hint: 'obox cache ls lists the keys' });
  if (matches.length > 1) {
    const first = matches.slice(0, 3).map((k) => k.slice(7));
    let digits = Math.max(12, hex.length + 4);
    while (new Set(first.map((k) => k.slice(0, digits))).size < first.length) digits++;
    const shown = first.map((k) => k.slice(0, digits));
    throw new OboxError(ErrorCodes.usage, `${text} matches ${matches.length} cache entries (${shown.join(', ')}${matches.length > 3 ? ', …' : ''})`, {
      hint: 'give more digits of the key',
    });
  }
  return matches[0]!;
}

export async function inspectEntry(store: Store, keyOrPrefix: string): Promise<EntryDetails> {
  const key = await resolveEntryKey(store, keyOrPrefix);
  const problems: IndexProblem[] = [];
  const index = await BuildIndex.open(store.paths, { onProblem: (p) => problems.push(p) });
  const entry = await index.lookup(key);
  if (entry === undefined) {
    const why = problems[0]?.reason ?? 'it was removed meanwhile';
    throw new OboxError(ErrorCodes.store, `cache entry ${key} cannot be read: ${why}`, { hint: 'obox cache verify --repair removes unreadable entries' });
  }
  let layer: EntryDetails['layer'] = null;
  let images: string[] = [];
  if (entry.layer !== null) {
    const dirPath = store.paths.layer(entry.layer.diffId as never);
    let dirBytes: number | undefined;
    let origin: string | undefined;
    if (pathExistsSync(dirPath)) {
      const meta = await readLayerMeta(store.paths, entry.layer.diffId).catch(() => undefined);
      origin = meta?.origin;
      dirBytes = meta?.diskBytes ?? measureTree(dirPath).bytes;
    }
    let blobBytes: number | undefined;
    if (entry.layer.digest !== undefined) {
      try {
        blobBytes = allocated(lstatSync(store.paths.blob(entry.layer.digest as never)));
      } catch {
        blobBytes = undefined;
      }
    }
    layer = { dirPath, dirBytes, origin, blobBytes };
    const diffId = entry.layer.diffId;
    images = [...new Set((await loadImages(store)).filter((i) => i.layers.some((l) => l.diffId === diffId)).flatMap((i) => i.names))].sort();
  }
  let lastUsedAt = entry.lastUsedAt;
  try {
    lastUsedAt = laterIso(lastUsedAt, lstatSync(index.entryPath(key)).mtimeMs);
  } catch {
    // removed meanwhile: what was read stands
  }
  const details: EntryDetails = { entry, lastUsedAt, layer, images };
  if (entry.inputs.parent.kind === 'step') {
    const parent = await index.lookup(entry.inputs.parent.key).catch(() => undefined);
    if (parent?.text !== undefined) details.parentText = parent.text;
  }
  return details;
}
