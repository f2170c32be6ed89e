/**
 * `obox build`: Containerfile text → plan → stages in dependency order → an image in the store.
 * Each filesystem step (RUN, COPY, ADD, WORKDIR) runs on an overlay of its parent chain and
 * commits its upper dir as a layer; metadata steps change the config and add history.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { adoptLayerDir, ensureLayerDir } from '../cache/layers.js';
import type { Store } from '../cache/store/index.js';
import { parseContainerfile } from '../containerfile/parser.js';
import { ContainerfileError, ErrorCodes, OboxError } from '../errors.js';
import { composeImage, emptyConfig, normalizeReference, type ContainerConfig, type HistoryEntry, type Image, type ImageConfig, type Layer } from '../image/index.js';
import { parseInstructions, resolveMounts, type Instruction } from '../instructions/index.js';
import { DEFAULT_PATH, evaluateStage, formatPlatform, hostPlatform, parsePlatform, planBuild, type BuildPlan, type PlannedStage, type StageScope, type StepContext } from '../plan/index.js';
import type { BuildEventSink } from './events.js';
import { registerCleanup } from './cleanup.js';
import { applyMetadata, historyText, type StageFlags } from './metadata.js';
import { mkdirAllInRoot, resolveUser, runContainer } from './run/index.js';
import { mountOverlay } from './overlay/index.js';
import { prepareRunMounts, runArgv } from './run-step.js';
import { withStepFilesystem, type StepFsContext, type StepLayer } from './step-fs.js';
import { copyStep, type CopyStepContext } from './copy-step.js';
import { contextSource, type SourceTree } from './copy/index.js';
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
}

interface StageResult {
  config: ImageConfig;
  layers: Layer[];
  dirs: string[];
  scope: StageScope;
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
  /** Layers this build made, by Layer object: their provisional dirs. */
  stepLayers: Map<Layer, StepLayer>;
  created: string;
}

function emit(state: BuildState, event: Parameters<BuildEventSink>[0]): void {
  state.opts.onEvent?.(event);
}

function isoTime(epochSeconds: number | undefined): string {
  const d = epochSeconds !== undefined ? new Date(epochSeconds * 1000) : new Date();
  d.setMilliseconds(0);
  return d.toISOString().replace('.000Z', 'Z');
}

function withDefaultPath(config: ContainerConfig): ContainerConfig {
  const env = config.Env ?? [];
  return env.some((e) => e.startsWith('PATH=')) ? config : { ...config, Env: [...env, `PATH=${DEFAULT_PATH}`] };
}

/** What a stage starts from: an earlier stage's result (with its ARG/ENV scope), scratch, or an image. */
interface StageStart {
  config: ImageConfig;
  layers: Layer[];
  dirs: string[];
  /** Only for a stage base: expansion continues from its scope. */
  parentScope: StageScope | undefined;
  display: string;
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
    return { config: { ...config, config: { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: '/' } }, layers: [], dirs: [], parentScope: undefined, display: 'scratch' };
  }
  const image = await loadBaseImage(state, base.ref, stage);
  const [config, layers] = await Promise.all([image.config(), image.layers()]);
  const dirs: string[] = [];
  for (const layer of layers) dirs.push(await ensureLayerDir(state.opts.store, layer));
  return { config: { ...config, config: withDefaultPath(config.config ?? {}) }, layers: [...layers], dirs, parentScope: undefined, display: base.ref };
}

const ARCHIVE_BASE = /^(docker-archive|oci-archive):(.+)$/;

/**
 * `FROM docker-archive:FILE` / `oci-archive:FILE[:NAME]` (air-gapped bases): the archive goes
 * through the validating loader into the store, then is used like any stored image. A relative
 * FILE is relative to the build context.
 */
async function archiveBase(state: BuildState, transport: string, spec: string, stage: PlannedStage): Promise<Image> {
  const { loadFile } = await import('../writers/index.js');
  let file = spec;
  let name: string | undefined;
  const colon = spec.lastIndexOf(':');
  if (colon > 0 && !spec.slice(colon + 1).includes('/')) {
    file = spec.slice(0, colon);
    name = spec.slice(colon + 1);
  }
  const abs = path.resolve(state.opts.contextDir, file);
  const loaded = await loadFile(state.opts.store, abs).catch((e: unknown) => {
    if (e instanceof OboxError && e.code === ErrorCodes.notFound) throw baseNotFound(state, `${transport}:${spec}`, stage, `no archive at ${abs}`);
    throw e;
  });
  const pick = name === undefined ? loaded.images[0] : loaded.images.find((i) => i.names.some((n) => n === name || n.endsWith(`/${name}`) || n.includes(name!)));
  if (!pick) throw baseNotFound(state, `${transport}:${spec}`, stage, `the archive holds ${loaded.images.flatMap((i) => i.names).join(', ') || 'unnamed images'}`);
  return state.opts.store.image(pick.manifestDigest);
}

