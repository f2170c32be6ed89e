/**
 * The Node side of the launcher's replay (native/launcher/obox-launch.c, which explains the
 * idea). When the launcher finds no usable record it runs Node with OBOX_REPLAY_RECORD (where
 * this invocation's record goes) and OBOX_REPLAY_FINGERPRINT (its fingerprint, base64). If the
 * build then hits every step and depends on nothing outside its context and the store, this
 * writes the record: the lstat of everything the result depends on, taken before the build
 * started (so a file changed while the build ran makes the record stale, never wrong), what to
 * touch and rewrite, and the bytes the build printed. Otherwise it removes a stale record.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, rmSync, type BigIntStats } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPLAY_DIR } from '../cache/build-records.js';
import type { Store } from '../cache/store/index.js';
import { writeFileAtomic } from '../cache/store/atomic.js';
import type { BuildDependencies } from '../executor/build.js';

/** The launcher puts the time now in place of this (the build record's createdAt). */
export const NOW_MARK = '@@OBOX_NOW@@';
/** … and its own elapsed seconds in place of this (the summary line). */
export const SECONDS_MARK = '@@OBOX_SECONDS@@';
/** A context bigger than this is not recorded: checking it would cost more than Node's start. */
export const MAX_CONTEXT_ENTRIES = 100_000;
/** Records kept per store (each distinct invocation has one); the oldest go first. */
export const MAX_RECORDS = 32;
/**
 * A file changed less than this before the build started may change again within the same
 * timestamp tick (the kernel's clock for file times is coarse) without its stat showing it:
 * no record then; the next build makes one ("racily clean", as git calls it).
 */
const RACY_MS = 1000n;

const RECORD_NAME = /^[0-9a-f]{16}$/;

/**
 * S: nothing may change; I: the same file (obox moves its mtime); L: the same inode (a directory
 * above the context or the Containerfile, whose other entries do not matter); A: absent.
 */
type StatKind = 'S' | 'I' | 'L' | 'A';

interface StatLine {
  kind: StatKind;
  path: string;
  st?: BigIntStats;
}

function statLine(p: string, kind: Exclude<StatKind, 'A'>): StatLine {
  const st = lstatSync(p, { bigint: true, throwIfNoEntry: false });
  return st ? { kind, path: p, st } : { kind: 'A', path: p };
}

/** Every directory above p: a symlink or directory swapped anywhere on the way is a change. */
function above(p: string): string[] {
  const out: string[] = [];
  for (let q = path.dirname(p); ; q = path.dirname(q)) {
    out.push(q);
    if (path.dirname(q) === q) return out;
  }
}

/** Every entry under dir (not following symlinks); undefined when there are too many. */
function walk(dir: string, out: StatLine[]): boolean {
  const pending = [dir];
  let n = 0;
  while (pending.length > 0) {
    const d = pending.pop()!;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return false;
    }
    for (const name of names) {
      if (++n > MAX_CONTEXT_ENTRIES) return false;
      const line = statLine(path.join(d, name), 'S');
      out.push(line);
      if (line.st?.isDirectory()) pending.push(line.path);
    }
  }
  return true;
}

/** obox's own code: a record made by another version of it is not used. */
function oboxCode(): string[] {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const out = [path.join(repo, 'bin', 'obox.js'), path.join(repo, 'dist', 'cli', 'main.js'), path.join(repo, 'native', 'build', 'obox-launch'), process.execPath];
  for (const dir of [path.join(repo, 'dist', 'bundle'), path.join(repo, 'native', 'build', 'Release')]) {
    out.push(dir);
    for (const name of readdirSafe(dir)) out.push(path.join(dir, name));
  }
  return out;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function encodeStat(l: StatLine): Buffer {
  const p = Buffer.from(l.path);
  const st = l.st;
  const fields = st ? [st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs, st.mode.toString(8)] : [0, 0, 0, 0, 0, 0];
  return Buffer.concat([Buffer.from(`stat ${l.kind} ${fields.join(' ')} ${p.byteLength}\n`), p, Buffer.from('\n')]);
}

function chunk(head: string, ...parts: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(`${head} ${parts.map((x) => x.byteLength).join(' ')}\n`), ...parts.flatMap((x) => [x, Buffer.from('\n')])]);
}

