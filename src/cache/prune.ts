/**
 * `obox cache prune`: free disk space, least recently used first, like `docker builder prune` /
 * `buildctl prune`.
 *
 * What is considered, in this order (each group least recently used first):
 *   0. unreferenced data: layer dirs and blobs no entry and no image uses, unreadable entry
 *      files (only when no filter but until/since is given);
 *   1. cache entries and cache mounts (filters, --keep-last and --max-age select among them);
 *   2. with --all, the layer dirs of images (never their blobs: a dir is unpacked again from
 *      its blob when a build needs it).
 * Removing an entry also frees its layer dir and blob once no remaining entry or image uses
 * them. Without a size limit every selected item goes; with --keep-storage/--max-used (total
 * cache at most SIZE) or --min-free (file system free space at least SIZE) items go only until
 * the limit holds.
 *
 * Never removed: what a live build lease holds, anything created or used after the oldest live
 * lease began (what running builds just made), blobs of images in index.json, cache mounts while
 * any build runs, and layer dirs of images without --all.
 *
 * Crash safety: the whole pass holds the store's gc lock (builds take it to add to their
 * lease). Each item is removed so that a kill at any point leaves a consistent store: an entry
 * file is unlinked before the layer dir and blob it points at; a layer dir's links go first,
 * then the dir is renamed into tmp/ (so no half-deleted dir is ever visible under layers-v1/),
 * then its metadata, then the renamed copy is deleted; a blob is one unlink. What a kill leaves
 * behind (an unreferenced dir or blob, a metadata file without its dir, a `prune-PID-…` dir in
 * tmp/) is unreferenced data the next prune removes.
 */
