/**
 * Read an archive being loaded, entry by entry, straight off the stream: undo gzip / zstd if the
 * stream is compressed (sniffed), check each entry's name and type, and stage each file's content
 * by digest. Links are recorded and resolved afterwards; nothing is extracted by name.
 */
import { ErrorCodes, OboxError } from '../../errors.js';
import { decompress, readTar, type TarEntry } from '../../layer/index.js';
import { Digest } from '../../image/digest.js';
import { normaliseArchivePath, quoteEntry, resolveSymlink } from './entry-path.js';
import type { StagedBlob, Staging } from './staging.js';

/** Entries beyond this many are refused: real image archives have a few per layer. */
export const MAX_ENTRIES = 100_000;
const MAX_LINK_HOPS = 16;

export interface ArchiveContents {
  readonly archive: string;
  /** Regular files by normalised path (byte strings). */
  readonly files: ReadonlyMap<string, StagedBlob>;
  /** Links by normalised path: where they lead, as a normalised archive path. */
  readonly links: ReadonlyMap<string, string>;
}

export function entryError(archive: string, entry: string, problem: string, cause?: unknown): OboxError {
  return new OboxError(ErrorCodes.invalidArchive, `${archive}: entry ${quoteEntry(entry)}: ${problem}`, cause === undefined ? {} : { cause });
}

/** `blobs/sha256/<hex>` → that digest; undefined for any other name. */
export function digestFromPath(path: string): Digest | undefined {
  const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(path);
  if (!m) return undefined;
  const d = `${m[1]}:${m[2]}`;
  return Digest.isValid(d) ? d : undefined;
}

/** The staged file at an archive path, following links; undefined when there is none. */
export function lookup(contents: ArchiveContents, path: string): StagedBlob | undefined {
  let p = path;
  for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
    const f = contents.files.get(p);
    if (f !== undefined) return f;
    const next = contents.links.get(p);
    if (next === undefined) return undefined;
    p = next;
  }
  return undefined;
}

async function stageFile(entry: TarEntry, path: string, archive: string, staging: Staging): Promise<StagedBlob> {
  const expected = digestFromPath(path);
  if (path.startsWith('blobs/') && expected === undefined && /^blobs\/[^/]+\/[^/]+$/.test(path)) {
    throw entryError(archive, path, 'a blob name must be blobs/<algorithm>/<hex digest> with a supported algorithm');
  }
  return staging.add(entry.body(), {
    entry: path,
    size: entry.header.size,
    ...(expected !== undefined ? { expected } : {}),
    mismatch: (problem) => entryError(archive, path, `content does not match its digest name: ${problem}`),
  });
}

interface ReadState {
  readonly archive: string;
  readonly staging: Staging;
  readonly files: Map<string, StagedBlob>;
  readonly links: Map<string, string>;
  count: number;
}

async function take(entry: TarEntry, st: ReadState): Promise<void> {
  const { archive } = st;
  const h = entry.header;
  if (++st.count > MAX_ENTRIES) throw entryError(archive, h.path, `more than ${MAX_ENTRIES} entries; this is not an image archive`);
  const checked = normaliseArchivePath(h.path);
  if (!checked.ok) throw entryError(archive, h.path, `refused: ${checked.reason}`);
  const path = checked.path;
  if (h.type === 'dir') return;
  if (path === '') throw entryError(archive, h.path, `a ${h.type} entry cannot be the archive root`);
  if (st.files.has(path) || st.links.has(path)) throw entryError(archive, h.path, 'appears twice in the archive');
  switch (h.type) {
    case 'file':
      st.files.set(path, await stageFile(entry, path, archive, st.staging));
      return;
    case 'symlink': {
      const target = resolveSymlink(path, h.linkpath);
      if (target === undefined) throw entryError(archive, h.path, `refused: symlink target ${quoteEntry(h.linkpath)} leads outside the archive`);
      st.links.set(path, target);
      return;
    }
    case 'hardlink': {
      const target = normaliseArchivePath(h.linkpath);
      if (!target.ok || target.path === '') {
        throw entryError(archive, h.path, `refused: hardlink target ${quoteEntry(h.linkpath)}: ${target.ok ? 'is the archive root' : target.reason}`);
      }
      st.links.set(path, target.path);
      return;
    }
    default:
      throw entryError(archive, h.path, `refused: a ${h.type} entry has no place in an image archive`);
  }
}

export async function readArchive(source: AsyncIterable<Buffer>, archive: string, staging: Staging): Promise<ArchiveContents> {
  const st: ReadState = { archive, staging, files: new Map(), links: new Map(), count: 0 };
  let current: string | undefined;
  try {
    for await (const entry of readTar(decompress(source, archive), { archiveName: archive })) {
      current = entry.header.path;
      await take(entry, st);
      current = undefined;
    }
  } catch (e) {
    // A compressed stream that breaks mid-entry: say which entry was being read.
    if (e instanceof OboxError && e.code === ErrorCodes.invalidArchive && current !== undefined && !e.message.includes(quoteEntry(current))) {
      const problem = e.message.startsWith(`${archive}: `) ? e.message.slice(archive.length + 2) : e.message;
      throw entryError(archive, current, problem, e);
    }
    throw e;
  }
  return { archive, files: st.files, links: st.links };
}
