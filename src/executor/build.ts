/**
 * `obox build`: Containerfile text → plan → stages in dependency order → an image in the store.
 * Each filesystem step (RUN, COPY, ADD, WORKDIR) runs on an overlay of its parent chain and
 * commits its upper dir as a layer; metadata steps change the config and add history.
 */
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { ensureLayerDir } from '../cache/layers.js';
import { tempDirIn, type Store } from '../cache/store/index.js';
import { BuildIndex, type BuildCacheEntry, type CachedLayer } from '../cache/build-index.js';
import { buildRecordPath, readBuildRecord, writeBuildRecord, type BuildRecord, type StepRecord } from '../cache/build-records.js';
import { stepRecord } from './miss-reasons.js';
import { loadHashMemo, type PersistentHashMemo } from '../cache/hash-memo.js';
import { Lease } from '../cache/leases.js';
import type { StepParent } from '../cache/step-key.js';
import { keyContextFor, stageKeys, type KeyContext } from './step-keys.js';
import { holdEntries, recordPendingBlobs, reuseEntry, storeStepLayer, type CachedStepLayer, type PendingBlob, type StepCacheContext } from './step-cache.js';
import { parseContainerfile } from '../containerfile/parser.js';
import { ContainerfileError, ErrorCodes, OboxError } from '../errors.js';
import { composeImage, Digest, emptyConfig, normalizeReference, type ContainerConfig, type HistoryEntry, type Image, type ImageConfig, type Layer } from '../image/index.js';
import { parseInstructions, resolveMounts, type Instruction } from '../instructions/index.js';
import { DEFAULT_PATH, formatPlatform, hostPlatform, parsePlatform, planBuild, type BuildPlan, type PlannedStage, type StageScope, type StepContext } from '../plan/index.js';
import type { BuildEventSink } from './events.js';
import { registerCleanup } from './cleanup.js';
import { applyMetadata, historyText, type StageFlags } from './metadata.js';
import { mkdirAllInRoot, resolveUser, runContainer } from './run/index.js';
import { mountOverlay } from './overlay/index.js';
import { prepareRunMounts, runArgv } from './run-step.js';
import { withStepFilesystem, type StepFsContext, type StepLayer } from './step-fs.js';
import { copyStep, type CopyStepContext } from './copy-step.js';
import { loadBaseImage, stageSteps } from './base-image.js';
import { recoverAbandoned } from './recover.js';
import { DeferredRecords, type Hashing } from './deferred-records.js';
import { contextSource, isHttpSource, type SourceTree } from './copy/index.js';
import { loadIgnoreRules } from '../context/ignore.js';

export interface BuildOptions {
  store: Store;
  /** `path` (when it is a file) finds `<path>.containerignore` / `<path>.dockerignore` beside it. */
  containerfile: { text: string; display: string; path?: string | undefined };
  contextDir: string;
  buildArgs?: ReadonlyMap<string, string>;
  target?: string;
  /** Network for RUN steps without --network; default host. */
  network?: 'host' | 'none';
  platform?: string;
  labels?: Readonly<Record<string, string>>;
  tags?: readonly string[];
  /** `--secret id=ID,src=FILE`: id → file. */
  secrets?: ReadonlyMap<string, string>;
  runtime?: string;
  signal?: AbortSignal;
  onEvent?: BuildEventSink;
  /** SOURCE_DATE_EPOCH: history/created times and clamped mtimes, for reproducible images. */
  sourceDateEpoch?: number;
  /** `--no-cache`: look nothing up (results are still recorded). */
  noCache?: boolean;
  /** `--no-cache-filter`: stages (names or indexes) whose steps are not looked up. */
  noCacheStages?: readonly string[];
}

export interface BuildCacheStats {
  hits: number;
  misses: number;
  /** Context files whose content was read to hash them (0 on a no-op rebuild). */
  filesHashed: number;
}

export interface BuildResult {
  image: Image;
  id: string;
  digest: string;
  names: string[];
  layers: number;
  /** Compressed bytes of the layers this build added to the image (not the base's). */
  newBytes: number;
  durationMs: number;
  cache: BuildCacheStats;
  /** What a repeat of this build depends on beyond its Containerfile and context (src/cli/replay.ts). */
  dependsOn: BuildDependencies;
}

