/**
 * A load's private area inside the store's tmp/: every archive entry is written here under its
 * content digest (hashed while written, flushed), so the store itself is untouched until the whole
 * archive has been read and checked. `commit` then renames the blobs the loaded images need into
 * `blobs/` (already there: success); `dispose` removes whatever is left, on success and failure.
 */
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';
import { fsyncDir, tempDirIn, type Store } from '../../cache/store/index.js';
import { Digest, type DigestAlgorithm } from '../../image/digest.js';
import { readAll } from '../../image/streams.js';
import { DecompressHasher, sniff, type EntryCompression } from './decompress-hasher.js';

export interface StagedBlob {
  readonly digest: Digest;
  readonly size: number;
  /** How the content is compressed, from its first bytes. */
  readonly compression: EntryCompression;
  /** sha256 of the decompressed content (= `digest` when not compressed, for sha256 blobs). */
  readonly uncompressedDigest?: Digest;
  /** Why the content could not be decompressed, when it could not. */
  readonly decodeProblem?: string;
  /** The (first) archive entry it came from, as a byte string. */
  readonly entry: string;
}

interface Held extends StagedBlob {
  /** The staged file; undefined when the store already had the blob (hashed, not written). */
  readonly file: string | undefined;
}

export interface StageOptions {
  /** The archive entry, for messages. */
  entry: string;
  /** The size the tar header promises. */
  size: number;
  /** When the entry's name is a digest (`blobs/sha256/<hex>`): the content must hash to it. */
  expected?: Digest;
  /** Builds the error for a digest mismatch. */
  mismatch: (problem: string) => OboxError;
}

async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  let off = 0;
  while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
}

export class Staging {
  private readonly blobs = new Map<Digest, Held>();
  private counter = 0;

  private constructor(
    private readonly store: Store,
    readonly dir: string,
  ) {}

  static async create(store: Store): Promise<Staging> {
    await mkdir(store.paths.tmp, { recursive: true });
    return new Staging(store, await tempDirIn(store.paths.tmp, 'load'));
  }

  get(digest: Digest): StagedBlob | undefined {
    return this.blobs.get(digest);
  }

  /** Hash and stage one entry's content. */
  async add(body: AsyncIterable<Buffer>, opts: StageOptions): Promise<StagedBlob> {
    const algorithm: DigestAlgorithm = opts.expected !== undefined ? Digest.algorithm(opts.expected) : 'sha256';
    const known = opts.expected !== undefined && (this.blobs.has(opts.expected) || (await this.store.hasBlob(opts.expected)));
    const file = known ? undefined : join(this.dir, `entry-${++this.counter}`);
    const fh = file === undefined ? undefined : await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    const raw = Digest.hasher(algorithm);
    // sha512-named blobs still get a sha256 diffID: diffIDs are sha256 in every config obox reads.
    const plain = algorithm === 'sha256' ? undefined : Digest.hasher('sha256');
    let head: Buffer = Buffer.alloc(0);
    let compression: EntryCompression | undefined;
    let inner: DecompressHasher | undefined;
    const decide = (ended: boolean): void => {
      compression = sniff(head, ended);
      if (compression === 'gzip' || compression === 'zstd') inner = new DecompressHasher(compression);
    };
    try {
      for await (const chunk of body) {
        raw.update(chunk);
        plain?.update(chunk);
        if (fh !== undefined) await writeAll(fh, chunk);
        if (compression === undefined) {
          head = Buffer.concat([head, chunk]);
          decide(false);
          if (compression !== undefined && inner !== undefined) await inner.write(head);
        } else if (inner !== undefined) await inner.write(chunk);
      }
      if (compression === undefined) {
        decide(true);
        if (inner !== undefined && head.byteLength > 0) await inner.write(head);
      }
      if (fh !== undefined) {
        await fh.sync();
        await fh.close();
      }
    } catch (e) {
      inner?.abort();
      await fh?.close().catch(() => undefined);
      if (file !== undefined) await rm(file, { force: true });
      throw e;
    }
    const digest = raw.digest();
    const size = raw.size;
    const decoded = inner === undefined ? undefined : await inner.end();
    if (size !== opts.size || (opts.expected !== undefined && digest !== opts.expected)) {
      if (file !== undefined) await rm(file, { force: true });
      throw opts.mismatch(size !== opts.size ? `${size} bytes, the header says ${opts.size}` : `the content hashes to ${digest}`);
    }
    const uncompressedDigest =
      decoded === undefined ? (plain === undefined ? digest : plain.digest()) : decoded.ok ? decoded.digest : undefined;
    const staged: Held = {
      digest,
      size,
      compression: compression ?? 'none',
      ...(uncompressedDigest !== undefined ? { uncompressedDigest } : {}),
      ...(decoded !== undefined && !decoded.ok ? { decodeProblem: decoded.problem } : {}),
      entry: opts.entry,
      file: undefined,
    };
    const existing = this.blobs.get(digest);
    if (existing !== undefined || (file !== undefined && (await this.store.hasBlob(digest)))) {
      if (file !== undefined) await rm(file, { force: true });
      if (existing !== undefined) return existing;
      this.blobs.set(digest, staged);
      return staged;
    }
    if (file === undefined) {
      this.blobs.set(digest, staged);
      return staged;
    }
    const named = join(this.dir, `${Digest.algorithm(digest)}-${Digest.hex(digest)}`);
    await rename(file, named);
    const held: Held = { ...staged, file: named };
    this.blobs.set(digest, held);
    return held;
  }

  /** A small blob's bytes (manifest, config, JSON file), from the staging area or the store. */
  async read(blob: StagedBlob, limit: number, what: string): Promise<Buffer> {
    if (blob.size > limit) throw new OboxError(ErrorCodes.invalidArchive, `${what} is ${blob.size} bytes, more than the ${limit}-byte limit`);
    const held = this.blobs.get(blob.digest);
    if (held?.file !== undefined) return readFile(held.file);
    return readAll(await this.store.getBlob(blob.digest, blob.size), limit, what);
  }

  /** Move these blobs into the store's blobs/ (each only if not there yet). */
  async commit(digests: Iterable<Digest>): Promise<void> {
    const dirs = new Set<string>();
    for (const digest of new Set(digests)) {
      const held = this.blobs.get(digest);
      if (held === undefined) throw new OboxError(ErrorCodes.store, `load: blob ${digest} was never staged`);
      if (held.file === undefined) continue;
      const target = this.store.blobs.path(digest);
      if (await exists(target)) continue;
      await mkdir(dirname(target), { recursive: true });
      await rename(held.file, target);
      dirs.add(dirname(target));
    }
    for (const d of dirs) await fsyncDir(d);
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
