/**
 * Build-context ignore files (.containerignore / .dockerignore), with Docker's semantics.
 *
 * Reading follows BuildKit's dockerignore.ReadAll, matching follows moby/patternmatcher's
 * MatchesOrParentMatches, and directory pruning follows (and tightens) fsutil's walker:
 *
 * - One pattern per line. A line whose first character is `#` is a comment (`  # x` is a pattern,
 *   as in Docker). A UTF-8 BOM on the first line is dropped. Lines are trimmed of whitespace;
 *   blank lines are skipped.
 * - A leading `!` (whitespace after it allowed) re-includes what earlier lines excluded.
 * - Each pattern is cleaned like Go's filepath.Clean (`./a//b/../c` → `a/c`, `foo/` → `foo`) and a
 *   leading `/` is dropped: patterns are relative to the context root, so `/foo` and `foo` are the
 *   same pattern, and neither matches `x/foo`.
 * - A pattern that cleans to `.` (`.`, `./`, `a/..`) matches nothing: like BuildKit, the context
 *   root itself is never matched, so such a line has no effect. (Docker's legacy builder excluded
 *   everything for it; BuildKit, the default, does not.)
 * - Glob syntax: `*` (no `/`), `?` (one character, not `/`), `**` (any number of directories,
 *   including none; a trailing `**` matches everything below), `[...]` classes, `\` escapes.
 *   See pattern.ts for the exact rules, which mirror patternmatcher's regexp translation.
 * - A rule matches a path when it matches the path or any of its parent directories, so `node_modules`
 *   excludes everything under it. The last matching rule decides: excluded unless it is a `!` rule.
 *
 * The Containerfile and the ignore file get no special treatment here: if the ignore file
 * excludes them, walkContext leaves them out, so COPY cannot copy them. That is what Docker's
 * documentation promises ("ADD and COPY instructions do not copy them to the image"); Docker still
 * transfers them to the daemon, which obox does not need because it reads the Containerfile itself.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { ErrorCodes, OboxError } from '../errors.js';
import { compilePattern, goClean, goTrimSpace, PatternSyntaxError, type CompiledPattern } from './pattern.js';

/** A pattern in an ignore file that Docker would refuse. */
export class IgnoreFileError extends OboxError {
  /** The ignore file's path (or the name given to parseIgnoreFile). */
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  /** The pattern as written on that line (trimmed). */
  readonly pattern: string;

  constructor(file: string, line: number, pattern: string, reason: string, hint: string) {
    super(ErrorCodes.syntax, `${file}:${line}: invalid pattern ${JSON.stringify(pattern)}: ${reason}`, { hint });
    this.name = 'IgnoreFileError';
    this.file = file;
    this.line = line;
    this.pattern = pattern;
  }
}

/** One line of an ignore file after Docker's preprocessing (BuildKit's dockerignore.ReadAll). */
export interface IgnoreLine {
  /** The preprocessed pattern, `!` prefix included (`!docs/README.md`). */
  pattern: string;
  /** 1-based line number in the file. */
  line: number;
  /** The line as written, trimmed: for error messages. */
  text: string;
}

/**
 * Docker's ReadAll: comments (`#` in column 1), BOM, trimming, `!` handling, Clean, leading `/`.
 * Never throws: validation is IgnoreMatcher's job.
 */
export function readIgnoreLines(text: string): IgnoreLine[] {
  const out: IgnoreLine[] = [];
  const lines = text.split('\n');
  // Go's bufio.ScanLines: a final newline does not start another line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, index) => {
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (index === 0 && line.startsWith('\uFEFF')) line = line.slice(1);
    if (line.startsWith('#')) return;
    let pattern = goTrimSpace(line);
    if (pattern === '') return;
    const invert = pattern.startsWith('!');
    if (invert) pattern = goTrimSpace(pattern.slice(1));
    if (pattern.length > 0) {
      pattern = goClean(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    if (invert) pattern = '!' + pattern;
    out.push({ pattern, line: index + 1, text: goTrimSpace(line) });
  });
  return out;
}