export interface BuildDependencies {
  /** The context directory as resolved. */
  contextDir: string;
  /** Cache entry files of the steps that hit (an entry file's mtime is its last use). */
  entryFiles: string[];
  /** Layer dirs and blobs the hits and the image use, and the image's manifest and config blobs. */
  storeFiles: string[];
  /** The record `cache why` reads, as this build wrote it. */
  buildRecordFile: string;
  /** A step read something outside the context and the store (ADD of a URL without --checksum). */
  remote: boolean;
}

interface StageResult {
  config: ImageConfig;
  layers: Layer[];
  dirs: string[];
  scope: StageScope;
  /** What the stage's last step built on, or its last step: the stage's result for keys. */
  parent: StepParent;
  /** The latest history time of its steps (a cached step keeps the time it was built). */
  created: string | undefined;
}

interface BuildState {
  opts: BuildOptions;
  plan: BuildPlan;
  fs: StepFsContext;
  runtimeState: string;
  scratchDir: string;
  results: Map<number, StageResult>;
  /** The build context through its ignore rules, for COPY/ADD. */
  context: SourceTree;
  stepCounter: number;
  /** Read-only overlay views of stages/images (for --from), unmounted when the build ends. */
  views: Array<{ unmount(): Promise<void> }>;
  /** A read-only view of each finished stage that COPY --from read (for its key, then its copy). */
  stageViews: Map<number, Promise<string>>;
  /** Layers whose blobs this build wrote (for the "new" size). */
  newBlobs: Set<Layer>;
  /** Entries in step order; intermediate layers hashed in the background. */
  deferred: DeferredRecords;
  /** Lower dirs of read-only views still mounted (not moved until the views are gone). */
  viewDirs: Set<string>;
  created: string;
  cache: StepCacheContext;
  keys: KeyContext;
  memo: PersistentHashMemo;
  /** Stages (indexes) whose layers reach the image: the target and the stages it is based on. */
  exported: Set<number>;
  pendingBlobs: PendingBlob[];
  stats: BuildCacheStats;
  previous: BuildRecord | undefined;
  record: StepRecord[];
  dependsOn: Omit<BuildDependencies, 'buildRecordFile' | 'contextDir'>;
}

function emit(state: BuildState, event: Parameters<BuildEventSink>[0]): void {
  state.opts.onEvent?.(event);
}

function isoTime(epochSeconds: number | undefined): string {
  const d = epochSeconds !== undefined ? new Date(epochSeconds * 1000) : new Date();
  d.setMilliseconds(0);
  return d.toISOString().replace('.000Z', 'Z');
}

/** An image's container config with PATH set when it has none (as the build and `cache why` see it). */
export function withDefaultPath(config: ContainerConfig): ContainerConfig {
  const env = config.Env ?? [];
  return env.some((e) => e.startsWith('PATH=')) ? config : { ...config, Env: [...env, `PATH=${DEFAULT_PATH}`] };
}

/** The container config of a FROM scratch stage. */
export function scratchContainerConfig(): ContainerConfig {
  return { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: '/' };
}

/** What a stage starts from: an earlier stage's result (with its ARG/ENV scope), scratch, or an image. */
interface StageStart {
  config: ImageConfig;
  layers: Layer[];
  dirs: string[];
  /** Only for a stage base: expansion continues from its scope. */
  parentScope: StageScope | undefined;
  display: string;
  parent: StepParent;
  created: string | undefined;
}

