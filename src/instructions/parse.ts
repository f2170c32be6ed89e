/**
 * Node → typed instruction, with BuildKit's argument rules and messages
 * (frontend/dockerfile/instructions/parse.go). Values stay unexpanded; see types.ts.
 */
import type { InstructionNode, KeyValue } from '../containerfile/nodes.js';
import { ErrorCodes } from '../errors.js';
import { NodeContext } from './node-context.js';
import { parseAdd, parseCopy } from './parse-copy.js';
import { parseHealthcheck } from './parse-healthcheck.js';
import { parseRun } from './parse-run.js';
import type { SourceInfo } from './source.js';
import { didYouMean } from './suggest.js';
import {
  INSTRUCTION_KEYWORDS,
  type ArgInstruction,
  type CmdInstruction,
  type EntrypointInstruction,
  type EnvInstruction,
  type ExposeInstruction,
  type FromInstruction,
  type Instruction,
  type KeyValuePair,
  type LabelInstruction,
  type MaintainerInstruction,
  type OnbuildInstruction,
  type ShellInstruction,
  type StopSignalInstruction,
  type UserInstruction,
  type VolumeInstruction,
  type WorkdirInstruction,
} from './types.js';

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

function parseFrom(ctx: NodeContext): FromInstruction {
  const flags = ctx.flags({ platform: 'string' } as const);
  const args = ctx.list();
  let stageName: string | undefined;
  if (args.length === 3 && args[1]!.toLowerCase() === 'as') {
    stageName = args[2]!.toLowerCase();
    if (!STAGE_NAME.test(stageName)) {
      throw ctx.wordError(args[2]!, `invalid name for build stage: ${JSON.stringify(args[2])}, name can't start with a number or contain symbols`, {
        hint: 'stage names start with a letter and use letters, digits, -, _ and .',
      });
    }
  } else if (args.length !== 1) {
    throw ctx.syntaxError('FROM requires either one or three arguments', ctx.usage());
  }
  return { ...ctx.base('from'), image: args[0]!, stageName, platform: flags.platform === '' ? undefined : flags.platform };
}

function pairs(ctx: NodeContext): KeyValuePair[] {
  ctx.noFlags();
  const args = ctx.node.args;
  if (args.kind !== 'pairs' || args.pairs.length === 0) ctx.atLeastOne();
  return args.pairs.map((p: KeyValue) => {
    if (p.key === '') throw ctx.argsError(`${ctx.keyword} names can not be blank`, { code: ErrorCodes.syntax, hint: ctx.usage() });
    return { key: p.key, value: p.value, hasEquals: p.hasEquals };
  });
}

/** The single string argument of USER, WORKDIR, MAINTAINER, STOPSIGNAL. */
function oneString(ctx: NodeContext): string {
  ctx.noFlags();
  const args = ctx.list();
  if (args.length !== 1) ctx.exactlyOne();
  return args[0]!;
}

function parseArg(ctx: NodeContext): ArgInstruction {
  ctx.noFlags();
  const words = ctx.list();
  if (words.length === 0) ctx.atLeastOne();
  const args = words.map((word) => {
    const eq = word.indexOf('=');
    const name = eq === -1 ? word : word.slice(0, eq);
    if (name === '') throw ctx.argsError('ARG names can not be blank', { code: ErrorCodes.syntax, hint: ctx.usage() });
    return { name, defaultValue: eq === -1 ? undefined : word.slice(eq + 1) };
  });
  return { ...ctx.base('arg'), args };
}

function parseShell(ctx: NodeContext): ShellInstruction {
  ctx.noFlags();
  const args = ctx.node.args;
  if (args.kind === 'none' || (args.kind === 'json' && args.items.length === 0)) ctx.atLeastOne();
  if (args.kind !== 'json') throw ctx.argsError('SHELL requires the arguments to be in JSON form', { code: ErrorCodes.syntax, hint: 'write SHELL ["/bin/bash", "-c"]' });
  return { ...ctx.base('shell'), shell: args.items };
}

