/**
 * The cache key of a build step, from what is known before the step runs: the parent's key,
 * the instruction after expansion, the build args it reads, the platform, SOURCE_DATE_EPOCH,
 * and the step's outside inputs:
 *   - COPY/ADD from the context: the content digest of exactly the sources it copies (file
 *     digests memoised by path/inode/size/mtime/ctime, so an unchanged context is only stat'ed).
 *     `--chown` is not resolved here: the owner is a function of the chown text (in the
 *     instruction) and the parent's /etc/passwd (in the parent key), so no mount is needed;
 *   - COPY --from=STAGE: the content digest of exactly what it copies from that stage's result
 *     (as for the context: bytes, mode, owner, link targets, xattrs; never mtimes), so a rebuilt
 *     stage invalidates the consumers whose files changed, and only those (as BuildKit does);
 *     RUN --mount=type=bind,from=STAGE: that stage's result key; --from=IMAGE: the image's
 *     manifest digest;
 *   - RUN --mount=type=bind from the context: the content digest of the mounted tree.
 * Cache mounts, tmpfs, secrets and proxy args are deliberately not inputs (as in BuildKit).
 * The build and `obox cache why` both call `keyOfStep`, so they can never disagree.
 */
import { createHash } from 'node:crypto';
import { computeStepKey, type StepKey, type StepParent, type StepPlatform } from '../cache/step-key.js';
import type { Store } from '../cache/store/index.js';
import { ErrorCodes, OboxError } from '../errors.js';
import { canonicalInstruction, resolveMounts, type CopyInstruction, type Instruction } from '../instructions/index.js';
import type { BuildPlan, StepContext } from '../plan/index.js';
import type { ContainerConfig } from '../image/index.js';
import { applyMetadata } from './metadata.js';
import { copyRequestFrom, digestCopySources, rootfsSource, type CopyRecord, type FileHashMemo, type SourceTree } from './copy/index.js';

/** What `--from=scratch` and a `FROM scratch` stage with no steps stand for. */
export const SCRATCH_DIGEST = `sha256:${createHash('sha256').update('obox:scratch').digest('hex')}`;

export interface KeyContext {
  store: Store;
  plan: BuildPlan;
  context: SourceTree;
  contextDir: string;
  memo: FileHashMemo;
  platform: StepPlatform;
  sourceDateEpoch: number | undefined;
  /** RUN's network when the step gives none. */
  network: 'host' | 'none';
  /** The result key of an already evaluated stage (by index), or undefined. */
  stageResult: (index: number) => string | undefined;
  /**
   * A read-only root filesystem of a finished stage's result (by index), for COPY --from's
   * content digest; undefined when it is not there (cache why: the stage would be rebuilt).
   */
  stageRootfs: (index: number) => Promise<string | undefined>;
  tempDir: string;
  signal?: AbortSignal | undefined;
}

/**
 * The key context of a build (or of `cache why`'s dry run): `results` holds what each finished
 * stage ended on, so `--from` and stage bases resolve to that stage's result key.
 */
export function keyContextFor(
  base: Omit<KeyContext, 'stageResult' | 'platform' | 'network'> & { network?: 'host' | 'none' | undefined },
  results: ReadonlyMap<number, { parent: StepParent }>,
): KeyContext {
  return {
    ...base,
    platform: base.plan.target.platform,
    network: base.network ?? 'host',
    stageResult: (i) => {
      const r = results.get(i);
      return r ? parentDigest(r.parent) : undefined;
    },
  };
}

export interface ComputedStepKey extends StepKey {
  /** COPY/ADD from the context: the records hashed (for `cache why`). */
  records?: readonly CopyRecord[];
}

/** A step parent as one digest (for a stage's result). */
export function parentDigest(parent: StepParent): string {
  return parent.kind === 'step' ? parent.key : parent.kind === 'image' ? parent.digest : SCRATCH_DIGEST;
}

/** The stage `--from=NAME` names (by name or index), if it names one. */
function stageNamed(kc: KeyContext, from: string) {
  return kc.plan.allStages.find((s) => s.name === from.toLowerCase() || String(s.index) === from);
}

/**
 * What stands for COPY --from's sources when the stage's result is not there to read (cache
 * why, for a stage that would be rebuilt): a digest no build ever records.
 */
export function unbuiltStageDigest(stageResultKey: string): string {
  return `sha256:${createHash('sha256').update(`obox:unbuilt-stage\0${stageResultKey}`).digest('hex')}`;
}

/** COPY --from=STAGE: the digest of what it copies from the stage's result. */
async function copiedFromStage(kc: KeyContext, ins: CopyInstruction, stageIndex: number, workdir: string): Promise<string> {
  const rootfs = await kc.stageRootfs(stageIndex);
  if (rootfs === undefined) return unbuiltStageDigest(kc.stageResult(stageIndex) ?? SCRATCH_DIGEST);
  const tree = rootfsSource(rootfs, `--from=${ins.from}`);
  // No persistent memo: a view's paths and device are new each build.
  const digest = await digestCopySources(
    { ...copyRequestFrom(ins, { tree, workdir }), chown: undefined },
    { tempDir: kc.tempDir, ...(kc.sourceDateEpoch !== undefined ? { timestamp: kc.sourceDateEpoch } : {}), ...(kc.signal ? { signal: kc.signal } : {}) },
  );
  return digest.digest;
}

