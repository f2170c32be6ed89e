/**
 * Writing one planned source into its target, entry by entry (fsutil's copier, `cp -a`-like):
 *
 * - A directory entry merges into an existing directory (which then takes the source's owner,
 *   mode and times, as BuildKit overwrites the metadata of nested directories) and is created
 *   otherwise; anything else in its way is an error ("cannot copy to non-directory").
 * - A non-directory entry replaces a file or symlink in its way — the symlink itself, never
 *   what it points to — and refuses to replace a directory ("cannot replace to directory").
 * - Regular files that are hardlinked to each other in the source stay hardlinked (within one
 *   source, as in BuildKit, whose copier is per source).
 * - Symlinks are copied as symlinks; devices and fifos are recreated; sockets are skipped.
 * - Directory metadata is applied after their contents, deepest first, so their mtimes stick.
 *
 * The target is inside the destination root (dest.ts resolved it), and every directory below it
 * that the walk goes through is checked to be a real directory, so writes cannot be redirected.
 */
import { closeSync, constants, fchmodSync, fchownSync, futimesSync, lstatSync, openSync, promises as fsp, writeSync } from 'node:fs';
import path from 'node:path';
import { ErrorCodes } from '../../errors.js';
import { hostFs } from '../../layer/index.js';
import { splitDev } from '../../layer/fs.js';
import { containerPathOf } from './dest.js';
import { CopyError, isNotFound } from './errors.js';
import { applyMetadata, metadataFor, typeOf, type EntryMetadata, type MetadataRules } from './metadata.js';
import type { PlannedSource } from './plan.js';
import { makeRecord, readLinkBytes, readSmallFile, SMALL_FILE, streamFile } from './record.js';
import type { CopyRecord, Tally } from './summary.js';
import { walkSource, type WalkFilters } from './walk.js';

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface WriteContext {
  /** The destination root filesystem (host path, resolved). */
  root: string;
  rules: Omit<MetadataRules, 'keepOwners'>;
  filters: WalkFilters;
  tally: Tally;
  records: CopyRecord[];
}

function lstatOrNull(p: string) {
  try {
    return lstatSync(p, { throwIfNoEntry: false }) ?? null;
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

/**
 * Copies a file's content to a new `dest`, and its metadata when `meta` has no xattrs: then a
 * small file gets owner, mode and times through its open descriptor (each path-based call would
 * look the path up again through every layer of the overlay). Returns whether it applied meta.
 */
async function copyContent(src: string, dest: string, size: bigint, meta: EntryMetadata): Promise<{ digest: string; size: number; metaApplied: boolean }> {
  // Small files synchronously in one go (see readSmallFile), big ones streamed.
  const small = size <= BigInt(SMALL_FILE) ? readSmallFile(src) : null;
  if (small) {
    const fd = openSync(dest, CREATE, 0o600);
    const viaFd = meta.xattrs.length === 0;
    try {
      let off = 0;
      while (off < small.data.length) off += writeSync(fd, small.data, off, small.data.length - off);
      if (viaFd) {
        // The order applyMetadata keeps: owner first (it clears setuid bits), then mode, times.
        fchownSync(fd, meta.uid, meta.gid);
        fchmodSync(fd, meta.mode);
        futimesSync(fd, meta.atime, meta.mtime);
      }
    } finally {
      closeSync(fd);
    }
    return { digest: small.digest, size: small.data.length, metaApplied: viaFd };
  }
  const out = await fsp.open(dest, CREATE, 0o600);
  try {
    const r = await streamFile(src, async (chunk) => {
      let off = 0;
      while (off < chunk.length) off += (await out.write(chunk, off, chunk.length - off)).bytesWritten;
    });
    return { ...r, metaApplied: false };
  } finally {
    await out.close();
  }
}

/** Copies `item` to `target` (a host path inside ctx.root). */
export async function writeSource(ctx: WriteContext, item: PlannedSource, target: string): Promise<void> {
  const rules: MetadataRules = { ...ctx.rules, keepOwners: item.tree.keepOwners };
  const links = new Map<string, { path: string; digest: string }>();
  const dirs: Array<{ host: string; meta: EntryMetadata }> = [];
  const filters: WalkFilters = { ...ctx.filters, include: item.include };
  const shown = (p: string) => containerPathOf(ctx.root, p);
  // Directories this copy created: nothing can be in the way below them.
  const created = new Set<string>();

  for await (const entry of walkSource(item.tree, item.rel, item.st, filters)) {
    const type = typeOf(entry.st);
    if (type === undefined) continue;
    const dest = entry.rel === '' ? target : path.join(target, entry.rel);
    const meta = await metadataFor(entry.host, entry.st, type, rules);
    const existing = created.has(path.dirname(dest)) ? null : lstatOrNull(dest);

    if (type === 'dir') {
      if (existing === null) {
        await fsp.mkdir(dest, 0o700);
        created.add(dest);
        ctx.tally.directories++;
      } else if (!existing.isDirectory()) {
        throw new CopyError(ErrorCodes.semantic, `cannot copy to non-directory: ${shown(dest)}`, {
          source: item.written,
          sourceIndex: item.index,
          hint: `the image has a ${existing.isSymbolicLink() ? 'symlink' : 'file'} where ${item.written} has a directory`,
        });
      }
      dirs.push({ host: dest, meta });
      ctx.records.push(makeRecord(item, entry, meta));
      continue;
    }

    if (existing?.isDirectory()) {
      throw new CopyError(ErrorCodes.semantic, `cannot replace to directory ${shown(dest)} with file`, {
        source: item.written,
        sourceIndex: item.index,
        hint: `the image has a directory where ${item.written} has a ${type === 'symlink' ? 'symlink' : 'file'}`,
      });
    }
    if (existing) await fsp.unlink(dest);

    if (type === 'file') {
      const key = `${entry.st.dev}:${entry.st.ino}`;
      const first = entry.st.nlink > 1n ? links.get(key) : undefined;
      if (first) {
        await fsp.link(first.path, dest);
        ctx.tally.hardlinks++;
        await applyMetadata(dest, meta);
        ctx.records.push(makeRecord(item, entry, meta, { content: first.digest }));
        continue;
      }
      const { digest, size, metaApplied } = await copyContent(entry.host, dest, entry.st.size, meta);
      if (entry.st.nlink > 1n) links.set(key, { path: dest, digest });
      ctx.tally.files++;
      ctx.tally.bytes += size;
      if (!metaApplied) await applyMetadata(dest, meta);
      ctx.records.push(makeRecord(item, entry, meta, { content: digest, size }));
      continue;
    }

    if (type === 'symlink') {
      const link = await readLinkBytes(entry.host);
      await fsp.symlink(link, dest);
      ctx.tally.symlinks++;
      await applyMetadata(dest, meta);
      ctx.records.push(makeRecord(item, entry, meta, { link }));
      continue;
    }

    const dev = splitDev(entry.st.rdev);
    await hostFs.mknod(Buffer.from(dest), type, meta.mode, dev.major, dev.minor);
    ctx.tally.others++;
    await applyMetadata(dest, meta);
    ctx.records.push(makeRecord(item, entry, meta));
  }

  for (let i = dirs.length - 1; i >= 0; i--) {
    const d = dirs[i] as { host: string; meta: EntryMetadata };
    await applyMetadata(d.host, d.meta);
  }
}