function parseExpose(ctx: NodeContext): ExposeInstruction {
  ctx.noFlags();
  const ports = ctx.list();
  if (ports.length === 0) ctx.atLeastOne();
  return { ...ctx.base('expose'), ports };
}

function parseVolume(ctx: NodeContext): VolumeInstruction {
  ctx.noFlags();
  const list = ctx.list();
  if (list.length === 0) ctx.atLeastOne();
  const volumes = list.map((v) => {
    const trimmed = v.trim();
    if (trimmed === '') throw ctx.argsError('VOLUME specified can not be an empty string', { hint: ctx.usage() });
    return trimmed;
  });
  return { ...ctx.base('volume'), volumes };
}

function parseOnbuild(ctx: NodeContext): OnbuildInstruction {
  ctx.noFlags();
  const args = ctx.node.args;
  if (args.kind !== 'onbuild') ctx.atLeastOne();
  const trigger = args.trigger;
  const keyword = trigger.keyword.toUpperCase();
  const onTrigger = { code: ErrorCodes.syntax, length: trigger.keywordText.length };
  if (keyword === 'ONBUILD') throw ctx.argsError('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed', onTrigger);
  if (keyword === 'MAINTAINER' || keyword === 'FROM') throw ctx.argsError(`${keyword} isn't allowed as an ONBUILD trigger`, onTrigger);
  let expression = trigger.original.trim();
  for (const h of trigger.heredocs) expression += `\n${h.content}${h.name}`;
  return { ...ctx.base('onbuild'), trigger: parseInstruction(trigger, ctx.source), expression };
}

function parseCmd(ctx: NodeContext): CmdInstruction {
  ctx.noFlags();
  return { ...ctx.base('cmd'), command: ctx.commandLine() };
}

function parseEntrypoint(ctx: NodeContext): EntrypointInstruction {
  ctx.noFlags();
  return { ...ctx.base('entrypoint'), command: ctx.commandLine() };
}

const PARSERS: Readonly<Record<string, (ctx: NodeContext) => Instruction>> = {
  add: parseAdd,
  arg: parseArg,
  cmd: parseCmd,
  copy: parseCopy,
  entrypoint: parseEntrypoint,
  env: (ctx): EnvInstruction => ({ ...ctx.base('env'), pairs: pairs(ctx) }),
  expose: parseExpose,
  from: parseFrom,
  healthcheck: parseHealthcheck,
  label: (ctx): LabelInstruction => ({ ...ctx.base('label'), pairs: pairs(ctx) }),
  maintainer: (ctx): MaintainerInstruction => ({ ...ctx.base('maintainer'), maintainer: oneString(ctx) }),
  onbuild: parseOnbuild,
  run: parseRun,
  shell: parseShell,
  stopsignal: (ctx): StopSignalInstruction => ({ ...ctx.base('stopsignal'), signal: oneString(ctx) }),
  user: (ctx): UserInstruction => ({ ...ctx.base('user'), user: oneString(ctx) }),
  volume: parseVolume,
  workdir: (ctx): WorkdirInstruction => ({ ...ctx.base('workdir'), path: oneString(ctx) }),
};

/** One node → one typed instruction. Throws ContainerfileError located in `source`. */
export function parseInstruction(node: InstructionNode, source: SourceInfo): Instruction {
  const ctx = new NodeContext(source, node);
  const parse = Object.hasOwn(PARSERS, node.keyword) ? PARSERS[node.keyword] : undefined;
  if (parse === undefined) {
    throw ctx.syntaxError(`unknown instruction: ${node.keywordText}`, didYouMean(node.keywordText, INSTRUCTION_KEYWORDS) ?? `instructions are ${INSTRUCTION_KEYWORDS.join(', ')}`);
  }
  return parse(ctx);
}
