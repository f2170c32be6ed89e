/**
 * `obox cache verify [--repair]`: is everything in the store what its name says?
 *
 * - Blobs: every file in blobs/sha256 is hashed again and compared with its name; its size with
 *   what the descriptors of images and cache entries state.
 * - Layer dirs: a dir obox wrote itself (origin 'build' or 'import' in its layer metadata) is
 *   written as a tar again with the options recorded there and must give its diffID. A dir
 *   unpacked from a blob (origin 'unpacked', or unknown) need not round-trip byte for byte
 *   through our writer (a foreign tar orders and encodes differently), so the blob is unpacked
 *   into tmp/ instead and the two trees are compared as tars written the same way. With no blob
 *   to compare with, the dir is reported unverifiable (not a problem).
 * - Cache entries: readable, and their layer present as a good dir or a good blob.
 * - Images: manifest, config and layer blobs present and good.
 * - links-v1: links to removed dirs are noted (harmless; --repair removes them).
 *
 * --repair, holding the gc lock (prune cannot run meanwhile) and leaving alone what a running
 * build holds: removes corrupt blobs and layer dirs (a dir is unpacked again when a good blob for
 * it exists), unreadable entries and entries whose layer is gone everywhere (an entry whose blob
 * is gone but whose dir is good only forgets the blob), dangling links and orphaned metadata.
 * An image with a missing or corrupt blob cannot be repaired here: it is reported, and the
 * remaining count (the exit status) says so.
 */
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readlinkSync } from 'node:fs';
import { mkdir, rename, rm, unlink, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseMediaType, MediaTypes, type Digest } from '../image/index.js';
import { HashCounter, packDirectory, unpackLayer, type PackOptions } from '../layer/index.js';
import { BuildIndex, encodeEntry, type BuildCacheEntry, type IndexProblem } from './build-index.js';
import { loadImages, type ImageUse } from './inventory.js';
import { readLayerMeta, layerMetaPath, LAYER_META_DIR, type LayerMeta } from './layer-meta.js';
import { ensureLayerDir, storedLayer } from './layers.js';
import { readLiveLeases, withGcLock } from './leases.js';
import { LINKS_DIR } from './prune.js';
import { errnoCode, tempName, writeFileAtomic, listDirOrEmpty, pathExistsSync } from './store/atomic.js';
import type { Store } from './store/index.js';
import type { StorePaths } from './store/paths.js';

export type VerifyKind = 'blob' | 'layer-dir' | 'entry' | 'image' | 'link' | 'metadata';

export interface VerifyProblem {
  kind: VerifyKind;
  id: string;
  problem: string;
  /** What --repair did about it; undefined when it remains. */
  repaired?: string;
}

export interface VerifyNote {
  kind: VerifyKind;
  id: string;
  note: string;
  repaired?: string;
}

export interface VerifyReport {
  checked: { blobs: number; layerDirs: number; unverifiable: number; entries: number; images: number; links: number };
  problems: VerifyProblem[];
  notes: VerifyNote[];
  /** Problems not repaired. */
  remaining: number;
  repairRun: boolean;
}

export interface VerifyOptions {
  repair?: boolean;
  /** Blobs hashed and dirs compared at once (default 4). */
  concurrency?: number;
}

const HEX64 = /^[0-9a-f]{64}$/;
const DEFAULT_LAYER_TYPE = MediaTypes.ociLayerGzip as string;

async function fileDigest(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** sha256 of `dir` written as a layer tar (uncompressed, nothing stored). */
async function tarDigest(dir: string, options: PackOptions): Promise<string> {
  const h = new HashCounter();
  for await (const chunk of packDirectory(dir, options)) h.update(chunk);
  return h.digest();
}

async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
}

/** The tar options a layer dir of this origin was written with (epoch aside). */
function originOptions(origin: LayerMeta['origin'] | undefined): PackOptions {
  return origin === 'import' ? {} : { overlay: { xattrs: 'trusted' } };
}

interface KnownBlob {
  digest: string;
  size: number | undefined;
  mediaType: string | undefined;
}

