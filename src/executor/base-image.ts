/** The image a stage starts from (the store, or an archive for air-gapped bases) and its ONBUILD triggers. */
import path from 'node:path';
import type { Store } from '../cache/store/index.js';
import { parseContainerfile } from '../containerfile/parser.js';
import { ContainerfileError, ErrorCodes, OboxError } from '../errors.js';
import type { Image } from '../image/index.js';
import { parseInstructions, type Instruction } from '../instructions/index.js';
import { evaluateStage, type BuildPlan, type PlannedStage, type StageBase, type StageEvaluation } from '../plan/index.js';

export interface BaseEnv {
  store: Store;
  contextDir: string;
  plan: BuildPlan;
}

const ARCHIVE_BASE = /^(docker-archive|oci-archive):(.+)$/;

/**
 * `FROM docker-archive:FILE` / `oci-archive:FILE[:NAME]` (air-gapped bases): the archive goes
 * through the validating loader into the store, then is used like any stored image. A relative
 * FILE is relative to the build context.
 */
async function archiveBase(env: BaseEnv, transport: string, spec: string, stage: PlannedStage): Promise<Image> {
  const { loadFile } = await import('../writers/index.js');
  let file = spec;
  let name: string | undefined;
  const colon = spec.lastIndexOf(':');
  if (colon > 0 && !spec.slice(colon + 1).includes('/')) {
    file = spec.slice(0, colon);
    name = spec.slice(colon + 1);
  }
  const abs = path.resolve(env.contextDir, file);
  const loaded = await loadFile(env.store, abs).catch((e: unknown) => {
    if (e instanceof OboxError && e.code === ErrorCodes.notFound) throw baseNotFound(env, `${transport}:${spec}`, stage, `no archive at ${abs}`);
    throw e;
  });
  const pick = name === undefined ? loaded.images[0] : loaded.images.find((i) => i.names.some((n) => n === name || n.endsWith(`/${name}`) || n.includes(name!)));
  if (!pick) throw baseNotFound(env, `${transport}:${spec}`, stage, `the archive holds ${loaded.images.flatMap((i) => i.names).join(', ') || 'unnamed images'}`);
  return env.store.image(pick.manifestDigest);
}

function baseNotFound(env: BaseEnv, ref: string, stage: PlannedStage, hint: string, where = ''): ContainerfileError {
  const from = stage.stage.from;
  return new ContainerfileError(
    ErrorCodes.notFound,
    `base image ${ref} not found${where}`,
    {
      file: env.plan.source.file,
      line: from.location.argsPos.line,
      column: from.location.argsPos.column,
      length: ref.length,
      lineText: env.plan.source.lines[from.location.argsPos.line - 1],
    },
    { hint },
  );
}

export async function loadBaseImage(env: BaseEnv, ref: string, stage: PlannedStage): Promise<Image> {
  const archive = ARCHIVE_BASE.exec(ref);
  if (archive) return archiveBase(env, archive[1]!, archive[2]!, stage);
  try {
    return await env.store.image(ref);
  } catch (e) {
    if (e instanceof OboxError && e.code === ErrorCodes.notFound) {
      throw baseNotFound(env, ref, stage, `pull or import it first (obox import ROOTFS.tar -t ${ref}, or obox load -i IMAGE.tar)`, ' in the store');
    }
    throw e;
  }
}

/** Parses the trigger texts an image's config carries (`ONBUILD RUN x` stores `RUN x`). */
export function onbuildTriggers(texts: readonly string[], base: string): Instruction[] {
  if (texts.length === 0) return [];
  const file = `<ONBUILD triggers of ${base}>`;
  const parsed = parseInstructions(parseContainerfile(`FROM scratch\n${texts.join('\n')}\n`, file));
  return parsed.stages[0]!.instructions;
}


/**
 * A stage's steps as the build runs them and `cache why` keys them: the base image's ONBUILD
 * triggers first, then the stage's own instructions, evaluated from the base's scope; FROM left out.
 */
export function stageSteps(plan: BuildPlan, stage: PlannedStage, onBuild: readonly string[], baseDisplay: string, baseScope: StageBase): StageEvaluation {
  const triggers = onbuildTriggers(onBuild, baseDisplay);
  const withTriggers = triggers.length > 0 ? { ...stage, stage: { ...stage.stage, instructions: [...triggers, ...stage.stage.instructions] } } : stage;
  const evaluation = evaluateStage(plan, withTriggers, baseScope);
  return { ...evaluation, steps: evaluation.steps.filter((s) => s.expanded.kind !== 'from') };
}
