/**
 * Why a step missed the cache, in words: its inputs now against the same step of the last
 * build of that Containerfile (build-records.ts). Pure; used at build time and by `cache why`.
 */
import type { SourceFingerprints } from './build-records.js';
import type { StepKeyInputs, StepParent } from './step-key.js';

export interface StepSnapshot {
  inputs: StepKeyInputs;
  text: string;
  sources?: SourceFingerprints | undefined;
}

export interface ExplainOptions {
  /** Said when the parent is a step whose key changed (e.g. "the previous step (line 4) missed"). */
  parentNote?: string | undefined;
  /** How many changed files to name before "and N more". */
  fileLimit?: number;
}

const quote = (s: string): string => JSON.stringify(s);

function parentText(p: StepParent): string {
  return p.kind === 'image' ? `image ${p.digest}` : p.kind === 'scratch' ? 'scratch' : `step ${p.key.slice(0, 19)}`;
}

/** The reasons `now` has a different key than `before`; empty when their inputs are equal. */
export function explainMiss(now: StepSnapshot, before: StepSnapshot | undefined, options: ExplainOptions = {}): string[] {
  if (before === undefined) return ['no earlier build had this step (a new or moved step, or a first build)'];
  const reasons: string[] = [];
  const a = before.inputs;
  const b = now.inputs;
  if (a.parent.kind === 'step' && b.parent.kind === 'step') {
    if (a.parent.key !== b.parent.key) reasons.push(options.parentNote ?? 'the previous step changed');
  } else if (a.parent.kind === 'image' && b.parent.kind === 'image') {
    if (a.parent.digest !== b.parent.digest) reasons.push(`the base image changed: ${a.parent.digest} → ${b.parent.digest}`);
  } else if (a.parent.kind !== b.parent.kind) {
    reasons.push(`what it builds on changed: ${parentText(a.parent)} → ${parentText(b.parent)}`);
  }
  if (a.instruction !== b.instruction) {
    reasons.push(
      before.text === now.text
        ? `the instruction expands differently now (a variable's value changed): ${quote(now.text)}`
        : `the instruction changed: ${quote(before.text)} → ${quote(now.text)}`,
    );
  }
  reasons.push(...recordChanges(a.args, b.args, (name, x, y) => (x === undefined ? `build arg ${name} was not set, now ${quote(y!)}` : y === undefined ? `build arg ${name} was ${quote(x)}, now unset` : `build arg ${name} changed from ${quote(x)} to ${quote(y)}`)));
  const pa = `${a.platform.os}/${a.platform.architecture}${a.platform.variant ? `/${a.platform.variant}` : ''}`;
  const pb = `${b.platform.os}/${b.platform.architecture}${b.platform.variant ? `/${b.platform.variant}` : ''}`;
  if (pa !== pb) reasons.push(`the platform changed: ${pa} → ${pb}`);
  if (a.sources !== b.sources) {
    const files = before.sources && now.sources ? fileChanges(before.sources, now.sources, options.fileLimit ?? 10) : [];
    reasons.push(...(files.length > 0 ? files : [`the copied files changed (sources ${a.sources ?? 'none'} → ${b.sources ?? 'none'})`]));
  }
  reasons.push(...recordChanges(a.fromStages ?? {}, b.fromStages ?? {}, (name, x, y) => (x === undefined || y === undefined ? `--from=${name} is new or gone` : `what it copies from --from=${name} changed`)));
  reasons.push(...recordChanges(a.mounts ?? {}, b.mounts ?? {}, (target) => `the source of the bind mount at ${target} changed`));
  if (a.sourceDateEpoch !== b.sourceDateEpoch) reasons.push(`SOURCE_DATE_EPOCH changed: ${a.sourceDateEpoch ?? 'unset'} → ${b.sourceDateEpoch ?? 'unset'}`);
  return reasons;
}

function recordChanges(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
  say: (name: string, before: string | undefined, now: string | undefined) => string,
): string[] {
  const out: string[] = [];
  for (const name of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (a[name] !== b[name]) out.push(say(name, a[name], b[name]));
  }
  return out;
}

/** Fingerprints (fingerprintOf) compared path by path. */
function fileChanges(before: SourceFingerprints, now: SourceFingerprints, limit: number): string[] {
  const out: string[] = [];
  let more = 0;
  const add = (s: string): void => {
    if (out.length < limit) out.push(s);
    else more++;
  };
  for (const path of [...new Set([...Object.keys(before), ...Object.keys(now)])].sort()) {
    const x = before[path];
    const y = now[path];
    if (x === y) continue;
    if (x === undefined) add(`${path} was added`);
    else if (y === undefined) add(`${path} was removed`);
    else {
      const [tx, mx, ox, cx, xx] = x.split('\0');
      const [ty, my, oy, cy, xy] = y.split('\0');
      const what: string[] = [];
      if (tx !== ty) what.push(`type ${tx} → ${ty}`);
      if (cx !== cy) what.push(tx === 'symlink' ? `link target ${cx ?? ''} → ${cy ?? ''}` : `content ${cx?.slice(0, 19) ?? ''} → ${cy?.slice(0, 19) ?? ''}`);
      if (mx !== my) what.push(`mode ${mx} → ${my}`);
      if (ox !== oy) what.push(`owner ${ox} → ${oy}`);
      if (xx !== xy) what.push('extended attributes');
      add(`${path} changed (${what.join(', ') || 'metadata'})`);
    }
  }
  if (more > 0) out.push(`and ${more} more file${more === 1 ? '' : 's'}`);
  return out;
}

/** A copied entry's fingerprint: type, mode (octal), uid:gid, content digest or link target, xattrs; NUL-separated. */
export function fingerprintOf(r: { type: string; mode: number; uid: number; gid: number; content: string; link: string; xattrs: readonly string[] }): string {
  return [r.type, r.mode.toString(8), `${r.uid}:${r.gid}`, r.content || r.link, r.xattrs.join(',')].join('\0');
}