function sameStat(a: StatLine, b: StatLine): boolean {
  if (a.kind === 'A' || b.kind === 'A') return a.kind === b.kind;
  const x = a.st!;
  const y = b.st!;
  return x.dev === y.dev && x.ino === y.ino && x.size === y.size && x.mtimeNs === y.mtimeNs && x.ctimeNs === y.ctimeNs && x.mode === y.mode;
}

export interface ReplayStart {
  /** The context argument and `-f`, as given. */
  context: string;
  file: string | undefined;
}

export interface ReplayFinish {
  store: Store;
  dependsOn: BuildDependencies;
  /** Whether the build as invoked can be repeated from a record (no outputs to write, etc.). */
  replayable: boolean;
  /** Every step hit. */
  allHits: boolean;
  /** The summary line as printed, and with SECONDS_MARK for its elapsed time. */
  summary: { printed: string; template: string };
}

type Write = typeof process.stdout.write;

/** Records one build for the launcher; inert when the launcher did not ask for a record. */
export class ReplayRecorder {
  private readonly out: Buffer[] = [];
  private readonly err: Buffer[] = [];
  private readonly restore: Array<() => void> = [];
  private readonly inputs: StatLine[] = [];
  /** Context and Containerfile stats, which the racy check looks at. */
  private sources = 0;
  private startedNs = 0n;
  private contextComplete = true;
  private finished = false;
  /** The store's index.json, as the launcher resolved the store (the record is in it). */
  private readonly indexFile: string;

  private constructor(
    private readonly recordFile: string,
    private readonly fingerprint: Buffer,
  ) {
    this.indexFile = path.join(path.dirname(path.dirname(path.dirname(recordFile))), 'index.json');
  }