/** A compiled rule. */
export interface IgnoreRule {
  /** The cleaned pattern without its `!`. */
  readonly pattern: string;
  /** True for a `!` rule: it re-includes what it matches. */
  readonly negate: boolean;
  /** 1-based line in the ignore file. */
  readonly line: number;
  readonly compiled: CompiledPattern;
}

/**
 * Per-path match result. `ruleHits[i]` says whether rule i matches the path or one of its
 * parents; passing a directory's state when evaluating its children makes each evaluation O(rules).
 */
export interface MatchState {
  readonly excluded: boolean;
  readonly ruleHits: readonly boolean[];
}

interface RuleInfo extends IgnoreRule {
  /** The pattern's leading `/`-separated segments that contain no glob characters. */
  readonly literalHead: string;
  /** Whether every segment is literal (then the rule matches exactly one path). */
  readonly fullyLiteral: boolean;
}

/** Characters that make a segment something other than plain text (fsutil's list). */
const GLOB_CHARS = /[*?[\]\\^]/;

export class IgnoreMatcher {
  /** Matches nothing: the matcher for a context with no ignore file. */
  static readonly none = new IgnoreMatcher([]);

  readonly rules: readonly IgnoreRule[];
  /** Whether any rule is a `!` rule. */
  readonly hasNegations: boolean;
  private readonly info: readonly RuleInfo[];
  private readonly rootState: MatchState;

  constructor(rules: readonly IgnoreRule[]) {
    this.rules = rules;
    this.info = rules.map((r) => {
      const segs = r.pattern.split('/');
      let k = 0;
      while (k < segs.length && !GLOB_CHARS.test(segs[k] ?? '')) k++;
      return { ...r, literalHead: segs.slice(0, k).join('/'), fullyLiteral: k === segs.length };
    });
    this.hasNegations = rules.some((r) => r.negate);
    this.rootState = { excluded: false, ruleHits: rules.map(() => false) };
  }

  /**
   * Compile preprocessed lines (patternmatcher.New). `source` names the file in errors.
   * Throws IgnoreFileError on a pattern Docker refuses.
   */
  static compile(lines: readonly IgnoreLine[], source: string): IgnoreMatcher {
    const rules: IgnoreRule[] = [];
    for (const { pattern: raw, line, text } of lines) {
      // patternmatcher.New trims and cleans again, then looks at the `!`.
      let p = goTrimSpace(raw);
      if (p === '') continue;
      p = goClean(p);
      let negate = false;
      if (p.startsWith('!')) {
        if (p.length === 1) {
          throw new IgnoreFileError(source, line, text, 'a "!" needs a pattern after it', 'write "!PATTERN" to re-include what PATTERN matches');
        }
        negate = true;
        p = p.slice(1);
      }
      let compiled: CompiledPattern;
      try {
        compiled = compilePattern(p);
      } catch (e) {
        if (!(e instanceof PatternSyntaxError)) throw e;
        throw new IgnoreFileError(
          source,
          line,
          text,
          e.reason,
          'patterns use Go filepath.Match syntax plus "**"; escape a literal "[", "]", "*", "?" or "\\" with "\\"',
        );
      }
      rules.push({ pattern: p, negate, line, compiled });
    }
    return new IgnoreMatcher(rules);
  }

  /**
   * Whether `relPath` (slash-separated, relative to the context root) is excluded from the
   * context. The root itself (`.`, ``) is never excluded.
   */
  matches(relPath: string): boolean {
    const p = normalize(relPath);
    if (p === undefined) return false;
    return this.evaluate(p).excluded;
  }

  /**
   * Evaluate a clean relative path. With `parent` (the state of the path's directory, from an
   * earlier call), parents are not re-matched. Without it, every ancestor is tried.
   */
  evaluate(relPath: string, parent?: MatchState): MatchState {
    const hits: boolean[] = new Array<boolean>(this.info.length);
    const ancestors = parent === undefined ? ancestorsOf(relPath) : [];
    let excluded = false;
    this.info.forEach((rule, i) => {
      let hit = (parent !== undefined && parent.ruleHits[i] === true) || rule.compiled.matches(relPath);
      if (!hit) hit = ancestors.some((a) => rule.compiled.matches(a));
      hits[i] = hit;
      if (hit) excluded = !rule.negate;
    });
    return { excluded, ruleHits: hits };
  }

