/**
 * The content digest of exactly what a COPY/ADD copies, computed without copying (for the
 * build-cache key): the same walk and the same metadata rules as the writer, every entry hashed
 * (file contents memoised by path, inode, size, mtime and ctime). `executeCopy` returns the
 * digest of what it wrote, which equals this one for the same sources.
 */
import { metadataFor, typeOf, type MetadataRules } from './metadata.js';
import { planCopy, type CopyPlan } from './plan.js';
import { archiveRecord, hashFile, makeRecord, metadataRules, readLinkBytes, unpacksAsArchive } from './record.js';
import { digestRecords, type CopyDigest, type CopyRecord, type FileHashMemo } from './summary.js';
import type { CopyOptions, CopyRequest } from './types.js';
import { walkSource } from './walk.js';
import { hostPath } from './source-tree.js';

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