async function baseOf(state: BuildState, stage: PlannedStage): Promise<StageStart> {
  const base = stage.base;
  if (base.kind === 'stage') {
    const parent = state.results.get(base.index);
    if (!parent) throw new OboxError(ErrorCodes.semantic, `stage ${base.index} was not built before ${stage.displayName}`);
    const { scope, ...rest } = parent;
    return { ...rest, parentScope: scope, display: state.plan.allStages[base.index]!.displayName };
  }
  if (base.kind === 'scratch') {
    const config = emptyConfig(stage.platform);
    return {
      config: { ...config, config: scratchContainerConfig() },
      layers: [],
      dirs: [],
      parentScope: undefined,
      display: 'scratch',
      parent: { kind: 'scratch' },
      created: undefined,
    };
  }
  const image = await loadBaseImage({ store: state.opts.store, contextDir: state.opts.contextDir, plan: state.plan }, base.ref, stage);
  const [config, layers, digest] = await Promise.all([image.config(), image.layers(), image.digest()]);
  const diffIds = await Promise.all(layers.map((l) => l.diffId()));
  // Held so a concurrent prune --all cannot take the base's layer dirs while they are lower dirs.
  await state.cache.lease.hold({ diffIds, digests: [digest, ...(await Promise.all(layers.map((l) => l.digest())))] });
  const dirs: string[] = [];
  for (const layer of layers) dirs.push(await ensureLayerDir(state.opts.store, layer));
  return {
    config: { ...config, config: withDefaultPath(config.config ?? {}) },
    layers: [...layers],
    dirs,
    parentScope: undefined,
    display: base.ref,
    parent: { kind: 'image', digest },
    created: undefined,
  };
}

function stepFailed(state: BuildState, ins: Instruction, message: string, detail?: string): ContainerfileError {
  const loc = ins.location;
  const err = new ContainerfileError(ErrorCodes.stepFailed, message, {
    file: state.plan.source.file,
    line: loc.keywordPos.line,
    column: loc.keywordPos.column,
    length: ins.keyword.length,
    lineText: state.plan.source.lines[loc.keywordPos.line - 1],
  });
  err.detail = detail;
  return err;
}

function lastLines(text: string, n: number): string {
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.slice(-n).map((l) => `  > ${l}`).join('\n');
}

function laterTime(a: string | undefined, b: string): string {
  return a === undefined || Date.parse(b) > Date.parse(a) ? b : a;
}

function stageUsesCache(state: BuildState, stage: PlannedStage): boolean {
  if (state.opts.noCache) return false;
  const filter = state.opts.noCacheStages ?? [];
  return !filter.some((f) => f.toLowerCase() === stage.stage.name || f === String(stage.index));
}

