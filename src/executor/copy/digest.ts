/**
 * The content digest of exactly what a COPY/ADD copies, computed without copying (for the
 * build-cache key): the same walk and the same metadata rules as the writer, every entry hashed
 * (file contents memoised by path, inode, size, mtime and ctime). `executeCopy` returns the
 * digest of what it wrote, which equals this one for the same sources.
 */
import { isArchive } from './archive.js';
import { metadataFor, typeOf, type MetadataRules } from './metadata.js';
import { planCopy, type CopyPlan, type PlannedSource } from './plan.js';
import { hashFile, makeRecord, readLinkBytes } from './record.js';
import { digestRecords, type CopyDigest, type CopyRecord, type FileHashMemo } from './summary.js';
import type { CopyOptions, CopyRequest } from './types.js';
import { walkSource } from './walk.js';
import { hostPath } from './source-tree.js';

/** Whether ADD unpacks this planned source (a regular file whose content is an archive). */
export async function unpacksAsArchive(plan: CopyPlan, item: PlannedSource): Promise<boolean> {
  if (plan.request.kind !== 'add' || !item.unpack || !item.st.isFile()) return false;
  return isArchive(hostPath(item.tree, item.rel));
}

/** The record of an archive ADD unpacks: its bytes, and the owner override that applies to its members. */
export function archiveRecord(plan: CopyPlan, item: PlannedSource, content: string, size: number): CopyRecord {
  return {
    path: item.key,
    type: 'archive',
    mode: 0,
    uid: plan.owner?.uid ?? -1,
    gid: plan.owner?.gid ?? -1,
    size,
    content,
    link: '',
    devMajor: 0,
    devMinor: 0,
    xattrs: [],
  };
}

export function metadataRules(plan: CopyPlan, timestamp: number | undefined): Omit<MetadataRules, 'keepOwners'> {
  return { owner: plan.owner, mode: plan.mode, timestamp };
}

async function recordsOf(plan: CopyPlan, memo: FileHashMemo | undefined, timestamp: number | undefined): Promise<CopyRecord[]> {
  const records: CopyRecord[] = [];
  for (const item of plan.items) {
    const host = hostPath(item.tree, item.rel);
    if (await unpacksAsArchive(plan, item)) {
      records.push(archiveRecord(plan, item, await hashFile(host, item.st, memo), Number(item.st.size)));
      continue;
    }
    const rules: MetadataRules = { ...metadataRules(plan, timestamp), keepOwners: item.tree.keepOwners };
    for await (const entry of walkSource(item.tree, item.rel, item.st, { exclude: plan.exclude, include: item.include })) {
      const type = typeOf(entry.st);
      if (type === undefined) continue;
      const meta = await metadataFor(entry.host, entry.st, type, rules);
      if (type === 'file') records.push(makeRecord(item, entry, meta, { content: await hashFile(entry.host, entry.st, memo) }));
      else if (type === 'symlink') records.push(makeRecord(item, entry, meta, { link: await readLinkBytes(entry.host) }));
      else records.push(makeRecord(item, entry, meta));
    }
  }
  return records;
}

/**
 * sha256 over (path, type, mode after --chmod, owner after --chown, size, content sha256,
 * symlink target, device numbers, xattrs) of every entry the request copies, sorted; never
 * mtimes. Accepts a request (planned and disposed here; needs `userRoot` for --chown names)
 * or a plan from planCopy (reused, e.g. to avoid downloading twice).
 */
export async function digestCopySources(input: CopyRequest | CopyPlan, opts: CopyOptions = {}): Promise<CopyDigest> {
  if ('items' in input) return digestRecords(await recordsOf(input, opts.hashMemo, opts.timestamp));
  const plan = await planCopy(input, opts);
  try {
    return digestRecords(await recordsOf(plan, opts.hashMemo, opts.timestamp));
  } finally {
    await plan.dispose();
  }
}