export async function verifyStore(store: Store, options: VerifyOptions = {}): Promise<VerifyReport> {
  const paths = store.paths;
  const concurrency = options.concurrency ?? 4;
  const report: VerifyReport = {
    checked: { blobs: 0, layerDirs: 0, unverifiable: 0, entries: 0, images: 0, links: 0 },
    problems: [],
    notes: [],
    remaining: 0,
    repairRun: options.repair ?? false,
  };
  const problem = (kind: VerifyKind, id: string, text: string): VerifyProblem => {
    const p = { kind, id, problem: text };
    report.problems.push(p);
    return p;
  };

  // ---- what the images and the cache entries say ----
  const images = await loadImages(store);
  const indexProblems: IndexProblem[] = [];
  const index = await BuildIndex.open(paths, { onProblem: (p) => indexProblems.push(p) });
  const entries: BuildCacheEntry[] = [];
  for await (const e of index.entries()) entries.push(e);
  report.checked.entries = entries.length + indexProblems.length;
  report.checked.images = images.length;

  const blobFor = new Map<string, KnownBlob[]>(); // diffID → blobs that unpack to it
  const addBlobFor = (diffId: string, b: KnownBlob): void => {
    const list = blobFor.get(diffId) ?? [];
    if (!list.some((x) => x.digest === b.digest)) list.push(b);
    blobFor.set(diffId, list);
  };
  for (const img of images) {
    for (const l of img.layers) if (l.diffId !== undefined) addBlobFor(l.diffId, { digest: l.digest, size: l.size, mediaType: l.mediaType });
  }
  for (const e of entries) {
    if (e.layer?.digest === undefined) continue;
    const mediaType = (e.layer as { mediaType?: unknown }).mediaType;
    addBlobFor(e.layer.diffId, { digest: e.layer.digest, size: e.layer.size, mediaType: typeof mediaType === 'string' ? mediaType : undefined });
  }

  // ---- blobs: content must hash to the name (a size another record states is that record's claim) ----
  const badBlobs = new Map<string, VerifyProblem>();
  const sizeOf = new Map<string, number>();
  const blobNames = listDirOrEmpty(paths.blobDir('sha256'));
  await pool(blobNames, concurrency, async (name) => {
    const path = join(paths.blobDir('sha256'), name);
    if (!HEX64.test(name)) {
      report.notes.push({ kind: 'blob', id: `blobs/sha256/${name}`, note: 'not a blob name (a stray file)' });
      return;
    }
    const digest = `sha256:${name}`;
    report.checked.blobs++;
    let got: { digest: string; size: number };
    try {
      got = await fileDigest(path);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return;
      badBlobs.set(digest, problem('blob', digest, `cannot be read: ${(e as Error).message}`));
      return;
    }
    if (got.digest !== digest) badBlobs.set(digest, problem('blob', digest, `content hashes to ${got.digest}`));
    else sizeOf.set(digest, got.size);
  });
  const goodBlob = (digest: string): boolean => !badBlobs.has(digest) && pathExistsSync(paths.blob(digest as Digest));
  const goodBlobFor = (diffId: string): KnownBlob | undefined => (blobFor.get(diffId) ?? []).find((b) => goodBlob(b.digest));

  // ---- layer dirs ----
  const epochsOf = new Map<string, Set<number>>(); // diffID → SOURCE_DATE_EPOCHs of the steps that made it
  for (const e of entries) {
    const epoch = (e.inputs as { sourceDateEpoch?: unknown }).sourceDateEpoch;
    if (e.layer && typeof epoch === 'number') epochsOf.set(e.layer.diffId, new Set([...(epochsOf.get(e.layer.diffId) ?? []), epoch]));
  }
  const badDirs = new Map<string, VerifyProblem>();
  const layerRoot = join(paths.layers, 'sha256');
  const dirNames = listDirOrEmpty(layerRoot).filter((n) => HEX64.test(n));
  await pool(dirNames, concurrency, async (name) => {
    const diffId = `sha256:${name}`;
    const dir = join(layerRoot, name);
    report.checked.layerDirs++;
    const meta = await readLayerMeta(paths, diffId).catch(() => undefined);
    try {
      const verdict = await checkLayerDir(paths, dir, diffId, meta, epochsOf.get(diffId) ?? new Set(), goodBlobFor(diffId));
      if (verdict.kind === 'bad') badDirs.set(diffId, problem('layer-dir', diffId, verdict.why));
      else if (verdict.kind === 'unverifiable') {
        report.checked.unverifiable++;
        report.notes.push({ kind: 'layer-dir', id: diffId, note: verdict.why });
      } else if (verdict.note) report.notes.push({ kind: 'layer-dir', id: diffId, note: verdict.note });
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' && !pathExistsSync(dir)) return; // removed meanwhile
      badDirs.set(diffId, problem('layer-dir', diffId, `cannot be checked: ${(e as Error).message}`));
    }
  });
  const goodDir = (diffId: string): boolean => !badDirs.has(diffId) && pathExistsSync(paths.layer(diffId as Digest));

  // ---- cache entries ----
  type EntryFix = 'remove' | 'forget-blob' | 'correct-size';
  const entryProblems = new Map<string, { problem: VerifyProblem; entry: BuildCacheEntry | undefined; fix: EntryFix }>();
  for (const p of indexProblems) entryProblems.set(p.key, { problem: problem('entry', p.key, `unreadable: ${p.reason}`), entry: undefined, fix: 'remove' });
  const checkEntry = (e: BuildCacheEntry): { why: string; fix: EntryFix } | undefined => {
    if (e.layer === null) return undefined;
    const dirOk = goodDir(e.layer.diffId);
    const blobOk = e.layer.digest !== undefined && goodBlob(e.layer.digest);
    if (!dirOk && !blobOk) {
      const dirState = badDirs.has(e.layer.diffId) ? 'its layer dir is corrupt' : 'its layer dir is gone';
      const blobState = e.layer.digest === undefined ? 'it has no blob' : badBlobs.has(e.layer.digest) ? 'its blob is corrupt' : 'its blob is gone';
      return { why: `${dirState} and ${blobState}`, fix: 'remove' };
    }
    if (e.layer.digest !== undefined && !blobOk) return { why: `its blob ${e.layer.digest} is ${badBlobs.has(e.layer.digest) ? 'corrupt' : 'gone'}`, fix: 'forget-blob' };
    const actual = e.layer.digest !== undefined ? sizeOf.get(e.layer.digest) : undefined;
    if (actual !== undefined && e.layer.size !== undefined && e.layer.size !== actual) return { why: `it says its blob is ${e.layer.size} bytes; it is ${actual}`, fix: 'correct-size' };
    return undefined;
  };
  for (const e of entries) {
    const bad = checkEntry(e);
    if (bad) entryProblems.set(e.key, { problem: problem('entry', e.key, bad.why), entry: e, fix: bad.fix });
  }

  // ---- images ----
  const imageProblems: Array<{ img: ImageUse; problem: VerifyProblem }> = [];
  for (const img of images) {
    const broken = [...new Set(img.blobs)].filter((d) => !goodBlob(d)).map((d) => `${d} ${badBlobs.has(d) ? 'is corrupt' : 'is missing'}`);
    for (const [d, size] of Object.entries(img.sizes)) {
      const actual = sizeOf.get(d);
      if (actual !== undefined && actual !== size) broken.push(`${d} is ${actual} bytes; the image's descriptor says ${size}`);
    }
    if (img.problem !== undefined && broken.length === 0) broken.push(img.problem);
    if (broken.length > 0) imageProblems.push({ img, problem: problem('image', img.names.join(', ') || img.digest, `blob ${broken.join('; blob ')}`) });
  }

  // ---- links, metadata ----
  const linksDir = join(paths.root, LINKS_DIR);
  const dangling: string[] = [];
  for (const name of listDirOrEmpty(linksDir)) {
    let target: string;
    try {
      target = resolve(linksDir, readlinkSync(join(linksDir, name)));
    } catch {
      continue;
    }
    report.checked.links++;
    if (!pathExistsSync(target)) dangling.push(name);
  }
  const danglingNotes = dangling.map((name) => {
    const n: VerifyNote = { kind: 'link', id: `${LINKS_DIR}/${name}`, note: 'points at a dir that is gone' };
    report.notes.push(n);
    return n;
  });
  const orphanMetas = listDirOrEmpty(join(paths.root, LAYER_META_DIR, 'sha256'))
    .map((n) => /^([0-9a-f]{64})\.json$/.exec(n)?.[1])
    .filter((hex): hex is string => hex !== undefined && !pathExistsSync(join(layerRoot, hex)));
  const metaNotes = orphanMetas.map((hex) => {
    const n: VerifyNote = { kind: 'metadata', id: `sha256:${hex}`, note: 'metadata of a layer dir that is gone' };
    report.notes.push(n);
    return n;
  });

  if (options.repair) {
    await withGcLock(paths, async () => {
      const leases = await readLiveLeases(paths, { dryRun: true });
      const held = (p: VerifyProblem, leased: boolean): boolean => {
        if (leased) p.problem += ' (held by a running build: not repaired; run again later)';
        return leased;
      };
      for (const [digest, p] of badBlobs) {
        if (held(p, leases.digests.has(digest))) continue;
        await unlink(paths.blob(digest as Digest)).catch((e: unknown) => {
          if (errnoCode(e) !== 'ENOENT') throw e;
        });
        p.repaired = 'removed';
      }
      for (const [diffId, p] of badDirs) {
        if (held(p, leases.diffIds.has(diffId))) continue;
        const dir = paths.layer(diffId as Digest);
        for (const name of listDirOrEmpty(linksDir)) {
          try {
            if (resolve(linksDir, readlinkSync(join(linksDir, name))) === dir) await unlink(join(linksDir, name));
          } catch {
            // not a link, or gone
          }
        }
        const doomed = join(paths.tmp, tempName('prune'));
        await rename(dir, doomed).catch((e: unknown) => {
          if (errnoCode(e) !== 'ENOENT') throw e;
        });
        await unlink(layerMetaPath(paths, diffId)).catch(() => undefined);
        await rm(doomed, { recursive: true, force: true });
        badDirs.delete(diffId);
        p.repaired = 'removed';
        const blob = goodBlobFor(diffId);
        if (blob !== undefined) {
          try {
            const size = blob.size ?? lstatSync(paths.blob(blob.digest as Digest)).size;
            const layer = storedLayer(store, { digest: blob.digest as Digest, size, mediaType: parseMediaType(blob.mediaType ?? DEFAULT_LAYER_TYPE), diffId: diffId as Digest });
            await ensureLayerDir(store, layer);
            p.repaired = `removed, and unpacked again from blob ${blob.digest}`;
          } catch (e) {
            p.repaired = `removed (unpacking it again from blob ${blob.digest} failed: ${(e as Error).message})`;
          }
        }
      }
      for (const [key, ep] of entryProblems) {
        if (held(ep.problem, leases.keys.has(key))) continue;
        // Judge again: a repaired dir or blob may have changed the verdict.
        const now = ep.entry === undefined ? { fix: 'remove' as const } : checkEntry(ep.entry);
        if (now === undefined) {
          ep.problem.repaired = 'its layer was repaired';
          continue;
        }
        const rewrite = async (e: BuildCacheEntry): Promise<void> => {
          await writeFileAtomic(index.entryPath(key), encodeEntry(e), paths.tmp);
          const used = new Date(e.lastUsedAt); // the file's mtime is its last use: keep it
          await utimes(index.entryPath(key), used, used).catch(() => undefined);
        };
        if (now.fix === 'forget-blob' && ep.entry?.layer) {
          await rewrite({ ...ep.entry, layer: { diffId: ep.entry.layer.diffId } });
          ep.problem.repaired = 'the entry no longer names the blob';
        } else if (now.fix === 'correct-size' && ep.entry?.layer?.digest !== undefined) {
          await rewrite({ ...ep.entry, layer: { ...ep.entry.layer, size: sizeOf.get(ep.entry.layer.digest)! } });
          ep.problem.repaired = "the entry now states the blob's real size";
        } else {
          await unlink(index.entryPath(key)).catch((e: unknown) => {
            if (errnoCode(e) !== 'ENOENT') throw e;
          });
          ep.problem.repaired = 'entry removed';
        }
      }
      for (const [i, name] of dangling.entries()) {
        await unlink(join(linksDir, name)).catch(() => undefined);
        danglingNotes[i]!.repaired = 'removed';
      }
      for (const [i, hex] of orphanMetas.entries()) {
        if (pathExistsSync(join(layerRoot, hex))) continue;
        await unlink(layerMetaPath(paths, `sha256:${hex}`)).catch(() => undefined);
        metaNotes[i]!.repaired = 'removed';
      }
      await mkdir(paths.tmp, { recursive: true });
    });
    for (const { problem: p } of imageProblems) p.problem += ' (cannot be repaired here: load or build the image again)';
  }
  report.remaining = report.problems.filter((p) => p.repaired === undefined).length;
  return report;
}