async function runStage(state: BuildState, stage: PlannedStage, position: number): Promise<StageResult> {
  const base = await baseOf(state, stage);
  emit(state, { type: 'stage', stage: stage.displayName, index: position, total: state.plan.stages.length, base: base.display });
  let config: ImageConfig = { ...base.config, history: [...(base.config.history ?? [])] };
  let cc: ContainerConfig = config.config ?? {};
  const layers = [...base.layers];
  const dirs = [...base.dirs];
  const history: HistoryEntry[] = [...(config.history ?? [])];
  const flags: StageFlags = { cmdSet: false };
  const baseScope = base.parentScope ? { parent: base.parentScope } : { imageEnv: cc.Env ?? [] };
  // The base's ONBUILD triggers run first, then are cleared from this image (as BuildKit does).
  const evaluation = stageSteps(state.plan, stage, cc.OnBuild ?? [], base.display, baseScope);
  if (cc.OnBuild && cc.OnBuild.length > 0) cc = { ...cc, OnBuild: undefined };
  const steps = evaluation.steps;
  const cacheOn = stageUsesCache(state, stage);
  // Keys depend only on inputs: all of the stage's are known before it runs, so its hits are
  // looked up and held against prune in one go.
  const { keys } = await stageKeys(state.keys, steps, base.parent, cc);
  const entries = cacheOn ? await Promise.all(keys.map((k) => (k ? state.cache.index.lookup(k.key) : undefined))) : [];
  await holdEntries(state.cache, entries);
  const withBlob = state.exported.has(stage.index);
  let parent = base.parent;
  let created = base.created;
  let previousStep: StepRecord | undefined;

  for (const [i, step] of steps.entries()) {
    state.opts.signal?.throwIfAborted();
    const ins = step.expanded;
    const id = ++state.stepCounter;
    const started = Date.now();
    const text = ins.original.trim();
    emit(state, { type: 'step-start', id, stage: stage.displayName, step: i + 1, steps: steps.length, text, line: ins.location.startLine });
    if (ins.kind === 'arg') {
      // ARG only changes the expansion scope (the plan has applied it); it is no link in the key
      // chain: the steps that read an arg have its value in their own keys, as in BuildKit.
      emit(state, { type: 'step-done', id, durationMs: 0, layer: false, cached: false });
      continue;
    }
    // A step boundary: intermediate layers hashed meanwhile move into the store now.
    await state.deferred.flush({ wait: false, pinned: state.viewDirs });
    for (const [j, d] of dirs.entries()) dirs[j] = state.deferred.pathOf(d);
    const key = keys[i]!;
    const entry = entries[i];
    let reused: CachedStepLayer | null | undefined;
    if (entry) reused = await reuseEntry(state.cache, entry, state.pendingBlobs, true);
    const hit = entry !== undefined && reused !== undefined;
    let stepCreated = hit ? entry.createdAt : state.created;
    let layer: CachedStepLayer | undefined = hit ? (reused ?? undefined) : undefined;
    let made: FreshLayer | undefined;
    let cacheMounts: string[] | undefined;
    const historyEntry = (emptyLayer: boolean): HistoryEntry => ({ created: stepCreated, created_by: historyText(ins, cc, step.args), comment: 'obox.containerfile.v0', ...(emptyLayer ? { empty_layer: true } : {}) });
    if (ins.kind === 'run') {
      cacheMounts = resolveMounts(ins.mounts).flatMap((m) => (m.type === 'cache' ? [m.id] : []));
      if (!hit) layer = made = await fresh(state, await runRunStep(state, step, cc, dirs, id, !withBlob), withBlob);
      history.push(historyEntry(!layer));
    } else if (ins.kind === 'copy' || ins.kind === 'add') {
      if (ins.kind === 'add' && ins.checksum === undefined && ins.sources.some((s) => s.kind === 'path' && isHttpSource(s.path))) state.dependsOn.remote = true;
      if (!hit) {
        const ctx: CopyStepContext = {
          context: state.context,
          workdir: cc.WorkingDir || '/',
          rootfsOf: (from) => rootfsOf(state, from),
          tempDir: state.scratchDir,
          sourceDateEpoch: state.opts.sourceDateEpoch,
          source: state.plan.source,
          signal: state.opts.signal,
        };
        const r = await withStepFilesystem(state.fs, dirs, (rootfs) => copyStep(ins, rootfs, ctx), { deferSync: !withBlob });
        layer = made = await fresh(state, r.layer, withBlob);
      }
      history.push(historyEntry(!layer));
    } else if (ins.kind === 'workdir') {
      cc = applyMetadata(cc, ins, flags)!;
      const wd = cc.WorkingDir!;
      const user = cc.User;
      if (!hit) {
        const r = await withStepFilesystem(state.fs, dirs, async (rootfs) => {
          const owner = user ? await resolveUser(rootfs, user) : undefined;
          await mkdirAllInRoot(rootfs, wd, owner ? { owner: { uid: owner.uid, gid: owner.gid } } : {});
        }, { deferSync: !withBlob });
        layer = made = await fresh(state, r.layer, withBlob);
      }
      history.push(historyEntry(!layer));
    } else if (ins.kind === 'maintainer') {
      config = { ...config, author: ins.maintainer };
      history.push(historyEntry(true));
    } else {
      const next = applyMetadata(cc, ins, flags);
      if (next) cc = next;
      history.push(historyEntry(true));
    }
    const record = stepRecord({
      plan: state.plan,
      previous: state.previous,
      noCache: state.opts.noCache === true,
      stage,
      position: i + 1,
      line: ins.location.startLine,
      key,
      text,
      hit,
      previousStep,
      cacheOn,
      entryFound: entry !== undefined,
    });
    state.record.push(record);
    if (hit) {
      state.stats.hits++;
      await state.cache.index.touch(key.key);
      state.dependsOn.entryFiles.push(state.cache.index.entryPath(key.key));
      if (reused) state.dependsOn.storeFiles.push(reused.dir);
      if (entry.layer?.digest) state.dependsOn.storeFiles.push(state.opts.store.blobs.path(Digest.parse(entry.layer.digest)));
    } else {
      state.stats.misses++;
      const newEntry: BuildCacheEntry = {
        key: key.key,
        inputs: key.inputs,
        layer: null,
        createdAt: state.created,
        lastUsedAt: new Date().toISOString(),
        containerfile: state.plan.source.file,
        line: ins.location.startLine,
        text,
        stage: stage.displayName,
        ...(cacheMounts && cacheMounts.length > 0 ? { cacheMounts } : {}),
      };
      // An entry that could not be used (its layer is gone), or one --no-cache bypassed, is
      // replaced by what this build made; otherwise the first writer wins.
      const winner = await recordMiss(state, newEntry, made, cacheOn && entry === undefined ? 'record' : 'update');
      if (winner) {
        layer = winner.layer;
        stepCreated = winner.createdAt;
        const { empty_layer: _mine, ...last } = history[history.length - 1]!;
        history[history.length - 1] = layer ? { ...last, created: stepCreated } : { ...last, created: stepCreated, empty_layer: true };
      }
    }
    if (layer) {
      layers.push(layer.layer);
      dirs.push(layer.dir);
    }
    created = laterTime(created, stepCreated);
    parent = { kind: 'step', key: key.key };
    previousStep = record;
    emit(state, { type: 'step-done', id, durationMs: Date.now() - started, layer: layer !== undefined, cached: hit });
  }
  config = { ...config, config: cc, history, created: created ?? base.config.created ?? state.created };
  return { config, layers, dirs, scope: evaluation.final, parent, created };
}

