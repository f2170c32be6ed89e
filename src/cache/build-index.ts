/**
 * The build-cache index: step key → what the step produced. It lives in the store beside the
 * image layout, versioned, one small JSON file per key:
 *
 *   cache-v1/entries/<first 2 hex of key>/<hex>.json
 *
 * Why one file per key (cacache's content index does the same with buckets): a record is one
 * link(2) of a fully written temp file, so it is atomic without a lock and "already exists" is
 * free to detect; concurrent builds never contend on one log file; lookup is one read; gc
 * removes a file. An append-only log would make list() a single read but needs a lock for
 * appends and a compaction pass, and a torn tail to recover from. list() of 10,000 entries over
 * per-key files measures well under a second (see test/cache/build-index.test.ts).
 *
 * - record: temp file in the store's tmp/ (fsynced) → link into place (never replaces) → fsync
 *   the shard directory. If the key already has a valid entry that is success ('existed'); a
 *   corrupt one is replaced atomically by rename.
 * - lookup: reads and validates; bad JSON, a wrong key or a bad field is a miss, reported
 *   through `onProblem` (library code never prints), never a crash.
 * - touch: sets the file's mtime (one utimes, no rewrite, no fsync); record sets it to the
 *   entry's lastUsedAt, and lastUsedAt as read is the later of the recorded value and the mtime. Usage times are advisory (for gc), so
 *   losing one in a crash is harmless.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { mkdir, open, readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { digestProblem } from '../image/digest.js';
import { parseImageConfig, serializeImageConfig, type ImageConfig } from '../image/config.js';
import { createFileExclusive, errnoCode, writeFileAtomic } from './store/atomic.js';
import type { StorePaths } from './store/paths.js';
import { isStepKey, type StepKeyInputs } from './step-key.js';

export const CACHE_DIR = 'cache-v1';
const ENTRY_FORMAT = 'obox-build-cache-entry-v1';
/** An entry file larger than this is corrupt (entries hold one config and a few strings). */
const ENTRY_LIMIT = 4 * 1024 * 1024;

export interface CachedLayer {
  diffId: string;
  /** The blob, once one was written (intermediate stages' layers have only a dir). */
  digest?: string;
  size?: number;
  mediaType?: string;
}

export interface BuildCacheEntry {
  key: string;
  inputs: StepKeyInputs;
  /** The layer the step added; null for a metadata-only step (ENV, LABEL, …). */
  layer: CachedLayer | null;
  /** The image config after the step. */
  config?: ImageConfig;
  /** ISO 8601. */
  createdAt: string;
  lastUsedAt: string;
  containerfile?: string;
  line?: number;
  text?: string;
  /** The stage's display name (its AS name, else its index). */
  stage?: string;
  /** Ids of the RUN --mount=type=cache directories the step used (cache-mounts-v1/<id>). */
  cacheMounts?: string[];
}

export interface IndexProblem {
  key: string;
  path: string;
  reason: string;
}

export interface BuildIndexOptions {
  /** Called for every entry treated as a miss because it could not be read as valid. */
  onProblem?: (problem: IndexProblem) => void;
}

export class BuildIndex {
  readonly dir: string;
  readonly entriesDir: string;

  private constructor(
    private readonly paths: StorePaths,
    private readonly options: BuildIndexOptions,
  ) {
    this.dir = join(paths.root, CACHE_DIR);
    this.entriesDir = join(this.dir, 'entries');
  }

  /** The index of an opened store (its root and tmp/ must exist). */
  static async open(paths: StorePaths, options: BuildIndexOptions = {}): Promise<BuildIndex> {
    const index = new BuildIndex(paths, options);
    await mkdir(index.entriesDir, { recursive: true, mode: 0o755 });
    return index;
  }

  /** Where the entry of `key` lives. */
  entryPath(key: string): string {
    const hex = keyHex(key);
    return join(this.entriesDir, hex.slice(0, 2), `${hex}.json`);
  }