function baseNotFound(state: BuildState, ref: string, stage: PlannedStage, hint: string, where = ''): ContainerfileError {
  const from = stage.stage.from;
  return new ContainerfileError(
    ErrorCodes.notFound,
    `base image ${ref} not found${where}`,
    {
      file: state.plan.source.file,
      line: from.location.argsPos.line,
      column: from.location.argsPos.column,
      length: ref.length,
      lineText: state.plan.source.lines[from.location.argsPos.line - 1],
    },
    { hint },
  );
}

async function loadBaseImage(state: BuildState, ref: string, stage: PlannedStage): Promise<Image> {
  const archive = ARCHIVE_BASE.exec(ref);
  if (archive) return archiveBase(state, archive[1]!, archive[2]!, stage);
  try {
    return await state.opts.store.image(ref);
  } catch (e) {
    if (e instanceof OboxError && e.code === ErrorCodes.notFound) {
      throw baseNotFound(state, ref, stage, `pull or import it first (obox import ROOTFS.tar -t ${ref}, or obox load -i IMAGE.tar)`, ' in the store');
    }
    throw e;
  }
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
  const triggers = onbuildTriggers(cc.OnBuild ?? [], base.display);
  if (cc.OnBuild && cc.OnBuild.length > 0) cc = { ...cc, OnBuild: undefined };
  const withTriggers = triggers.length > 0 ? { ...stage, stage: { ...stage.stage, instructions: [...triggers, ...stage.stage.instructions] } } : stage;
  const evaluation = evaluateStage(state.plan, withTriggers, baseScope);
  const steps = evaluation.steps.filter((s) => s.expanded.kind !== 'from');

  for (const [i, step] of steps.entries()) {
    state.opts.signal?.throwIfAborted();
    const ins = step.expanded;
    const id = ++state.stepCounter;
    const started = Date.now();
    emit(state, { type: 'step-start', id, stage: stage.displayName, step: i + 1, steps: steps.length, text: ins.original.trim(), line: ins.location.startLine });
    let layer: StepLayer | undefined;
    if (ins.kind === 'run') {
      layer = await runRunStep(state, step, cc, dirs, id);
      history.push({ created: state.created, created_by: historyText(ins, cc, step.args), comment: 'obox.containerfile.v0', ...(layer ? {} : { empty_layer: true }) });
    } else if (ins.kind === 'copy' || ins.kind === 'add') {
      const ctx: CopyStepContext = {
        context: state.context,
        workdir: cc.WorkingDir || '/',
        rootfsOf: (from) => rootfsOf(state, from),
        tempDir: state.scratchDir,
        sourceDateEpoch: state.opts.sourceDateEpoch,
        source: state.plan.source,
        signal: state.opts.signal,
      };
      const r = await withStepFilesystem(state.fs, dirs, (rootfs) => copyStep(ins, rootfs, ctx));
      layer = r.layer;
      history.push({ created: state.created, created_by: historyText(ins, cc), comment: 'obox.containerfile.v0', ...(layer ? {} : { empty_layer: true }) });
    } else if (ins.kind === 'workdir') {
      cc = applyMetadata(cc, ins, flags)!;
      const wd = cc.WorkingDir!;
      const user = cc.User;
      const r = await withStepFilesystem(state.fs, dirs, async (rootfs) => {
        const owner = user ? await resolveUser(rootfs, user) : undefined;
        await mkdirAllInRoot(rootfs, wd, owner ? { owner: { uid: owner.uid, gid: owner.gid } } : {});
      });
      layer = r.layer;
      history.push({ created: state.created, created_by: historyText(ins, cc), comment: 'obox.containerfile.v0', ...(layer ? {} : { empty_layer: true }) });
    } else if (ins.kind === 'arg') {
      // ARG changes only the expansion scope (the plan has applied it).
    } else if (ins.kind === 'maintainer') {
      config = { ...config, author: ins.maintainer };
      history.push({ created: state.created, created_by: historyText(ins, cc), comment: 'obox.containerfile.v0', empty_layer: true });
    } else {
      const next = applyMetadata(cc, ins, flags);
      if (next) cc = next;
      history.push({ created: state.created, created_by: historyText(ins, cc), comment: 'obox.containerfile.v0', empty_layer: true });
    }
    if (layer) {
      layers.push(layer.layer);
      dirs.push(layer.dir);
      state.stepLayers.set(layer.layer, layer);
    }
    emit(state, { type: 'step-done', id, durationMs: Date.now() - started, layer: layer !== undefined, cached: false });
  }
  config = { ...config, config: cc, history, created: state.created };
  return { config, layers, dirs, scope: evaluation.final };
}