  /** The state of the context root, to pass as `parent` for top-level entries. */
  get root(): MatchState {
    return this.rootState;
  }

  /**
   * Whether a walker may skip directory `relDir` without looking inside: it is excluded, and no `!`
   * rule could re-include anything beneath it. `state` is relDir's evaluate() result, if known.
   *
   * This never skips a directory fsutil (BuildKit's walker) would enter to find re-included
   * files, and is sharper than fsutil: a `!` rule with glob characters only blocks skipping
   * directories its literal leading segments could lie under (`!docs/*.md` does not stop
   * `node_modules` from being skipped).
   */
  canSkipDir(relDir: string, state?: MatchState): boolean {
    const dir = state === undefined ? normalize(relDir) : relDir;
    if (dir === undefined) return false;
    const st = state ?? this.evaluate(dir);
    if (!st.excluded) return false;
    const dirSlash = dir + '/';
    return this.info.every((rule, i) => {
      // A non-`!` rule cannot re-include; a `!` rule that already matches dir (or a parent) is
      // outranked by the later rule that excludes dir, and that rule matches everything below too.
      if (!rule.negate || st.ruleHits[i] === true) return true;
      return !couldMatchBelow(rule, dirSlash);
    });
  }
}

/**
 * Whether `rule` (which does not match the directory or its parents) could match some path
 * strictly below the directory `dirSlash` (ends with `/`). Every path a pattern matches starts
 * with the pattern's literal leading segments, so compare those.
 */
function couldMatchBelow(rule: RuleInfo, dirSlash: string): boolean {
  if (rule.fullyLiteral) return rule.pattern.startsWith(dirSlash);
  if (rule.literalHead === '') return true;
  const head = rule.literalHead + '/';
  return head.startsWith(dirSlash) || dirSlash.startsWith(head);
}

function normalize(relPath: string): string | undefined {
  let p = goClean(relPath);
  while (p.startsWith('/')) p = p.slice(1);
  return p === '' || p === '.' ? undefined : p;
}

/** `a/b/c` → [`a`, `a/b`]. */
function ancestorsOf(p: string): string[] {
  const out: string[] = [];
  let i = p.indexOf('/');
  while (i >= 0) {
    out.push(p.slice(0, i));
    i = p.indexOf('/', i + 1);
  }
  return out;
}

/** Parse and compile an ignore file's text. `source` names it in errors. */
export function parseIgnoreFile(text: string, source = '.dockerignore'): IgnoreMatcher {
  return IgnoreMatcher.compile(readIgnoreLines(text), source);
}

export interface LoadIgnoreOptions {
  /** The build context directory. */
  contextDir: string;
  /** The Containerfile's path (relative paths resolve against the working directory, like `-f`). */
  containerfilePath?: string | undefined;
}

export interface LoadedIgnoreRules {
  /** Absolute path of the ignore file used, or undefined when there is none. */
  source: string | undefined;
  matcher: IgnoreMatcher;
}

/**
 * The ignore files obox looks for, in order; the first that exists is used:
 * `<Containerfile>.containerignore`, `<Containerfile>.dockerignore` (beside the Containerfile),
 * then `<context>/.containerignore`, `<context>/.dockerignore`.
 */
export function ignoreFileCandidates(opts: LoadIgnoreOptions): string[] {
  const out: string[] = [];
  if (opts.containerfilePath !== undefined && opts.containerfilePath !== '' && opts.containerfilePath !== '-') {
    const cf = path.resolve(opts.containerfilePath);
    out.push(`${cf}.containerignore`, `${cf}.dockerignore`);
  }
  const ctx = path.resolve(opts.contextDir);
  out.push(path.join(ctx, '.containerignore'), path.join(ctx, '.dockerignore'));
  return out;
}

