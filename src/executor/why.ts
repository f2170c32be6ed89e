/**
 * `obox cache why`: for a Containerfile, what its last build did step by step (hit or miss, and
 * for each miss the input that changed), and what a build with the given flags would do now.
 * "Now" is a dry run: every step's key is computed exactly as the build computes it (the same
 * keyOfStep), looked up, and nothing runs or is written. The one thing mounted is a read-only
 * view of a stage whose every step would hit, when a COPY --from reads it (its key is the digest
 * of what it copies); a stage that would be rebuilt leaves that step's key unknown (a miss).
 */
import { realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { BuildIndex, type BuildCacheEntry } from '../cache/build-index.js';
import { readBuildRecord, type StepRecord } from '../cache/build-records.js';
import { loadHashMemo } from '../cache/hash-memo.js';
import type { StepParent } from '../cache/step-key.js';
import { Digest, type ContainerConfig } from '../image/index.js';
import type { StageScope } from '../plan/index.js';
import { loadBaseImage, stageSteps } from './base-image.js';
import { buildContext, planFor, scratchContainerConfig, withDefaultPath, type BuildOptions } from './build.js';
import { stepRecord } from './miss-reasons.js';
import { keyContextFor, parentDigest, stageKeys, unbuiltStageDigest } from './step-keys.js';
import { tempDirIn } from '../cache/store/index.js';
import { mountOverlay, type OverlayMount } from './overlay/index.js';

export type WhyOptions = Pick<BuildOptions, 'store' | 'containerfile' | 'contextDir' | 'buildArgs' | 'target' | 'platform' | 'network' | 'sourceDateEpoch' | 'onEvent'>;

export interface WhyStep {
  stage: string;
  step: number;
  line: number;
  text: string;
  key: string;
  hit: boolean;
  reasons: string[];
}

export interface WhyReport {
  containerfile: string;
  context: string;
  /** The last recorded build of this Containerfile and context. */
  lastBuild: { at: string; noCache: boolean; steps: WhyStep[] } | undefined;
  /** What a build with these flags would do now. */
  now: WhyStep[];
  /** Now's keys are exactly the last build's: nothing changed since. */
  unchanged: boolean;
}

const stepOf = (r: StepRecord): WhyStep => ({ stage: r.stage, step: r.step, line: r.line, text: r.text, key: r.key, hit: r.hit, reasons: r.reasons });

async function usable(store: WhyOptions['store'], entry: BuildCacheEntry | undefined): Promise<boolean> {
  if (!entry) return false;
  if (entry.layer === null) return true;
  if (await store.hasLayerDir(Digest.parse(entry.layer.diffId))) return true;
  return entry.layer.digest !== undefined && (await store.hasBlob(Digest.parse(entry.layer.digest)));
}

export async function explainCache(opts: WhyOptions): Promise<WhyReport> {
  const plan = planFor(opts);
  const store = opts.store;
  const contextDir = await realpath(opts.contextDir).catch(() => path.resolve(opts.contextDir));
  const containerfileId = opts.containerfile.path ? path.resolve(opts.containerfile.path) : opts.containerfile.display;
  const [index, memo, previous, context] = await Promise.all([
    BuildIndex.open(store.paths),
    loadHashMemo(store.paths, contextDir),
    readBuildRecord(store.paths, containerfileId, contextDir),
    buildContext(opts),
  ]);
  const tempDir = await tempDirIn(store.paths.tmp, 'why');
  const results = new Map<number, { parent: StepParent; scope: StageScope; workdir: string; dirs: string[] | undefined }>();
  const views = new Map<number, Promise<OverlayMount | undefined>>();
  const stageRootfs = async (i: number): Promise<string | undefined> => {
    let view = views.get(i);
    if (!view) {
      const dirs = results.get(i)?.dirs;
      view = dirs === undefined ? Promise.resolve(undefined) : mountOverlay({ layers: dirs, stateDir: path.join(tempDir, `view-${i}`), linksDir: path.join(store.paths.root, 'links-v1'), readOnly: true });
      views.set(i, view);
    }
    return (await view)?.target;
  };
  const kc = keyContextFor({ store, plan, context, contextDir, memo, sourceDateEpoch: opts.sourceDateEpoch, network: opts.network, tempDir, stageRootfs }, results);
  const now: StepRecord[] = [];
  try {
    for (const stage of plan.stages) {
      const base = stage.base;
      let parent: StepParent;
      let cc: ContainerConfig;
      let baseScope;
      let display: string;
      // The layer dirs the stage's result would be made of, while every step would hit.
      let dirs: string[] | undefined;
      if (base.kind === 'stage') {
        const r = results.get(base.index)!;
        dirs = r.dirs && [...r.dirs];
        parent = r.parent;
        cc = { WorkingDir: r.workdir };
        baseScope = { parent: r.scope };
        display = plan.allStages[base.index]!.displayName;
      } else if (base.kind === 'scratch') {
        dirs = [];
        parent = { kind: 'scratch' };
        cc = scratchContainerConfig();
        baseScope = { imageEnv: cc.Env ?? [] };
        display = 'scratch';
      } else {
        const image = await loadBaseImage({ store, contextDir: opts.contextDir, plan }, base.ref, stage);
        const config = await image.config();
        const diffIds = config.rootfs.diff_ids.map((d) => Digest.parse(d));
        dirs = (await Promise.all(diffIds.map((d) => store.hasLayerDir(d)))).every(Boolean) ? diffIds.map((d) => store.layerDir(d)) : undefined;
        parent = { kind: 'image', digest: await image.digest() };
        cc = withDefaultPath(config.config ?? {});
        baseScope = { imageEnv: cc.Env ?? [] };
        display = base.ref;
      }
      const evaluation = stageSteps(plan, stage, cc.OnBuild ?? [], display, baseScope);
      const { keys, workdir } = await stageKeys(kc, evaluation.steps, parent, cc);
      let previousStep: StepRecord | undefined;
      for (const [i, step] of evaluation.steps.entries()) {
        const key = keys[i];
        if (key === undefined) continue; // ARG
        const entry = await index.lookup(key.key);
        const hit = await usable(store, entry);
        if (!hit) dirs = undefined;
        else if (dirs && entry?.layer) dirs = (await store.hasLayerDir(Digest.parse(entry.layer.diffId))) ? [...dirs, store.layerDir(Digest.parse(entry.layer.diffId))] : undefined;
        const record = stepRecord({
          plan,
          previous,
          noCache: false,
          stage,
          position: i + 1,
          line: step.expanded.location.startLine,
          key,
          text: step.expanded.original.trim(),
          hit,
          previousStep,
          cacheOn: true,
          entryFound: entry !== undefined,
        });
        // COPY --from a stage that would be rebuilt: its key cannot be known before that build.
        for (const [name, digest] of Object.entries(key.inputs.fromStages ?? {})) {
          const from = plan.allStages.find((st) => st.name === name.toLowerCase() || String(st.index) === name);
          const fromResult = from && results.get(from.index);
          if (fromResult && digest === unbuiltStageDigest(parentDigest(fromResult.parent))) {
            record.reasons = [`--from=${name} would be rebuilt first: this step hits only if what it copies comes out the same`];
          }
        }
        now.push(record);
        previousStep = record;
        parent = { kind: 'step', key: key.key };
      }
      results.set(stage.index, { parent, scope: evaluation.final, workdir, dirs });
    }
  } finally {
    for (const v of views.values()) await (await v.catch(() => undefined))?.unmount();
    await rm(tempDir, { recursive: true, force: true });
  }
  const unchanged = previous !== undefined && previous.steps.length === now.length && previous.steps.every((s, i) => s.key === now[i]!.key);
  return {
    containerfile: containerfileId,
    context: contextDir,
    lastBuild: previous ? { at: previous.createdAt, noCache: previous.noCache, steps: previous.steps.map(stepOf) } : undefined,
    now: now.map(stepOf),
    unchanged,
  };
}