/** A layer this build made, and what its cache entry will record (a diffID still being hashed, for an intermediate stage). */
interface FreshLayer extends CachedStepLayer {
  cached: CachedLayer | Hashing;
}

/** A fresh step layer, on its way into the store (undefined: the step changed nothing). */
async function fresh(state: BuildState, step: StepLayer | undefined, withBlob: boolean): Promise<FreshLayer | undefined> {
  if (!step) return undefined;
  // Only a diffID is needed, and it can wait: flushed and hashed while the next steps run.
  if (!withBlob) return { layer: step.layer, dir: step.dir, cached: state.deferred.hash(step.dir, !step.synced) };
  const { stored, cached } = await storeStepLayer(state.cache, step);
  state.newBlobs.add(stored.layer);
  return { ...stored, cached };
}

/**
 * Records the entry of a step that ran, in step order (deferred-records.ts). When a concurrent
 * build recorded the same step first, returns its result to continue from, so the chain after
 * this step and every image built from it agree with the cache.
 */
async function recordMiss(state: BuildState, entry: BuildCacheEntry, made: FreshLayer | undefined, mode: 'record' | 'update'): Promise<{ layer: CachedStepLayer | undefined; createdAt: string } | undefined> {
  if (made && 'result' in made.cached) {
    state.deferred.enqueue(entry, mode, made.cached);
    return undefined;
  }
  entry.layer = made ? (made.cached as CachedLayer) : null;
  if (mode === 'update' || !state.deferred.empty) {
    state.deferred.enqueue(entry, mode);
    await state.deferred.flush({ wait: false, pinned: state.viewDirs });
    return undefined;
  }
  if ((await state.cache.index.record(entry.key, entry)) === 'recorded') return undefined;
  const winner = await state.cache.index.lookup(entry.key);
  const theirs = winner ? await reuseEntry(state.cache, winner, state.pendingBlobs) : undefined;
  return winner && theirs !== undefined ? { layer: theirs ?? undefined, createdAt: winner.createdAt } : undefined;
}