import { lstatSync, readlinkSync, statfsSync, type Stats } from 'node:fs';
import { rename, rm, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { REPLAY_DIR } from './build-records.js';
import { matchesFilter, onlyTimeFilters, type CacheFilter } from './cache-filter.js';
import { measureTree, allocated } from './disk-usage.js';
import { cacheBytesOf, entryFile, loadInventory, type CacheMountUsage, type Inventory, type ListedEntry } from './inventory.js';
import { layerMetaPath } from './layer-meta.js';
import { readLiveLeases, withGcLock, type LiveLeases } from './leases.js';
import { errnoCode, tempName, listDirOrEmpty } from './store/atomic.js';
import type { StorePaths } from './store/paths.js';
import type { Digest } from '../image/digest.js';
import type { Store } from './store/index.js';
import { abandonedTmpItems } from './tmp-items.js';
import { RACY_MS } from './usage-cache.js';

export const LINKS_DIR = 'links-v1';

export interface PruneOptions {
  /** Also remove the layer dirs of images (never their blobs). */
  all?: boolean;
  filter?: CacheFilter;
  /** Prune until the cache takes at most this many bytes (--keep-storage, --max-used). */
  maxUsed?: number;
  /** Prune until the store's file system has this many bytes free. */
  minFree?: number;
  /** Only items unused for longer than this (ms). */
  maxAgeMs?: number;
  /** Keep this many most recently used entries (of those the filter selects). */
  keepLast?: number;
  dryRun?: boolean;
  now?: number;
  cwd?: string;
  /** Bytes free on the store's file system (default: statfs); tests give a fixed figure. */
  freeSpace?: () => number;
  /** Called before each removal step with what it removes (tests use it to stop midway). */
  beforeRemove?: (step: PruneStep) => void | Promise<void>;
}

export type PruneStep =
  | { kind: 'entry'; key: string; path: string }
  | { kind: 'bad-entry'; key: string; path: string }
  | { kind: 'layer-dir'; diffId: string; path: string }
  | { kind: 'blob'; digest: string; path: string }
  | { kind: 'cache-mount'; id: string; path: string };

export interface PruneReport {
  dryRun: boolean;
  entries: Array<{ key: string; text: string | undefined; lastUsedAt: string; bytes: number }>;
  badEntries: Array<{ key: string; bytes: number }>;
  layerDirs: Array<{ diffId: string; bytes: number; image: boolean }>;
  blobs: Array<{ digest: string; bytes: number }>;
  cacheMounts: Array<{ id: string; bytes: number }>;
  metadataFiles: number;
  links: number;
  tmp: Array<{ name: string; bytes: number }>;
  staleLeases: number;
  freedBytes: number;
  kept: {
    /** Entries, layer dirs and blobs held by live build leases. */
    leased: number;
    /** Items created or used after the oldest live lease began. */
    newer: number;
    /** Cache mounts left alone because a build is running. */
    mountsInUse: number;
  };
  cacheBytesBefore: number;
  cacheBytesAfter: number;
}

// ---- planning ----

interface Candidate {
  tier: 0 | 1 | 2;
  lastUsed: number;
  id: string;
  entry?: ListedEntry;
  badEntry?: { key: string; path: string };
  mount?: CacheMountUsage;
  dir?: string;
  blob?: string;
}

/** Removes a tree by renaming it into tmp/ first; the rename is what makes it gone. */
async function removeViaTmp(paths: StorePaths, path: string): Promise<boolean> {
  const doomed = join(paths.tmp, tempName('prune'));
  try {
    await rename(path, doomed);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
  await rm(doomed, { recursive: true, force: true });
  return true;
}

async function unlinkIfThere(path: string): Promise<void> {
  await unlink(path).catch((e: unknown) => {
    if (errnoCode(e) !== 'ENOENT') throw e;
  });
}


function stOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/** links-v1: link name → absolute target. */
function readLinks(paths: StorePaths): Map<string, string> {
  const dir = join(paths.root, LINKS_DIR);
  const out = new Map<string, string>();
  for (const name of listDirOrEmpty(dir)) {
    try {
      out.set(name, resolve(dir, readlinkSync(join(dir, name))));
    } catch {
      // not a symlink: not ours to judge
    }
  }
  return out;
}

export async function pruneCache(store: Store, options: PruneOptions = {}): Promise<PruneReport> {
  return withGcLock(store.paths, async () => {
    const leases = await readLiveLeases(store.paths, { dryRun: options.dryRun ?? false });
    const inv = await loadInventory(store, { lastUsed: true, fresh: true });
    return prunePass(store, inv, leases, options);
  });
}

async function prunePass(store: Store, inv: Inventory, leases: LiveLeases, options: PruneOptions): Promise<PruneReport> {
  const paths = store.paths;
  const now = options.now ?? Date.now();
  const filter = options.filter ?? {};
  const all = options.all ?? false;
  const report: PruneReport = {
    dryRun: options.dryRun ?? false,
    entries: [],
    badEntries: [],
    layerDirs: [],
    blobs: [],
    cacheMounts: [],
    metadataFiles: 0,
    links: 0,
    tmp: [],
    staleLeases: leases.removed,
    freedBytes: 0,
    kept: { leased: 0, newer: 0, mountsInUse: 0 },
    cacheBytesBefore: cacheBytesOf(inv, all),
    cacheBytesAfter: 0,
  };
  // "Newer than the oldest live lease": with a margin for coarse file system timestamps.
  const since = leases.since === undefined ? Infinity : leases.since - RACY_MS;
  const isNew = (ms: number): boolean => ms >= since;
  const changedAt = (p: string): number => {
    const st = stOrUndefined(p);
    return st === undefined ? 0 : Math.max(st.mtimeMs, st.ctimeMs);
  };
  const oldEnough = (lastUsed: number): boolean => options.maxAgeMs === undefined || lastUsed < now - options.maxAgeMs;

  // References that keep layer dirs and blobs alive.
  const dirRefs = new Map<string, number>();
  const blobRefs = new Map<string, number>();
  for (const e of inv.entries) {
    if (!e.layer) continue;
    dirRefs.set(e.layer.diffId, (dirRefs.get(e.layer.diffId) ?? 0) + 1);
    if (e.layer.digest) blobRefs.set(e.layer.digest, (blobRefs.get(e.layer.digest) ?? 0) + 1);
  }
  const dirProtected = new Map<string, boolean>();
  const dirRemovable = (diffId: string, asImageDir: boolean): boolean => {
    if (!inv.layerDirs.has(diffId)) return false;
    if (inv.imageDiffIds.has(diffId) && !asImageDir) return false;
    let p = dirProtected.get(diffId);
    if (p === undefined) {
      p = leases.diffIds.has(diffId) || isNew(changedAt(paths.layer(diffId as Digest)));
      if (p) report.kept[leases.diffIds.has(diffId) ? 'leased' : 'newer']++;
      dirProtected.set(diffId, p);
    }
    return !p;
  };
  const blobProtected = new Map<string, boolean>();
  const blobRemovable = (digest: string): boolean => {
    if (!inv.blobs.has(digest) || inv.imageBlobs.has(digest)) return false;
    let p = blobProtected.get(digest);
    if (p === undefined) {
      p = leases.digests.has(digest) || isNew(changedAt(inv.blobs.get(digest)!.path));
      if (p) report.kept[leases.digests.has(digest) ? 'leased' : 'newer']++;
      blobProtected.set(digest, p);
    }
    return !p;
  };

  // ---- candidates ----
  const candidates: Candidate[] = [];
  const garbageToo = onlyTimeFilters(filter);
  if (garbageToo) {
    for (const d of inv.layerDirs.values()) {
      if ((dirRefs.get(d.diffId) ?? 0) > 0 || !dirRemovable(d.diffId, false)) continue;
      const t = changedAt(paths.layer(d.diffId as Digest));
      if (oldEnough(t) && matchesFilter(filter, { type: 'step', id: d.diffId, lastUsedAt: new Date(t).toISOString() })) candidates.push({ tier: 0, lastUsed: t, id: d.diffId, dir: d.diffId });
    }
    for (const b of inv.blobs.values()) {
      if ((blobRefs.get(b.digest) ?? 0) > 0 || !blobRemovable(b.digest)) continue;
      const t = changedAt(b.path);
      if (oldEnough(t) && matchesFilter(filter, { type: 'step', id: b.digest, lastUsedAt: new Date(t).toISOString() })) candidates.push({ tier: 0, lastUsed: t, id: b.digest, blob: b.digest });
    }
    for (const p of inv.problems) {
      const t = changedAt(p.path);
      if (!isNew(t) && oldEnough(t)) candidates.push({ tier: 0, lastUsed: t, id: p.key, badEntry: { key: p.key, path: p.path } });
    }
  }
  const matching = inv.entries.filter((e) => {
    const images = e.layer ? (inv.imageDiffIds.get(e.layer.diffId) ?? []) : [];
    return matchesFilter(filter, { type: 'step', id: e.key, lastUsedAt: e.lastUsedAt, images, stage: e.stage, containerfile: e.containerfile }, options.cwd);
  });
  matching.sort((a, b) => b.lastUsedAt.localeCompare(a.lastUsedAt) || a.key.localeCompare(b.key));
  for (const e of matching.slice(options.keepLast ?? 0)) {
    if (leases.keys.has(e.key)) {
      report.kept.leased++;
      continue;
    }
    if (isNew(Math.max(Date.parse(e.createdAt), Date.parse(e.lastUsedAt)))) {
      report.kept.newer++;
      continue;
    }
    const t = Date.parse(e.lastUsedAt);
    if (oldEnough(t)) candidates.push({ tier: 1, lastUsed: t, id: e.key, entry: e });
  }
  for (const m of inv.mounts) {
    if (!matchesFilter(filter, { type: 'cache-mount', id: m.id, lastUsedAt: m.lastUsedAt }, options.cwd)) continue;
    if (leases.live > 0) {
      report.kept.mountsInUse++;
      continue;
    }
    const t = Date.parse(m.lastUsedAt);
    if (oldEnough(t)) candidates.push({ tier: 1, lastUsed: t, id: m.id, mount: m });
  }
  if (all && garbageToo) {
    for (const diffId of inv.imageDiffIds.keys()) {
      if (!inv.layerDirs.has(diffId) || !dirRemovable(diffId, true)) continue;
      const t = changedAt(paths.layer(diffId as Digest));
      if (oldEnough(t)) candidates.push({ tier: 2, lastUsed: t, id: diffId, dir: diffId });
    }
  }
  candidates.sort((a, b) => a.tier - b.tier || a.lastUsed - b.lastUsed || a.id.localeCompare(b.id));

  // ---- selection: everything, or until the limits hold ----
  const limited = options.maxUsed !== undefined || options.minFree !== undefined;
  let free = 0;
  if (options.minFree !== undefined) {
    free =
      options.freeSpace?.() ??
      ((): number => {
        const fs = statfsSync(paths.root);
        return fs.bavail * fs.bsize;
      })();
  }
  let freed = 0;
  const satisfied = (): boolean =>
    (options.maxUsed === undefined || report.cacheBytesBefore - freed <= options.maxUsed) && (options.minFree === undefined || free + freed >= options.minFree);
  const steps: PruneStep[] = [];
  const goneDirs = new Set<string>();
  const goneBlobs = new Set<string>();
  const metaBytes = (diffId: string): number => inv.metas.get(diffId) ?? 0;
  const dropDir = (diffId: string, image: boolean): void => {
    if (goneDirs.has(diffId)) return;
    goneDirs.add(diffId);
    const d = inv.layerDirs.get(diffId)!;
    const bytes = d.bytes + metaBytes(diffId);
    freed += bytes;
    report.layerDirs.push({ diffId, bytes, image });
    steps.push({ kind: 'layer-dir', diffId, path: paths.layer(diffId as Digest) });
  };
  const dropBlob = (digest: string): void => {
    if (goneBlobs.has(digest)) return;
    goneBlobs.add(digest);
    const b = inv.blobs.get(digest)!;
    freed += b.bytes;
    report.blobs.push({ digest, bytes: b.bytes });
    steps.push({ kind: 'blob', digest, path: b.path });
  };
  const remaining = new Set(inv.entries.map((e) => e.key));
  for (const c of candidates) {
    if (limited && satisfied()) break;
    if (c.entry) {
      const e = c.entry;
      remaining.delete(e.key);
      freed += e.fileBytes;
      report.entries.push({ key: e.key, text: e.text, lastUsedAt: e.lastUsedAt, bytes: e.fileBytes });
      steps.push({ kind: 'entry', key: e.key, path: entryFile(paths, e.key) });
      if (e.layer) {
        const left = (dirRefs.get(e.layer.diffId) ?? 1) - 1;
        dirRefs.set(e.layer.diffId, left);
        if (left === 0 && dirRemovable(e.layer.diffId, false)) dropDir(e.layer.diffId, false);
        if (e.layer.digest) {
          const leftBlob = (blobRefs.get(e.layer.digest) ?? 1) - 1;
          blobRefs.set(e.layer.digest, leftBlob);
          if (leftBlob === 0 && blobRemovable(e.layer.digest)) dropBlob(e.layer.digest);
        }
      }
    } else if (c.badEntry) {
      const bytes = allocated(stOrUndefined(c.badEntry.path) ?? { blocks: 0 });
      freed += bytes;
      report.badEntries.push({ key: c.badEntry.key, bytes });
      steps.push({ kind: 'bad-entry', key: c.badEntry.key, path: c.badEntry.path });
    } else if (c.mount) {
      freed += c.mount.bytes;
      report.cacheMounts.push({ id: c.mount.id, bytes: c.mount.bytes });
      steps.push({ kind: 'cache-mount', id: c.mount.id, path: c.mount.path });
    } else if (c.blob) {
      dropBlob(c.blob);
    } else if (c.dir && c.tier === 0) {
      dropDir(c.dir, false);
    } else if (c.dir) {
      // An image's layer dir: only when every remaining entry with this layer can unpack it again from a blob that stays.
      const needed = inv.entries.some((e) => {
        if (!remaining.has(e.key) || !e.layer || e.layer.diffId !== c.dir) return false;
        const blob = e.layer.digest;
        return blob === undefined || !inv.blobs.has(blob) || goneBlobs.has(blob);
      });
      if (!needed) dropDir(c.dir, true);
    }
  }

  // ---- housekeeping: metadata without a dir, links to nothing, abandoned temp items ----
  const links = readLinks(paths);
  const linksTo = new Map<string, string[]>();
  for (const [name, target] of links) linksTo.set(target, [...(linksTo.get(target) ?? []), name]);
  const tmpItems = await abandonedTmpItems(paths, { now, liveLeases: leases.live });

  report.freedBytes = freed;
  report.cacheBytesAfter = Math.max(0, report.cacheBytesBefore - freed);
  if (options.dryRun) {
    report.links = [...links.values()].filter((t) => stOrUndefined(t) === undefined || goneDirs.has(`sha256:${t.split('/').pop()}`)).length;
    report.tmp = tmpItems.map((i) => ({ name: i.name, bytes: measureTree(i.path).bytes }));
    report.freedBytes += report.tmp.reduce((a, t) => a + t.bytes, 0);
    return report;
  }

  for (const step of steps) {
    await options.beforeRemove?.(step);
    switch (step.kind) {
      case 'entry':
      case 'bad-entry':
      case 'blob':
        await unlinkIfThere(step.path);
        break;
      case 'layer-dir':
        for (const name of linksTo.get(step.path) ?? []) {
          await unlinkIfThere(join(paths.root, LINKS_DIR, name));
          report.links++;
        }
        await removeViaTmp(paths, step.path);
        await unlinkIfThere(layerMetaPath(paths, step.diffId));
        break;
      case 'cache-mount':
        await removeViaTmp(paths, step.path);
        break;
    }
  }

  for (const [name, target] of links) {
    if (stOrUndefined(target) !== undefined || goneDirs.has(`sha256:${target.split('/').pop()}`)) continue;
    await unlinkIfThere(join(paths.root, LINKS_DIR, name));
    report.links++;
  }
  for (const diffId of inv.metas.keys()) {
    if (inv.layerDirs.has(diffId) || goneDirs.has(diffId)) continue;
    const meta = layerMetaPath(paths, diffId);
    if (isNew(changedAt(meta)) || stOrUndefined(store.paths.layer(diffId as never)) !== undefined) continue;
    await unlinkIfThere(meta);
    report.metadataFiles++;
  }
  for (const item of tmpItems) {
    const bytes = measureTree(item.path).bytes;
    await rm(item.path, { recursive: true, force: true });
    report.tmp.push({ name: item.name, bytes });
    report.freedBytes += bytes;
  }
  // The launcher's replay records (src/cli/replay.ts): small, remade by the next all-cached build,
  // and what a prune removed may be what they vouch for.
  await rm(join(paths.root, REPLAY_DIR), { recursive: true, force: true });
  return report;
}