  /**
   * Record `entry` under `key`. 'existed' when a valid entry was already there (kept as is:
   * first writer wins); 'recorded' otherwise. Throws on a bad entry or a file system failure,
   * leaving no entry and no temp file.
   */
  async record(key: string, entry: BuildCacheEntry): Promise<'recorded' | 'existed'> {
    const path = this.entryPath(key);
    if (entry.key !== key) throw new TypeError(`build cache: entry key ${entry.key} differs from ${key}`);
    const text = encodeEntry(entry);
    await mkdir(join(this.entriesDir, keyHex(key).slice(0, 2)), { recursive: true, mode: 0o755 });
    if (!(await createFileExclusive(path, text, this.paths.tmp))) {
      if ((await this.read(key, path, false)) !== undefined) return 'existed';
      await writeFileAtomic(path, text, this.paths.tmp);
    }
    // The file's mtime carries later uses (touch); start it at the recorded lastUsedAt.
    const used = new Date(entry.lastUsedAt);
    await utimes(path, used, used).catch(() => undefined);
    return 'recorded';
  }

  /** Replace the entry of `key` (atomically), e.g. to add the blob a later build wrote for its layer. */
  async update(key: string, entry: BuildCacheEntry): Promise<void> {
    if (entry.key !== key) throw new TypeError(`build cache: entry key ${entry.key} differs from ${key}`);
    await mkdir(join(this.entriesDir, keyHex(key).slice(0, 2)), { recursive: true, mode: 0o755 });
    await writeFileAtomic(this.entryPath(key), encodeEntry(entry), this.paths.tmp);
  }

  /** The entry of `key`, or undefined (absent, or unreadable: reported through onProblem). */
  async lookup(key: string): Promise<BuildCacheEntry | undefined> {
    return this.read(key, this.entryPath(key), true);
  }

  /** Mark `key` used now (or at `when`). False when it has no entry. */
  async touch(key: string, when: Date = new Date()): Promise<boolean> {
    try {
      await utimes(this.entryPath(key), when, when);
      return true;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return false;
      throw e;
    }
  }

  /** Every valid entry, in key order; unreadable ones are reported and skipped. */
  async list(): Promise<BuildCacheEntry[]> {
    const out: BuildCacheEntry[] = [];
    for await (const entry of this.entries()) out.push(entry);
    return out;
  }

  /**
   * Every valid entry, streamed in key order, one shard (~1/256 of the index) at a time. A
   * shard's files are read synchronously: for thousands of tiny files that is ~8× faster than
   * a thread-pool round trip per file, and it blocks the event loop for about a millisecond per
   * shard (entries are yielded, and the loop runs, between shards).
   */
  async *entries(): AsyncGenerator<BuildCacheEntry> {
    for (const shard of (await readdirOrEmpty(this.entriesDir)).filter((s) => /^[0-9a-f]{2}$/.test(s)).sort()) {
      const dir = join(this.entriesDir, shard);
      const names = (await readdirOrEmpty(dir)).filter((n) => /^[0-9a-f]{64}\.json$/.test(n) && n.startsWith(shard)).sort();
      const batch: BuildCacheEntry[] = [];
      for (const name of names) {
        const key = `sha256:${name.slice(0, 64)}`;
        const path = join(dir, name);
        const entry = this.decode(key, path, readEntryFileSync(path), true);
        if (entry !== undefined) batch.push(entry);
      }
      yield* batch;
    }
  }

  private async read(key: string, path: string, report: boolean): Promise<BuildCacheEntry | undefined> {
    return this.decode(key, path, await readEntryFile(path), report);
  }