async function runRunStep(state: BuildState, step: StepContext, cc: ContainerConfig, dirs: string[], id: number, deferSync: boolean) {
  const ins = step.expanded;
  if (ins.kind !== 'run') throw new Error('not a RUN step');
  const scratch = await mkdtemp(path.join(state.scratchDir, 'run-'));
  try {
    const { argv, files } = await runArgv(ins, cc, scratch);
    const mounts = await prepareRunMounts(resolveMounts(ins.mounts), {
      contextDir: state.opts.contextDir,
      cacheMountsDir: path.join(state.opts.store.paths.root, 'cache-mounts-v1'),
      rootfsOf: (from) => rootfsOf(state, from),
      secrets: state.opts.secrets ?? new Map(),
    });
    const env = [...step.env].map(([k, v]) => `${k}=${v}`);
    for (const [k, v] of step.proxyEnv) env.push(`${k}=${v}`);
    env.push(...mounts.env);
    const network = ins.network === 'none' ? 'none' : ins.network === 'host' ? 'host' : (state.opts.network ?? 'host');
    let failure: { exitCode: number; tail: string; runtimeError: string | undefined } | undefined;
    const r = await withStepFilesystem(state.fs, dirs, async (rootfs) => {
      const result = await runContainer({
        rootfs,
        args: argv,
        env,
        cwd: cc.WorkingDir || '/',
        user: cc.User || undefined,
        network,
        mounts: [...mounts.mounts, ...files.map((f) => ({ type: 'bind' as const, source: f.host, destination: f.container, readonly: true }))],
        stateDir: state.runtimeState,
        ...(state.opts.runtime ? { runtime: state.opts.runtime } : {}),
        ...(state.opts.signal ? { signal: state.opts.signal } : {}),
        onLine: (line, stream) => emit(state, { type: 'step-output', id, stream, line }),
      });
      if (result.exitCode !== 0) {
        failure = { exitCode: result.exitCode, tail: result.outputTail, runtimeError: result.runtimeError };
        throw new Error('step failed');
      }
    }, { deferSync }).catch((e: unknown) => {
      if (failure) {
        const what = argv.join(' ');
        const detail = [failure.runtimeError ? `  runtime: ${failure.runtimeError}` : '', failure.tail ? lastLines(failure.tail, 20) : ''].filter(Boolean).join('\n');
        throw stepFailed(state, ins, `process "${what.length > 200 ? `${what.slice(0, 200)}…` : what}" did not complete successfully: exit code: ${failure.exitCode}`, detail || undefined);
      }
      throw e;
    });
    return r.layer;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The root filesystem of a stage or image named in `--from` / `from=`, as a read-only path. */
async function rootfsOf(state: BuildState, from: string): Promise<string> {
  const byName = state.plan.allStages.find((s) => s.name === from.toLowerCase() || String(s.index) === from);
  let dirs: string[];
  if (byName) {
    const view = await stageView(state, byName.index);
    if (view === undefined) throw new OboxError(ErrorCodes.semantic, `stage ${from} has not been built yet`);
    return view;
  } else if (from === 'scratch') {
    dirs = [];
  } else {
    const image = await state.opts.store.image(from).catch((e: unknown) => {
      if (e instanceof OboxError && e.code === ErrorCodes.notFound) {
        throw new OboxError(ErrorCodes.notFound, `image ${from} (used with --from) not found in the store`, { hint: 'pull or import it first' });
      }
      throw e;
    });
    dirs = [];
    for (const layer of await image.layers()) dirs.push(await ensureLayerDir(state.opts.store, layer));
  }
  return readOnlyView(state, dirs);
}

/** The read-only view of a finished stage's result (one per stage and build); undefined before it ran. */
async function stageView(state: BuildState, index: number): Promise<string | undefined> {
  const result = state.results.get(index);
  if (!result) return undefined;
  let view = state.stageViews.get(index);
  if (!view) {
    view = readOnlyView(state, result.dirs);
    state.stageViews.set(index, view);
  }
  return view;
}

/** A read-only merged view of layer dirs, unmounted when the build ends. */
async function readOnlyView(state: BuildState, dirs: string[]): Promise<string> {
  dirs = dirs.map((d) => state.deferred.pathOf(d));
  for (const d of dirs) state.viewDirs.add(d);
  const stateDir = await mkdtemp(path.join(state.scratchDir, 'view-'));
  const mount = await mountOverlay({ layers: dirs, stateDir, linksDir: state.fs.linksDir, readOnly: true });
  state.views.push(mount);
  return mount.target;
}

export async function buildContext(opts: Pick<BuildOptions, 'contextDir' | 'containerfile'>): Promise<SourceTree> {
  const rules = await loadIgnoreRules({ contextDir: opts.contextDir, ...(opts.containerfile.path ? { containerfilePath: opts.containerfile.path } : {}) });
  return contextSource(opts.contextDir, rules.matcher, rules.source);
}

/** Parses and plans a build (warnings go to onEvent); `obox build` and `obox cache why` share it. */
export function planFor(opts: Pick<BuildOptions, 'containerfile' | 'platform' | 'buildArgs' | 'target' | 'onEvent'>): BuildPlan {
  const parsed = parseContainerfile(opts.containerfile.text, opts.containerfile.display);
  const file = parseInstructions(parsed);
  if (opts.platform) {
    const wanted = parsePlatform(opts.platform);
    const host = hostPlatform();
    if (wanted.os !== host.os || wanted.architecture !== host.architecture || (wanted.variant ?? '') !== (host.variant ?? '')) {
      throw new OboxError(ErrorCodes.usage, `cannot build for ${formatPlatform(wanted)} on this ${formatPlatform(host)} machine: obox runs RUN steps natively and has no emulation yet`, {
        hint: `leave --platform out, or use ${formatPlatform(host)}`,
      });
    }
  }
  const plan = planBuild(file, {
    ...(opts.buildArgs ? { buildArgs: opts.buildArgs } : {}),
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    ...(opts.platform ? { targetPlatform: parsePlatform(opts.platform) } : {}),
  });
  for (const w of [...parsed.warnings, ...plan.warnings]) {
    opts.onEvent?.({ type: 'warning', message: `${'line' in w && w.line ? `${parsed.file}:${w.line}: ` : ''}${w.message}` });
  }
  if (plan.unusedBuildArgs.length > 0) {
    opts.onEvent?.({ type: 'warning', message: `build args not consumed by any stage: ${plan.unusedBuildArgs.join(', ')}` });
  }
  return plan;
}

/** Runs a whole build. On failure or abort every mount, container and temp dir is removed. */
export async function build(opts: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const plan = planFor(opts);
  const root = opts.store.paths.root;
  const runtimeState = path.join(root, 'run-v1');
  await recoverAbandoned(opts.store, { runtimeStateDir: runtimeState });
  const scratchDir = await tempDirIn(opts.store.paths.tmp, 'build');
  const unregisterScratch = registerCleanup(() => rm(scratchDir, { recursive: true, force: true }));
  const linksDir = path.join(root, 'links-v1');
  await mkdir(path.join(scratchDir, 'layers'));
  await mkdir(linksDir, { recursive: true });
  await mkdir(runtimeState, { recursive: true });
  const lease = await Lease.create(opts.store.paths);
  const unregisterLease = registerCleanup(() => lease.release());
  const contextDir = await realpath(opts.contextDir).catch(() => path.resolve(opts.contextDir));
  const containerfileId = opts.containerfile.path ? path.resolve(opts.containerfile.path) : opts.containerfile.display;
  const [index, memo, previous, context] = await Promise.all([
    BuildIndex.open(opts.store.paths),
    loadHashMemo(opts.store.paths, contextDir),
    readBuildRecord(opts.store.paths, containerfileId, contextDir),
    buildContext(opts),
  ]);
  const layerOptions = { overlay: { xattrs: 'trusted' as const }, ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}) };
  const results = new Map<number, StageResult>();
  const state: BuildState = {
    opts,
    plan,
    fs: { store: opts.store, layersDir: path.join(scratchDir, 'layers'), linksDir, sourceDateEpoch: opts.sourceDateEpoch, signal: opts.signal },
    runtimeState,
    scratchDir,
    results,
    context,
    stepCounter: 0,
    newBlobs: new Set(),
    deferred: new DeferredRecords(opts.store, index, layerOptions),
    viewDirs: new Set(),
    views: [],
    stageViews: new Map(),
    created: isoTime(opts.sourceDateEpoch),
    cache: { store: opts.store, index, lease, layerOptions },
    keys: keyContextFor(
      {
        store: opts.store,
        plan,
        context,
        contextDir,
        memo,
        sourceDateEpoch: opts.sourceDateEpoch,
        network: opts.network,
        tempDir: scratchDir,
        signal: opts.signal,
        stageRootfs: (i) => stageView(state, i),
      },
      results,
    ),
    memo,
    exported: exportedStages(plan),
    pendingBlobs: [],
    stats: { hits: 0, misses: 0, filesHashed: 0 },
    previous,
    record: [],
    dependsOn: { entryFiles: [], storeFiles: [], remote: false },
  };
  const saveRecord = async (): Promise<void> => {
    if (state.record.length === 0) return;
    await writeBuildRecord(opts.store.paths, {
      containerfile: containerfileId,
      context: contextDir,
      ...(opts.target !== undefined ? { target: opts.target } : {}),
      createdAt: new Date().toISOString(),
      noCache: opts.noCache === true,
      steps: state.record,
    });
  };
  try {
    for (const [position, stage] of plan.stages.entries()) {
      state.results.set(stage.index, await runStage(state, stage, position + 1));
    }
    // Every step has run: the views can go, and the queued entries get recorded.
    for (const v of state.views.splice(0)) await v.unmount();
    state.viewDirs.clear();
    state.stageViews.clear();
    await state.deferred.flush({ wait: true });
    const final = state.results.get(plan.target.index)!;
    let cc = final.config.config ?? {};
    if (opts.labels && Object.keys(opts.labels).length > 0) cc = { ...cc, Labels: { ...(cc.Labels ?? {}), ...opts.labels } };
    const { rootfs: _ignored, ...configWithoutRootfs } = final.config;
    const image = composeImage({ format: 'oci', config: { ...configWithoutRootfs, config: cc, rootfs: { type: 'layers', diff_ids: [] } }, layers: final.layers });
    const tags = opts.tags ?? [];
    await opts.store.putImage(image, tags);
    const used = new Set(final.layers);
    await recordPendingBlobs(state.cache, state.pendingBlobs, used);
    let newBytes = 0;
    for (const layer of final.layers) if (state.newBlobs.has(layer)) newBytes += await layer.size();
    const names = tags.map((t) => normalizeReference(t).toString());
    state.stats.filesHashed = memo.hashed;
    const [id, digest] = [await image.configDigest(), await image.digest()];
    const blobPath = (d: string): string => opts.store.blobs.path(Digest.parse(d));
    const imageFiles = [blobPath(digest), blobPath(id), ...(await Promise.all(final.layers.map(async (l) => blobPath(await l.digest()))))];
    return {
      image,
      id,
      digest,
      names,
      layers: final.layers.length,
      newBytes,
      durationMs: Date.now() - started,
      cache: state.stats,
      dependsOn: {
        ...state.dependsOn,
        storeFiles: [...new Set([...state.dependsOn.storeFiles, ...imageFiles])],
        contextDir,
        buildRecordFile: buildRecordPath(opts.store.paths, containerfileId, contextDir),
      },
    };
  } finally {
    for (const v of state.views) await v.unmount().catch(() => undefined);
    // What this build learned stays useful even when it failed: the files it hashed, the
    // steps it ran (for `cache why`).
    await Promise.allSettled([memo.save(), saveRecord()]);
    await state.deferred.close().catch(() => undefined);
    await rm(scratchDir, { recursive: true, force: true });
    await lease.release().catch(() => undefined);
    unregisterLease();
    unregisterScratch();
  }
}

/** The target stage and the stages it is based on (FROM <stage>): their layers reach the image. */
export function exportedStages(plan: BuildPlan): Set<number> {
  const out = new Set<number>();
  let stage: PlannedStage | undefined = plan.target;
  while (stage && !out.has(stage.index)) {
    out.add(stage.index);
    const base: PlannedStage['base'] = stage.base;
    stage = base.kind === 'stage' ? plan.allStages[base.index] : undefined;
  }
  return out;
}