  /** Takes the launcher's request out of the environment (children never see it). */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): ReplayRecorder | undefined {
    const recordFile = env.OBOX_REPLAY_RECORD;
    const fingerprint = env.OBOX_REPLAY_FINGERPRINT;
    delete env.OBOX_REPLAY_RECORD;
    delete env.OBOX_REPLAY_FINGERPRINT;
    if (!recordFile || !fingerprint || !path.isAbsolute(recordFile) || !RECORD_NAME.test(path.basename(recordFile))) return undefined;
    return new ReplayRecorder(recordFile, Buffer.from(fingerprint, 'base64'));
  }

  /** Before the build reads anything: the inputs' stats, and the output starts being captured. */
  begin(o: ReplayStart): void {
    this.startedNs = BigInt(Date.now()) * 1_000_000n;
    const cwd = process.cwd();
    const contextArg = path.resolve(cwd, o.context);
    const files = new Set<string>([contextArg]);
    const dirs = new Set<string>(above(contextArg));
    const containerfiles = o.file !== undefined && o.file !== '-' ? [path.resolve(cwd, o.file), path.resolve(contextArg, o.file)] : ['Containerfile', 'Dockerfile'].map((n) => path.join(contextArg, n));
    for (const cf of containerfiles) {
      for (const p of [cf, `${cf}.containerignore`, `${cf}.dockerignore`]) files.add(p);
      for (const d of above(cf)) dirs.add(d);
    }
    for (const p of files) this.inputs.push(statLine(p, 'S'));
    this.sources = this.inputs.length;
    for (const p of [...oboxCode(), this.indexFile]) if (!files.has(p)) this.inputs.push(statLine(p, 'S'));
    for (const d of dirs) if (!files.has(d)) this.inputs.push(statLine(d, 'L'));
    let real: string | undefined;
    try {
      real = realpathSync(contextArg);
    } catch {
      this.contextComplete = false;
    }
    if (real !== undefined) {
      const context: StatLine[] = [statLine(real, 'S')];
      this.contextComplete = walk(real, context);
      this.inputs.splice(this.sources, 0, ...context);
      this.sources += context.length;
    }
    this.capture(process.stdout, this.out);
    this.capture(process.stderr, this.err);
  }

  private capture(stream: NodeJS.WriteStream, into: Buffer[]): void {
    const original = stream.write.bind(stream) as Write;
    const wrapped = ((data: string | Uint8Array, ...rest: unknown[]) => {
      const enc = typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : undefined;
      into.push(typeof data === 'string' ? Buffer.from(data, enc) : Buffer.from(data));
      return (original as (...a: unknown[]) => boolean)(data, ...rest);
    }) as Write;
    stream.write = wrapped;
    this.restore.push(() => {
      stream.write = original;
    });
  }

  /** After the build: writes the record when the build can be replayed, else removes a stale one. */
  async finish(o: ReplayFinish): Promise<boolean> {
    this.finished = true;
    for (const r of this.restore.splice(0)) r();
    const dir = path.join(o.store.paths.root, REPLAY_DIR);
    if (path.dirname(this.recordFile) !== dir) return false; // the launcher chose another store: leave it alone
    if (process.env.OBOX_REPLAY_DEBUG) process.stderr.write(`replay: ${JSON.stringify({ file: this.recordFile, dir, replayable: o.replayable, allHits: o.allHits, remote: o.dependsOn.remote, ctx: this.contextComplete })}\n`);
    const record = o.replayable && o.allHits && !o.dependsOn.remote && this.contextComplete ? this.compose(o) : undefined;
    if (!record) {
      rmSync(this.recordFile, { force: true });
      return false;
    }
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(this.recordFile, record, o.store.paths.tmp);
    dropOldRecords(dir);
    return true;
  }

  private compose(o: ReplayFinish): Buffer | undefined {
    // index.json names the base images and the result: the build must not have changed it (an
    // all-hit build re-tagging the same image does not), nor anyone else while it ran.
    const indexBefore = this.inputs.find((l) => l.path === this.indexFile);
    if (!indexBefore || this.indexFile !== o.store.paths.index || !sameStat(indexBefore, statLine(this.indexFile, 'S'))) return undefined;
    const racy = this.startedNs - RACY_MS * 1_000_000n;
    if (this.inputs.slice(0, this.sources).some((l) => l.st && (l.st.mtimeNs > racy || l.st.ctimeNs > racy))) return undefined;
    const stats = [...this.inputs];
    for (const p of [...o.dependsOn.entryFiles, ...o.dependsOn.storeFiles]) stats.push(statLine(p, 'I'));
    let buildRecord: string;
    try {
      buildRecord = readFileSync(o.dependsOn.buildRecordFile, 'utf8');
    } catch {
      return undefined;
    }
    const created = /"createdAt":"[^"]*"/.exec(buildRecord);
    if (!created) return undefined;
    const recordTemplate = buildRecord.replace(created[0], `"createdAt":"${NOW_MARK}"`);
    const err = Buffer.concat(this.err).toString('utf8');
    const at = err.lastIndexOf(o.summary.printed);
    if (o.summary.printed !== '' && at === -1) return undefined;
    const errTemplate = o.summary.printed === '' ? err : err.slice(0, at) + o.summary.template + err.slice(at + o.summary.printed.length);
    return Buffer.concat([
      Buffer.from('obox-replay 1\n'),
      chunk('fingerprint', this.fingerprint),
      ...stats.map(encodeStat),
      ...o.dependsOn.entryFiles.map((p) => chunk('touch', Buffer.from(p))),
      chunk('write', Buffer.from(o.dependsOn.buildRecordFile), Buffer.from(recordTemplate)),
      chunk('stdout', Buffer.concat(this.out)),
      chunk('stderr', Buffer.from(errTemplate)),
      Buffer.from('end\n'),
    ]);
  }

  /** Restores the streams and removes a stale record, unless finish() ran (the build failed). */
  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    for (const r of this.restore.splice(0)) r();
    rmSync(this.recordFile, { force: true });
  }
}

/** Keeps the MAX_RECORDS most recently written records. */
function dropOldRecords(dir: string): void {
  const names = readdirSafe(dir).filter((n) => RECORD_NAME.test(n));
  if (names.length <= MAX_RECORDS) return;
  const byAge = names
    .map((n) => ({ p: path.join(dir, n), t: lstatSync(path.join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.t - a.t);
  for (const old of byAge.slice(MAX_RECORDS)) rmSync(old.p, { force: true });
}