  private decode(key: string, path: string, file: EntryFile, report: boolean): BuildCacheEntry | undefined {
    if (file === undefined) return undefined;
    if ('problem' in file) return this.problem(report, key, path, file.problem);
    try {
      const entry = decodeEntry(key, file.text);
      if (file.mtimeMs > Date.parse(entry.lastUsedAt)) entry.lastUsedAt = new Date(file.mtimeMs).toISOString();
      return entry;
    } catch (e) {
      return this.problem(report, key, path, (e as Error).message);
    }
  }

  private problem(report: boolean, key: string, path: string, reason: string): undefined {
    if (report) this.options.onProblem?.({ key, path, reason });
    return undefined;
  }
}

function keyHex(key: string): string {
  if (!isStepKey(key)) throw new TypeError(`build cache: ${JSON.stringify(key)} is not a step key (sha256:<hex>)`);
  return key.slice('sha256:'.length);
}

/** An entry file's text and mtime; undefined when absent; a problem when unreadable. */
type EntryFile = { text: string; mtimeMs: number } | { problem: string } | undefined;

function fileProblem(e: unknown): EntryFile {
  if (errnoCode(e) === 'ENOENT') return undefined;
  return { problem: `cannot read entry: ${(e as Error).message}` };
}

function tooBig(size: number): EntryFile {
  return { problem: `entry is ${size} bytes, over the ${ENTRY_LIMIT} limit` };
}

async function readEntryFile(path: string): Promise<EntryFile> {
  try {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (st.size > ENTRY_LIMIT) return tooBig(st.size);
      return { text: await fh.readFile('utf8'), mtimeMs: st.mtimeMs };
    } finally {
      await fh.close();
    }
  } catch (e) {
    return fileProblem(e);
  }
}