type DirVerdict = { kind: 'ok'; note?: string } | { kind: 'bad'; why: string } | { kind: 'unverifiable'; why: string };

async function checkLayerDir(paths: StorePaths, dir: string, diffId: string, meta: LayerMeta | undefined, epochs: ReadonlySet<number>, blob: KnownBlob | undefined): Promise<DirVerdict> {
  const origin = meta?.origin;
  if (origin === 'build' || origin === 'import') {
    const base = originOptions(origin);
    const tried = new Set<number | undefined>([meta!.sourceDateEpoch, ...epochs]);
    let first: string | undefined;
    for (const epoch of tried) {
      const got = await tarDigest(dir, { ...base, sourceDateEpoch: epoch });
      first ??= got;
      if (got === diffId) {
        return epoch === meta!.sourceDateEpoch ? { kind: 'ok' } : { kind: 'ok', note: `its metadata records SOURCE_DATE_EPOCH ${meta!.sourceDateEpoch ?? 'unset'}; it matches with ${epoch ?? 'unset'}` };
      }
    }
    if (blob === undefined) return { kind: 'bad', why: `written as a tar it hashes to ${first}, not to its diffID (no blob to compare with)` };
    // Compare with the blob, mtimes clamped alike (the blob was written with some epoch).
    const same = await sameAsBlob(paths, dir, diffId, blob, { ...base, sourceDateEpoch: 0 });
    if (same.kind !== 'same') return { kind: 'bad', why: same.kind === 'differs' ? `its tree differs from blob ${blob.digest} (and written as a tar it hashes to ${first})` : same.why };
    return { kind: 'ok', note: `matches blob ${blob.digest} but not its recorded tar options (file times not compared)` };
  }
  if (blob === undefined) return { kind: 'unverifiable', why: `origin ${origin ?? 'unknown'} and no blob to compare with` };
  const same = await sameAsBlob(paths, dir, diffId, blob, originOptions(origin));
  if (same.kind === 'same') return { kind: 'ok' };
  if (same.kind === 'differs') return { kind: 'bad', why: `its tree differs from a fresh unpack of blob ${blob.digest}` };
  return { kind: 'unverifiable', why: same.why };
}

async function sameAsBlob(paths: StorePaths, dir: string, diffId: string, blob: KnownBlob, options: PackOptions): Promise<{ kind: 'same' } | { kind: 'differs' } | { kind: 'other'; why: string }> {
  const scratch = join(paths.tmp, tempName('verify'));
  await mkdir(scratch, { recursive: true });
  try {
    const target = join(scratch, 'tree');
    const unpacked = await unpackLayer(paths.blob(blob.digest as Digest), target, { archiveName: `blob ${blob.digest}` });
    if (unpacked.diffId !== diffId) return { kind: 'other', why: `blob ${blob.digest} unpacks to ${unpacked.diffId}, not to this diffID` };
    const [a, b] = await Promise.all([tarDigest(dir, options), tarDigest(target, options)]);
    return a === b ? { kind: 'same' } : { kind: 'differs' };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
