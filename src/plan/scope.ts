/**
 * ARG and ENV scoping inside a stage, as BuildKit's dispatcher does it (dockerfile2llb dispatchArg,
 * dispatchEnv): for each instruction, the environment to expand it with and the build args it
 * reads (for its cache key).
 *
 * - The stage starts with its base's environment: the base image's config Env (PATH added when
 *   missing, as BuildKit does), or everything a parent stage ended with (`FROM <stage>` inherits
 *   its ENV *and* its ARG values, as in BuildKit).
 * - `ARG NAME[=default]` declares NAME from that line to the end of the stage. Its value: the
 *   `--build-arg` if given; else the default expanded with the stage's environment; else, for a
 *   bare `ARG NAME`, the global value (a meta ARG, or an automatic platform arg); else none.
 *   A declared ARG with a value is in the environment of everything after it, RUN processes included.
 * - ENV sets a variable for everything after it. ARG and ENV of the same name: the later one wins
 *   (an ENV after an ARG overrides it; an ARG with a value after an ENV overrides it for the build,
 *   but only ENV reaches the image config).
 * - Proxy build args (HTTP_PROXY, …) reach RUN without an ARG line through `proxyEnv`, which stays
 *   out of the cache key and history; declared, they are ordinary ARGs.
 */
import type { Env } from '../containerfile/expand.js';
import type { ArgInstruction, EnvInstruction, Instruction, SourceInfo, Stage } from '../instructions/index.js';
import { isProxyArg } from './args.js';
import { Expander } from './expander.js';
import { expandInstruction } from './expand-instruction.js';

/** BuildKit's default PATH for Linux images that set none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What the scope needs from the plan. */
export interface ScopeInputs {
  source: SourceInfo;
  /** Meta ARGs with values and the automatic platform args. */
  globalArgs: ReadonlyMap<string, string>;
  buildArgs: ReadonlyMap<string, string>;
}

/** The variables of a stage at one point. Treat as immutable: each step gets a fresh one. */
export interface StageScope {
  /** Everything expansion sees: base env, ENV, ARG values; later settings replace earlier ones. */
  env: ReadonlyMap<string, string>;
  /** The image config's Env: base image env and ENV instructions only. */
  imageEnv: ReadonlyMap<string, string>;
  /** ARG names declared so far in the stage (or inherited from a parent stage), in order. */
  declared: ReadonlySet<string>;
  /** The names whose current value in `env` comes from an ARG (not ENV or the base image). */
  fromArg: ReadonlySet<string>;
}

export type StageBase = { imageEnv: readonly string[] } | { parent: StageScope };

export interface StepContext {
  instruction: Instruction;
  /** The environment to expand this instruction with. */
  env: ReadonlyMap<string, string>;
  /** The instruction with its values expanded (FROM, ARG and the unexpanded kinds: as written). */
  expanded: Instruction;
  /**
   * Build args this step depends on, name → value (for its cache key): for RUN every ARG in scope
   * with a value (they are in its process environment); for ARG the values it assigns and the args
   * its defaults read; for other steps the args their expansion read.
   */
  argsRead: ReadonlyMap<string, string>;
  /** ARGs in scope with a value, name → current value: RUN's build-arg environment (and history). */
  args: ReadonlyMap<string, string>;
  /** RUN only: proxy build args not declared with ARG; for the process, not the cache key. */
  proxyEnv: ReadonlyMap<string, string>;
  /** Variables referenced while expanding this step but not set. */
  unmatched: ReadonlySet<string>;
}

export interface StageEvaluation {
  steps: StepContext[];
  /** The scope after the last instruction: the base for `FROM <this stage>`. */
  final: StageScope;
}

function envFromList(list: readonly string[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of list) {
    const eq = entry.indexOf('=');
    env.set(eq === -1 ? entry : entry.slice(0, eq), eq === -1 ? '' : entry.slice(eq + 1));
  }
  return env;
}