/** Parses the trigger texts an image's config carries (`ONBUILD RUN x` stores `RUN x`). */
function onbuildTriggers(texts: readonly string[], base: string): Instruction[] {
  if (texts.length === 0) return [];
  const file = `<ONBUILD triggers of ${base}>`;
  const parsed = parseInstructions(parseContainerfile(`FROM scratch\n${texts.join('\n')}\n`, file));
  return parsed.stages[0]!.instructions;
}

async function runRunStep(state: BuildState, step: StepContext, cc: ContainerConfig, dirs: string[], id: number) {
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
    }).catch((e: unknown) => {
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
    const result = state.results.get(byName.index);
    if (!result) throw new OboxError(ErrorCodes.semantic, `stage ${from} has not been built yet`);
    dirs = result.dirs;
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

/** A read-only merged view of layer dirs, unmounted when the build ends. */
async function readOnlyView(state: BuildState, dirs: string[]): Promise<string> {
  const stateDir = await mkdtemp(path.join(state.scratchDir, 'view-'));
  const mount = await mountOverlay({ layers: dirs, stateDir, linksDir: state.fs.linksDir, readOnly: true });
  state.views.push(mount);
  return mount.target;
}

async function buildContext(opts: BuildOptions): Promise<SourceTree> {
  const rules = await loadIgnoreRules({ contextDir: opts.contextDir, ...(opts.containerfile.path ? { containerfilePath: opts.containerfile.path } : {}) });
  return contextSource(opts.contextDir, rules.matcher, rules.source);
}

/** Runs a whole build. On failure or abort every mount, container and temp dir is removed. */
export async function build(opts: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
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
  const root = opts.store.paths.root;
  const scratchDir = await mkdtemp(path.join(opts.store.paths.tmp, 'build-'));
  const unregisterScratch = registerCleanup(() => rm(scratchDir, { recursive: true, force: true }));
  const linksDir = path.join(root, 'links-v1');
  const runtimeState = path.join(root, 'run-v1');
  await mkdir(path.join(scratchDir, 'layers'));
  await mkdir(linksDir, { recursive: true });
  await mkdir(runtimeState, { recursive: true });
  const state: BuildState = {
    opts,
    plan,
    fs: { store: opts.store, layersDir: path.join(scratchDir, 'layers'), linksDir, sourceDateEpoch: opts.sourceDateEpoch, signal: opts.signal },
    runtimeState,
    scratchDir,
    results: new Map(),
    context: await buildContext(opts),
    stepCounter: 0,
    stepLayers: new Map(),
    views: [],
    created: isoTime(opts.sourceDateEpoch),
  };
  try {
    for (const [position, stage] of plan.stages.entries()) {
      state.results.set(stage.index, await runStage(state, stage, position + 1));
    }
    const final = state.results.get(plan.target.index)!;
    let cc = final.config.config ?? {};
    if (opts.labels && Object.keys(opts.labels).length > 0) cc = { ...cc, Labels: { ...(cc.Labels ?? {}), ...opts.labels } };
    const { rootfs: _ignored, ...configWithoutRootfs } = final.config;
    const image = composeImage({ format: 'oci', config: { ...configWithoutRootfs, config: cc, rootfs: { type: 'layers', diff_ids: [] } }, layers: final.layers });
    const tags = opts.tags ?? [];
    await opts.store.putImage(image, tags);
    // The target's new layers are now committed (putImage needed their blobs): keep their dirs
    // in the store under their diffIDs, ready to be lower dirs of the next build. The other
    // stages' layers go with the scratch dir.
    let newBytes = 0;
    for (const layer of final.layers) {
      const step = state.stepLayers.get(layer);
      if (!step) continue;
      const committed = await step.layer.committed();
      newBytes += committed.size;
      await adoptLayerDir(opts.store, committed.diffId, step.dir, { alreadySynced: true });
    }
    const names = tags.map((t) => normalizeReference(t).toString());
    return {
      image,
      id: await image.configDigest(),
      digest: await image.digest(),
      names,
      layers: final.layers.length,
      newBytes,
      durationMs: Date.now() - started,
    };
  } finally {
    for (const v of state.views) await v.unmount().catch(() => undefined);
    await rm(scratchDir, { recursive: true, force: true });
    unregisterScratch();
  }
}
