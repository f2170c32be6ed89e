/**
 * A build step's cache key (DESIGN.md "Steps and the cache key"): the one function both lookup
 * and record use, so the two can never disagree.
 *
 * The key is `sha256:<hex>` over a versioned, canonical encoding of:
 *   - the parent: the previous step's key, the base image's manifest digest, or scratch;
 *   - the instruction after expansion, as canonical text (instructions/canonical.ts:
 *     canonicalInstruction — sorted keys, no location, no original text);
 *   - the build args the step reads, name → value, sorted by name;
 *   - the platform (os, architecture, variant);
 *   - extra inputs: COPY/ADD's content digest of exactly its sources (digestCopySources — never
 *     mtimes), the result of each stage or image a `--from` names, and the content digests of
 *     RUN --mount=type=bind sources, by target;
 *   - SOURCE_DATE_EPOCH when set (it changes the layer's bytes).
 *
 * Every field is always written, absent ones as null, in a fixed order, after the version tag
 * STEP_KEY_VERSION: a format change changes the tag, so old index entries are simply misses.
 * The returned `inputs` is the same data, structured, for `obox cache inspect` and `why`.
 */
import { createHash } from 'node:crypto';
import { digestProblem } from '../image/digest.js';

export const STEP_KEY_VERSION = 'obox-step-key-v1';

/** `sha256:` and 64 lowercase hex digits. */
const KEY = /^sha256:[0-9a-f]{64}$/;

/** What a step builds on. */
export type StepParent =
  | { kind: 'step'; key: string }
  /** The base image, by its manifest digest (the first step of a stage). */
  | { kind: 'image'; digest: string }
  | { kind: 'scratch' };

export interface StepPlatform {
  os: string;
  architecture: string;
  variant?: string | undefined;
}

export interface StepKeyRequest {
  parent: StepParent;
  /** canonicalInstruction(step.expanded). */
  instruction: string;
  /** StepContext.argsRead. */
  args: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  platform: StepPlatform;
  /** COPY/ADD: the content digest of its sources (digestCopySources(...).digest). */
  sources?: string | undefined;
  /** `--from` value as written (stage name, index or image) → that stage's key or image digest. */
  fromStages?: ReadonlyMap<string, string> | Readonly<Record<string, string>> | undefined;
  /** RUN --mount=type=bind: mount target → content digest of its source. */
  mounts?: ReadonlyMap<string, string> | Readonly<Record<string, string>> | undefined;
  /** SOURCE_DATE_EPOCH: it clamps the mtimes in a layer's tar, so it changes the layer. */
  sourceDateEpoch?: number | undefined;
}

/** The inputs a key was computed from, normalised (maps as sorted plain objects). */
export interface StepKeyInputs {
  parent: StepParent;
  instruction: string;
  args: Record<string, string>;
  platform: StepPlatform;
  sources?: string;
  fromStages?: Record<string, string>;
  mounts?: Record<string, string>;
  sourceDateEpoch?: number;
}

export interface StepKey {
  key: string;
  inputs: StepKeyInputs;
}

export function isStepKey(s: unknown): s is string {
  return typeof s === 'string' && KEY.test(s);
}

/** The cache key of a step and the normalised inputs it came from. */
export function computeStepKey(request: StepKeyRequest): StepKey {
  const inputs = normaliseInputs(request);
  const key = `sha256:${createHash('sha256').update(encodeInputs(inputs)).digest('hex')}`;
  return { key, inputs };
}

/** The exact bytes hashed (exported for tests and `cache why`). */
export function encodeInputs(inputs: StepKeyInputs): string {
  const parent = inputs.parent.kind === 'step' ? ['step', inputs.parent.key] : inputs.parent.kind === 'image' ? ['image', inputs.parent.digest] : ['scratch'];
  const fields = [
    STEP_KEY_VERSION,
    parent,
    inputs.instruction,
    pairs(inputs.args),
    [inputs.platform.os, inputs.platform.architecture, inputs.platform.variant ?? null],
    inputs.sources ?? null,
    inputs.fromStages === undefined ? null : pairs(inputs.fromStages),
    inputs.mounts === undefined ? null : pairs(inputs.mounts),
    inputs.sourceDateEpoch ?? null,
  ];
  return JSON.stringify(fields);
}

function normaliseInputs(r: StepKeyRequest): StepKeyInputs {
  const parent = normaliseParent(r.parent);
  if (typeof r.instruction !== 'string' || r.instruction === '') throw new TypeError('step key: instruction must be canonical instruction text');
  if (!r.platform.os || !r.platform.architecture) throw new TypeError('step key: platform needs os and architecture');
  const platform: StepPlatform = { os: r.platform.os, architecture: r.platform.architecture };
  if (r.platform.variant) platform.variant = r.platform.variant;
  const inputs: StepKeyInputs = { parent, instruction: r.instruction, args: sortedRecord(r.args), platform };
  if (r.sources !== undefined) inputs.sources = checkDigest(r.sources, 'sources');
  if (r.fromStages !== undefined) inputs.fromStages = sortedRecord(r.fromStages, (v, k) => checkDigest(v, `fromStages[${k}]`));
  if (r.mounts !== undefined) inputs.mounts = sortedRecord(r.mounts, (v, k) => checkDigest(v, `mounts[${k}]`));
  if (r.sourceDateEpoch !== undefined) {
    if (!Number.isSafeInteger(r.sourceDateEpoch) || r.sourceDateEpoch < 0) throw new TypeError('step key: sourceDateEpoch must be a non-negative integer');
    inputs.sourceDateEpoch = r.sourceDateEpoch;
  }
  return inputs;
}

function normaliseParent(p: StepParent): StepParent {
  switch (p.kind) {
    case 'step':
      if (!isStepKey(p.key)) throw new TypeError(`step key: parent key ${JSON.stringify(p.key)} is not sha256:<hex>`);
      return { kind: 'step', key: p.key };
    case 'image':
      return { kind: 'image', digest: checkDigest(p.digest, 'parent digest') };
    case 'scratch':
      return { kind: 'scratch' };
  }
}

function checkDigest(d: string, what: string): string {
  const problem = digestProblem(d);
  if (problem !== undefined) throw new TypeError(`step key: ${what} ${JSON.stringify(d)}: ${problem}`);
  return d;
}

function sortedRecord(
  m: ReadonlyMap<string, string> | Readonly<Record<string, string>>,
  check: (value: string, key: string) => string = (v) => v,
): Record<string, string> {
  const entries: Array<[string, string]> = m instanceof Map ? [...(m as ReadonlyMap<string, string>)] : Object.entries(m);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw new TypeError(`step key: value of ${JSON.stringify(k)} is not a string`);
    out[k] = check(v, k);
  }
  return out;
}

/** Sorted [name, value] pairs: never relies on object key order (integer-like keys go first). */
function pairs(record: Readonly<Record<string, string>>): Array<[string, string]> {
  return Object.keys(record)
    .sort()
    .map((k) => [k, record[k]!]);
}