/** The scope a stage starts with. */
export function beginStage(base: StageBase): StageScope {
  if ('parent' in base) return base.parent;
  const imageEnv = envFromList(base.imageEnv);
  if (!imageEnv.has('PATH')) imageEnv.set('PATH', DEFAULT_PATH);
  return { env: imageEnv, imageEnv, declared: new Set(), fromArg: new Set() };
}

function argsWithValues(scope: StageScope): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of scope.declared) {
    const value = scope.env.get(name);
    if (value !== undefined) out.set(name, value);
  }
  return out;
}

function applyArg(inputs: ScopeInputs, scope: StageScope, instruction: ArgInstruction): { scope: StageScope; read: Map<string, string>; unmatched: Set<string> } {
  const env = new Map(scope.env);
  const declared = new Set(scope.declared);
  const fromArg = new Set(scope.fromArg);
  const x = new Expander(inputs.source, instruction.location, env);
  const assigned = new Map<string, string>();
  for (const { name, defaultValue } of instruction.args) {
    let value: string | undefined;
    if (inputs.buildArgs.has(name)) value = inputs.buildArgs.get(name);
    else if (defaultValue !== undefined) value = x.word(defaultValue);
    else value = inputs.globalArgs.get(name);
    declared.delete(name); // re-declaring moves it last, like a fresh declaration
    declared.add(name);
    if (value !== undefined) {
      env.set(name, value);
      fromArg.add(name);
      assigned.set(name, value);
    }
  }
  const read = onlyArgs(x.matched, scope);
  for (const [name, value] of assigned) read.set(name, value);
  return { scope: { env, imageEnv: scope.imageEnv, declared, fromArg }, read, unmatched: x.unmatched };
}

function applyEnv(scope: StageScope, expanded: EnvInstruction): StageScope {
  const env = new Map(scope.env);
  const imageEnv = new Map(scope.imageEnv);
  const fromArg = new Set(scope.fromArg);
  for (const { key, value } of expanded.pairs) {
    env.set(key, value);
    imageEnv.set(key, value);
    fromArg.delete(key);
  }
  return { env, imageEnv, declared: scope.declared, fromArg };
}

function proxyEnvFor(inputs: ScopeInputs, scope: StageScope): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of inputs.buildArgs) if (isProxyArg(name) && !scope.declared.has(name)) out.set(name, value);
  return out;
}

const NONE: ReadonlyMap<string, string> = new Map();

/**
 * Walks a stage's instructions (FROM excluded) from `base`, giving each its environment, its
 * expanded form and the build args it reads. Expansion errors are located ContainerfileErrors.
 */
export function walkStage(inputs: ScopeInputs, stage: Stage, base: StageBase): StageEvaluation {
  let scope = beginStage(base);
  const steps: StepContext[] = [];
  for (const instruction of stage.instructions) {
    const env = scope.env;
    const args = argsWithValues(scope);
    if (instruction.kind === 'arg') {
      const applied = applyArg(inputs, scope, instruction);
      steps.push({ instruction, env, expanded: instruction, argsRead: applied.read, args, proxyEnv: NONE, unmatched: applied.unmatched });
      scope = applied.scope;
      continue;
    }
    const { instruction: expanded, matched, unmatched } = expandInstruction(instruction, env, inputs.source);
    const isRun = instruction.kind === 'run';
    steps.push({
      instruction,
      env,
      expanded,
      argsRead: isRun ? args : onlyArgs(matched, scope),
      args,
      proxyEnv: isRun ? proxyEnvFor(inputs, scope) : NONE,
      unmatched,
    });
    if (expanded.kind === 'env') scope = applyEnv(scope, expanded);
  }
  return { steps, final: scope };
}

/** The names among `names` whose current value comes from an ARG, with their values. */
function onlyArgs(names: Iterable<string>, scope: StageScope): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of names) {
    const value = scope.env.get(name);
    if (value !== undefined && scope.fromArg.has(name)) out.set(name, value);
  }
  return out;
}

/** The environment as an ordered `NAME=value` list (image config form). */
export function envList(env: Env): string[] {
  return [...env].map(([k, v]) => `${k}=${v}`);
}