function readEntryFileSync(path: string): EntryFile {
  try {
    const fd = openSync(path, 'r');
    try {
      const st = fstatSync(fd);
      if (st.size > ENTRY_LIMIT) return tooBig(st.size);
      return { text: readFileSync(fd, 'utf8'), mtimeMs: st.mtimeMs };
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    return fileProblem(e);
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
}

/** The file's text: validated first, so a bad entry is never written. */
export function encodeEntry(entry: BuildCacheEntry): string {
  const value = {
    format: ENTRY_FORMAT,
    key: entry.key,
    inputs: entry.inputs,
    layer: entry.layer === null ? null : { diffId: entry.layer.diffId, digest: entry.layer.digest, size: entry.layer.size, mediaType: entry.layer.mediaType },
    config: entry.config === undefined ? undefined : (JSON.parse(Buffer.from(serializeImageConfig(entry.config)).toString('utf8')) as unknown),
    createdAt: entry.createdAt,
    lastUsedAt: entry.lastUsedAt,
    containerfile: entry.containerfile,
    line: entry.line,
    text: entry.text,
    stage: entry.stage,
    cacheMounts: entry.cacheMounts,
  };
  const text = `${JSON.stringify(value)}\n`;
  decodeEntry(entry.key, text); // what we write must read back
  return text;
}

/** Parse and validate an entry file; throws Error with the reason. */
export function decodeEntry(key: string, text: string): BuildCacheEntry {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`entry is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!isObject(v)) throw new Error('entry is not a JSON object');
  if (v.format !== ENTRY_FORMAT) throw new Error(`unknown entry format ${JSON.stringify(v.format)}`);
  if (v.key !== key) throw new Error(`entry holds key ${JSON.stringify(v.key)}, not ${key}`);
  const entry: BuildCacheEntry = {
    key,
    inputs: checkInputs(v.inputs),
    layer: checkLayer(v.layer),
    createdAt: checkTime(v.createdAt, 'createdAt'),
    lastUsedAt: checkTime(v.lastUsedAt, 'lastUsedAt'),
  };
  if (v.config !== undefined) {
    try {
      entry.config = parseImageConfig(v.config);
    } catch (e) {
      throw new Error(`bad config: ${(e as Error).message}`, { cause: e });
    }
  }
  if (v.containerfile !== undefined) entry.containerfile = checkString(v.containerfile, 'containerfile');
  if (v.line !== undefined) {
    if (!Number.isSafeInteger(v.line) || (v.line as number) < 1) throw new Error('line is not a positive integer');
    entry.line = v.line as number;
  }
  if (v.text !== undefined) entry.text = checkString(v.text, 'text');
  if (v.stage !== undefined) entry.stage = checkString(v.stage, 'stage');
  if (v.cacheMounts !== undefined) {
    if (!Array.isArray(v.cacheMounts) || !v.cacheMounts.every((x) => typeof x === 'string')) throw new Error('cacheMounts is not a list of strings');
    entry.cacheMounts = v.cacheMounts as string[];
  }
  return entry;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkString(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what} is not a string`);
  return v;
}

function checkDigest(v: unknown, what: string): string {
  const s = checkString(v, what);
  const problem = digestProblem(s);
  if (problem !== undefined) throw new Error(`${what}: ${problem}`);
  return s;
}

function checkTime(v: unknown, what: string): string {
  const s = checkString(v, what);
  if (Number.isNaN(Date.parse(s))) throw new Error(`${what} is not a time`);
  return s;
}

function checkLayer(v: unknown): CachedLayer | null {
  if (v === null) return null;
  if (!isObject(v)) throw new Error('layer is neither null nor an object');
  const layer: CachedLayer = { diffId: checkDigest(v.diffId, 'layer.diffId') };
  if (v.digest !== undefined) layer.digest = checkDigest(v.digest, 'layer.digest');
  if (v.size !== undefined) {
    if (!Number.isSafeInteger(v.size) || (v.size as number) < 0) throw new Error('layer.size is not a size');
    layer.size = v.size as number;
  }
  if (v.mediaType !== undefined) layer.mediaType = checkString(v.mediaType, 'layer.mediaType');
  return layer;
}

function checkStringRecord(v: unknown, what: string): Record<string, string> {
  if (!isObject(v)) throw new Error(`${what} is not an object`);
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') throw new Error(`${what}.${k} is not a string`);
  return v as Record<string, string>;
}

function checkInputs(v: unknown): StepKeyInputs {
  if (!isObject(v)) throw new Error('inputs is not an object');
  const p = v.parent;
  if (!isObject(p)) throw new Error('inputs.parent is not an object');
  let parent: StepKeyInputs['parent'];
  if (p.kind === 'step' && isStepKey(p.key)) parent = { kind: 'step', key: p.key };
  else if (p.kind === 'image') parent = { kind: 'image', digest: checkDigest(p.digest, 'inputs.parent.digest') };
  else if (p.kind === 'scratch') parent = { kind: 'scratch' };
  else throw new Error('inputs.parent is not a step, image or scratch');
  const pl = v.platform;
  if (!isObject(pl)) throw new Error('inputs.platform is not an object');
  const platform: StepKeyInputs['platform'] = { os: checkString(pl.os, 'inputs.platform.os'), architecture: checkString(pl.architecture, 'inputs.platform.architecture') };
  if (pl.variant !== undefined) platform.variant = checkString(pl.variant, 'inputs.platform.variant');
  const inputs: StepKeyInputs = { parent, instruction: checkString(v.instruction, 'inputs.instruction'), args: checkStringRecord(v.args, 'inputs.args'), platform };
  if (v.sources !== undefined) inputs.sources = checkDigest(v.sources, 'inputs.sources');
  if (v.fromStages !== undefined) inputs.fromStages = checkStringRecord(v.fromStages, 'inputs.fromStages');
  if (v.mounts !== undefined) inputs.mounts = checkStringRecord(v.mounts, 'inputs.mounts');
  if (v.sourceDateEpoch !== undefined) {
    if (!Number.isSafeInteger(v.sourceDateEpoch)) throw new Error('inputs.sourceDateEpoch is not an integer');
    inputs.sourceDateEpoch = v.sourceDateEpoch as number;
  }
  return inputs;
}
