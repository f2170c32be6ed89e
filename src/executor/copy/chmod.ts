/**
 * `--chmod`, as BuildKit's Dockerfile frontend accepts it (dockerfile2llb dispatchCopy):
 *
 * - Octal (`755`, `0644`, `4755`), at most 07777: the mode every copied file and directory gets,
 *   special bits included (fsutil ≥ 2024 sets them; moby/buildkit#3920). Symlinks keep theirs.
 * - Otherwise symbolic, chmod(1)-style, as BuildKit ≥ 0.17 accepts it (tonistiigi/dchapes-mode):
 *   comma-separated clauses `[ugoa]*[-+=][rwxXst]*` or `[ugoa]*[-+=][ugo]`, applied to each
 *   source file's own mode. An empty "who" means `a`; no umask is applied (a build must not
 *   depend on the builder's umask). `X` is execute for directories and for files that already
 *   have an execute bit.
 *
 * A value that looks numeric but is not octal, or is above 07777, gets BuildKit's message.
 */
import { ErrorCodes } from '../../errors.js';
import { CopyError } from './errors.js';

/** A parsed --chmod: the mode a file gets, from its source mode and type. */
export interface ModeChange {
  /** The value as written. */
  readonly text: string;
  apply(sourceMode: number, isDir: boolean): number;
}

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

type Op = '+' | '-' | '=';
interface Action {
  op: Op;
  perms: string;
}
interface Clause {
  who: string;
  actions: Action[];
}

function nonOctal(text: string): CopyError {
  return new CopyError(ErrorCodes.semantic, `invalid chmod parameter: '${text}'. it should be octal string and between 0 and 07777`);
}

export function parseChmod(text: string): ModeChange {
  if (/^[0-7]+$/.test(text)) {
    const mode = parseInt(text, 8);
    if (mode > 0o7777) throw nonOctal(text);
    return { text, apply: () => mode };
  }
  if (/^[+-]?\d+$/.test(text)) throw nonOctal(text);
  const clauses = parseSymbolic(text);
  return { text, apply: (mode, isDir) => applySymbolic(clauses, mode & 0o7777, isDir) };
}

function parseSymbolic(text: string): Clause[] {
  const bad = (why: string) => new CopyError(ErrorCodes.semantic, `invalid chmod parameter: '${text}': ${why}`, {
    hint: 'use an octal mode (0755) or chmod(1) symbolic clauses such as u+x,go-w or a=rX',
  });
  const clauses: Clause[] = [];
  for (const raw of text.split(',')) {
    const m = /^([ugoa]*)((?:[-+=][rwxXstugo]*)+)$/.exec(raw);
    if (!m) throw bad(raw === '' ? 'empty clause' : `cannot read clause '${raw}'`);
    const actions: Action[] = [];
    for (const a of (m[2] as string).matchAll(/([-+=])([rwxXstugo]*)/g)) {
      const perms = a[2] as string;
      if (/[ugo]/.test(perms) && !/^[ugo]$/.test(perms)) throw bad(`'${perms}': copy a single class (u, g or o) or list permissions, not both`);
      actions.push({ op: a[1] as Op, perms });
    }
    clauses.push({ who: m[1] === '' ? 'a' : (m[1] as string), actions });
  }
  return clauses;
}

/** The bits of `who` that permission letter `p` stands for. */
function bitsFor(who: string, p: string): number {
  const u = who.includes('u') || who.includes('a');
  const g = who.includes('g') || who.includes('a');
  const o = who.includes('o') || who.includes('a');
  let out = 0;
  const each = (shift: number) => {
    if (p === 'r') out |= 0o4 << shift;
    else if (p === 'w') out |= 0o2 << shift;
    else if (p === 'x') out |= 0o1 << shift;
  };
  if (u) each(6);
  if (g) each(3);
  if (o) each(0);
  if (p === 's') {
    if (u) out |= S_ISUID;
    if (g) out |= S_ISGID;
  }
  if (p === 't' && o) out |= S_ISVTX;
  return out;
}

/** All bits a clause's "who" can touch (for `=`). */
function whoMask(who: string): number {
  return bitsFor(who, 'r') | bitsFor(who, 'w') | bitsFor(who, 'x') | bitsFor(who, 's') | bitsFor(who, 't');
}

function applySymbolic(clauses: Clause[], start: number, isDir: boolean): number {
  let mode = start;
  for (const { who, actions } of clauses) {
    for (const { op, perms } of actions) {
      let bits = 0;
      if (/^[ugo]$/.test(perms)) {
        // Copy another class's rwx bits to the classes of `who`.
        const shift = perms === 'u' ? 6 : perms === 'g' ? 3 : 0;
        const rwx = (mode >> shift) & 0o7;
        for (const [letter, bit] of [['r', 4], ['w', 2], ['x', 1]] as const) if (rwx & bit) bits |= bitsFor(who, letter);
      } else {
        for (const p of perms) {
          if (p === 'X') {
            if (isDir || (mode & 0o111) !== 0) bits |= bitsFor(who, 'x');
          } else {
            bits |= bitsFor(who, p);
          }
        }
      }
      if (op === '+') mode |= bits;
      else if (op === '-') mode &= ~bits;
      else mode = (mode & ~whoMask(who)) | bits;
    }
  }
  return mode & 0o7777;
}