/** Find, read and compile the ignore file for a build. Throws IgnoreFileError or OboxError. */
export async function loadIgnoreRules(opts: LoadIgnoreOptions): Promise<LoadedIgnoreRules> {
  for (const candidate of ignoreFileCandidates(opts)) {
    let text: string;
    try {
      text = await readFile(candidate, 'utf8');
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new OboxError(ErrorCodes.environment, `cannot read ignore file ${candidate}: ${describeErrno(e)}`, {
        cause: e,
        hint: code === 'EISDIR' ? 'an ignore file must be a regular file' : undefined,
      });
    }
    return { source: candidate, matcher: parseIgnoreFile(text, candidate) };
  }
  return { source: undefined, matcher: IgnoreMatcher.none };
}

export type ContextEntryKind = 'file' | 'dir' | 'symlink' | 'other';

export interface ContextEntry {
  /** Slash-separated path relative to the context root. */
  path: string;
  kind: ContextEntryKind;
}

/**
 * Walk the context and return what is sent to the build, sorted by path (code point order, which
 * is UTF-8 byte order). Directories are listed when not excluded, or when something inside them
 * is re-included (as BuildKit does, so the parents of a re-included file exist). Symlinks are
 * entries, never followed; `other` is a fifo, socket or device. Excluded directories are not
 * read when no `!` rule could re-include anything in them.
 */
export async function walkContext(contextDir: string, matcher: IgnoreMatcher): Promise<ContextEntry[]> {
  const root = path.resolve(contextDir);
  let st;
  try {
    st = await stat(root);
  } catch (e) {
    throw new OboxError(ErrorCodes.notFound, `build context ${root} does not exist`, { cause: e });
  }
  if (!st.isDirectory()) {
    throw new OboxError(ErrorCodes.usage, `build context ${root} is not a directory`);
  }

  const out: ContextEntry[] = [];
  const visit = async (relDir: string, absDir: string, dirState: MatchState): Promise<void> => {
    let dirents;
    try {
      dirents = await readdir(absDir, { withFileTypes: true });
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return; // vanished while walking
      if (code === 'EACCES' && dirState.excluded) return; // fsutil tolerates this for excluded dirs
      throw new OboxError(ErrorCodes.environment, `cannot read ${relDir === '' ? root : relDir} in the build context: ${describeErrno(e)}`, { cause: e });
    }
    for (const d of dirents) {
      const rel = relDir === '' ? d.name : `${relDir}/${d.name}`;
      const state = matcher.evaluate(rel, dirState);
      const kind: ContextEntryKind = d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'symlink' : d.isFile() ? 'file' : 'other';
      if (kind !== 'dir') {
        if (!state.excluded) out.push({ path: rel, kind });
        continue;
      }
      if (state.excluded && matcher.canSkipDir(rel, state)) continue;
      const mark = out.length;
      out.push({ path: rel, kind });
      await visit(rel, path.join(absDir, d.name), state);
      // An excluded directory stays only as the parent of something re-included.
      if (state.excluded && out.length === mark + 1) out.pop();
    }
  };
  await visit('', root, matcher.root);
  return out.sort((a, b) => compareCodePoints(a.path, b.path));
}

/** The non-directory entries walkContext returns (files, symlinks, others), as sorted paths. */
export async function listIncludedFiles(contextDir: string, matcher: IgnoreMatcher): Promise<string[]> {
  return (await walkContext(contextDir, matcher)).filter((e) => e.kind !== 'dir').map((e) => e.path);
}

/** Compare by Unicode code point (UTF-16 order differs for characters above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    // A surrogate (part of a character above U+FFFF) sorts after every other code unit.
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

function describeErrno(e: unknown): string {
  const code = errnoCode(e);
  const messages: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'is a directory',
    ELOOP: 'too many levels of symbolic links',
  };
  if (code !== undefined && messages[code] !== undefined) return messages[code];
  return e instanceof Error ? e.message : String(e);
}