/** The result key/digest that `--from=NAME` refers to. */
async function fromDigest(kc: KeyContext, from: string): Promise<string> {
  const stage = stageNamed(kc, from);
  if (stage) {
    const key = kc.stageResult(stage.index);
    if (key === undefined) throw new OboxError(ErrorCodes.semantic, `stage ${from} has not been built yet`);
    return key;
  }
  if (from === 'scratch') return SCRATCH_DIGEST;
  try {
    return (await kc.store.resolve(from)).digest;
  } catch (e) {
    if (e instanceof OboxError && e.code === ErrorCodes.notFound) {
      throw new OboxError(ErrorCodes.notFound, `image ${from} (used with --from) not found in the store`, { hint: 'pull or import it first' });
    }
    throw e;
  }
}

/** The instruction as the key sees it: RUN's network is the effective one. */
function keyedInstruction(ins: Instruction, network: 'host' | 'none'): Instruction {
  if (ins.kind === 'run' && ins.network === undefined) return { ...ins, network };
  return ins;
}

export async function keyOfStep(kc: KeyContext, step: StepContext, parent: StepParent, workdir: string): Promise<ComputedStepKey> {
  const ins = step.expanded;
  let sources: string | undefined;
  let records: readonly CopyRecord[] | undefined;
  let fromStages: Map<string, string> | undefined;
  let mounts: Map<string, string> | undefined;
  if (ins.kind === 'copy' && ins.from !== undefined) {
    const stage = stageNamed(kc, ins.from);
    fromStages = new Map([[ins.from, stage ? await copiedFromStage(kc, ins, stage.index, workdir) : await fromDigest(kc, ins.from)]]);
  } else if (ins.kind === 'copy' || ins.kind === 'add') {
    const request = { ...copyRequestFrom(ins, { tree: kc.context, workdir }), chown: undefined };
    const digest = await digestCopySources(request, {
      hashMemo: kc.memo,
      tempDir: kc.tempDir,
      ...(kc.sourceDateEpoch !== undefined ? { timestamp: kc.sourceDateEpoch } : {}),
      ...(kc.signal ? { signal: kc.signal } : {}),
    });
    sources = digest.digest;
    records = digest.records;
  } else if (ins.kind === 'run') {
    for (const m of resolveMounts(ins.mounts)) {
      if (m.type !== 'bind') continue;
      mounts ??= new Map();
      if (m.from !== undefined) {
        mounts.set(m.target, await fromDigest(kc, m.from));
        continue;
      }
      const tree = rootfsSource(kc.contextDir, 'build context');
      const digest = await digestCopySources(
        { kind: 'copy', sources: [{ kind: 'path', path: m.source }], dest: '/', tree },
        { hashMemo: kc.memo, tempDir: kc.tempDir, ...(kc.signal ? { signal: kc.signal } : {}) },
      );
      mounts.set(m.target, digest.digest);
    }
  }
  const key = computeStepKey({
    parent,
    instruction: canonicalInstruction(keyedInstruction(ins, kc.network)),
    args: step.argsRead,
    platform: kc.platform,
    sources,
    fromStages,
    mounts,
    sourceDateEpoch: kc.sourceDateEpoch,
  });
  return records ? { ...key, records } : key;
}

/**
 * The keys of a stage's steps, in order, before any of them runs (a key depends only on inputs):
 * undefined for ARG, which is no link of the chain. `config` is the container config the stage
 * starts from; only its working dir matters (COPY resolves relative destinations against it),
 * so WORKDIR steps are applied along the way (the stage's final one is returned). The build
 * looks all of them up and holds its hits at once; `cache why` uses the same walk.
 */
export async function stageKeys(
  kc: KeyContext,
  steps: readonly StepContext[],
  parent: StepParent,
  config: ContainerConfig,
): Promise<{ keys: Array<ComputedStepKey | undefined>; workdir: string }> {
  const out: Array<ComputedStepKey | undefined> = [];
  let cc: ContainerConfig = { WorkingDir: config.WorkingDir };
  const flags = { cmdSet: false };
  for (const step of steps) {
    const ins = step.expanded;
    if (ins.kind === 'arg') {
      out.push(undefined);
      continue;
    }
    const key = await keyOfStep(kc, step, parent, cc.WorkingDir || '/');
    if (ins.kind === 'workdir') cc = applyMetadata(cc, ins, flags) ?? cc;
    out.push(key);
    parent = { kind: 'step', key: key.key };
  }
  return { keys: out, workdir: cc.WorkingDir || '/' };
}
