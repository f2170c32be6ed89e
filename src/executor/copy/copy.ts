/**
 * Running a planned COPY/ADD against a destination root filesystem (the step's merged overlay
 * mount; any directory in tests): checks that need the destination, then each source in order —
 * unpacked (ADD of an archive) or copied.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ErrorCodes } from '../../errors.js';
import { mkdirChecked, prepareTarget, resolveDest } from './dest.js';
import { CopyError } from './errors.js';
import { extractArchive } from './extract.js';
import { planCopy, type CopyPlan, type PlannedSource } from './plan.js';
import { archiveRecord, hashFile, metadataRules, unpacksAsArchive } from './record.js';
import { hostPath } from './source-tree.js';
import { digestRecords, emptyTally, type CopyDigest, type CopyRecord, type CopySummary } from './summary.js';
import type { CopyOptions, CopyRequest } from './types.js';
import { writeSource, type WriteContext } from './write.js';

export interface CopyResult extends CopyDigest {
  summary: CopySummary;
}

/**
 * The documented rule (Dockerfile reference; the classic builder's error): several sources need
 * a directory destination. BuildKit does not check, and with a destination that is neither
 * written with a trailing `/` nor an existing directory it silently overwrites one source with
 * the next (moby/buildkit#1853); obox refuses that case. Where BuildKit's result is well defined
 * — the destination is an existing directory, or every source is a directory (their contents
 * merge) — obox does what BuildKit does.
 */
async function checkMultipleSources(plan: CopyPlan, root: string, isDirLike: (item: PlannedSource) => boolean): Promise<void> {
  if (plan.items.length <= 1 || plan.dest.dirLike || plan.items.every(isDirLike)) return;
  const { existing } = await resolveDest(root, plan.dest);
  if (existing?.isDirectory()) return;
  const kw = plan.request.kind.toUpperCase();
  throw new CopyError(ErrorCodes.semantic, `When using ${kw} with more than one source file, the destination must be a directory and end with a /`, {
    hint: `write the destination as ${plan.dest.written.replace(/\/?$/, '/')}`,
  });
}

/** Copies (or unpacks) every source of `plan` into `destRoot`. */
export async function executeCopy(plan: CopyPlan, destRoot: string, opts: CopyOptions = {}): Promise<CopyResult> {
  const root = await fsp.realpath(path.resolve(destRoot));
  const archives = new Set<PlannedSource>();
  for (const item of plan.items) if (await unpacksAsArchive(plan, item)) archives.add(item);
  await checkMultipleSources(plan, root, (item) => item.st.isDirectory() || archives.has(item));

  const tally = emptyTally();
  const records: CopyRecord[] = [];
  const ctx: WriteContext = { root, rules: metadataRules(plan, opts.timestamp), filters: { exclude: plan.exclude }, tally, records };

  for (const item of plan.items) {
    if (archives.has(item)) {
      // BuildKit: the destination (trailing slash or not) becomes a directory the archive merges into.
      const dir = await mkdirChecked(root, plan.dest.path, plan.owner);
      const host = hostPath(item.tree, item.rel);
      await extractArchive(host, dir, { archiveName: item.written, owner: plan.owner, tally });
      records.push(archiveRecord(plan, item, await hashFile(host, item.st, opts.hashMemo), Number(item.st.size)));
      continue;
    }
    const isDir = item.st.isDirectory();
    const target = await prepareTarget(root, plan.dest, isDir, item.name, plan.owner);
    if (isDir && target.createdDir && plan.mode) {
      // The directory a directory source's contents went into, created here, gets --chmod
      // (moby/buildkit#4945). Its parents stay 0755.
      await fsp.chmod(target.host, plan.mode.apply(Number(item.st.mode) & 0o7777, true));
    }
    await writeSource(ctx, item, target.host);
  }
  return { summary: tally, ...digestRecords(records) };
}

/** planCopy + executeCopy + dispose: runs one COPY/ADD into `destRoot`. */
export async function copyInto(req: CopyRequest, destRoot: string, opts: CopyOptions = {}): Promise<CopyResult> {
  const plan = await planCopy(req, { ...opts, userRoot: opts.userRoot ?? destRoot });
  try {
    return await executeCopy(plan, destRoot, opts);
  } finally {
    await plan.dispose();
  }
}
