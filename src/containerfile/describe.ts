/**
 * A plain-data view of a parsed Containerfile: what `obox parse --json` prints. It shows the file
 * as written: no expansion. Arguments follow BuildKit's parser shapes.
 */
import type { Heredoc, InstructionNode, NodeArgs, ParsedContainerfile } from './nodes.js';

/** A heredoc as `obox parse --json` shows it: exactly the node's. */
export type DescribedHeredoc = Heredoc;

export interface DescribedInstruction {
  keyword: string;
  startLine: number;
  endLine: number;
  flags: string[];
  /** True when the arguments were written in exec (JSON array) form. */
  json: boolean;
  args: Array<string | { key: string; value: string }>;
  heredocs: DescribedHeredoc[];
  /** ONBUILD only: the trigger instruction. */
  trigger?: DescribedInstruction;
}

export interface DescribedStage {
  index: number;
  name: string | undefined;
  base: string | undefined;
  startLine: number;
  /** Indexes into `instructions`. */
  instructions: number[];
}

export interface DescribedContainerfile {
  file: string;
  escape: string;
  directives: Array<{ name: string; value: string; line: number }>;
  stages: DescribedStage[];
  /** Instructions before the first FROM (meta ARGs), as indexes into `instructions`. */
  metaArgs: number[];
  instructions: DescribedInstruction[];
  warnings: Array<{ message: string; line: number }>;
}

function describeArgs(args: NodeArgs): { json: boolean; args: DescribedInstruction['args'] } {
  switch (args.kind) {
    case 'json':
      return { json: true, args: args.items };
    case 'string':
      return { json: false, args: [args.text] };
    case 'words':
      return { json: false, args: args.words };
    case 'pairs':
      return { json: false, args: args.pairs.map(({ key, value }) => ({ key, value })) };
    case 'onbuild':
      return { json: false, args: [args.trigger.original.trim()] };
    case 'healthcheck': {
      const cmd = args.command;
      if (!cmd) return { json: false, args: [args.type] };
      return cmd.kind === 'json' ? { json: true, args: [args.type, ...cmd.items] } : { json: false, args: [args.type, cmd.text] };
    }
    case 'none':
      return { json: false, args: [] };
  }
}

export function describeInstruction(node: InstructionNode): DescribedInstruction {
  const { json, args } = describeArgs(node.args);
  const out: DescribedInstruction = {
    keyword: node.keyword,
    startLine: node.startLine,
    endLine: node.endLine,
    flags: node.flags.map((f) => f.raw),
    json,
    args,
    heredocs: node.heredocs.map((h) => ({ ...h })),
  };
  if (node.args.kind === 'onbuild') out.trigger = describeInstruction(node.args.trigger);
  return out;
}

function stageName(node: InstructionNode): { base: string | undefined; name: string | undefined } {
  if (node.args.kind !== 'words') return { base: undefined, name: undefined };
  const [base, as, name] = node.args.words;
  return { base, name: as?.toLowerCase() === 'as' ? name : undefined };
}

export function describeContainerfile(parsed: ParsedContainerfile): DescribedContainerfile {
  const instructions = parsed.nodes.map(describeInstruction);
  const stages: DescribedStage[] = [];
  const metaArgs: number[] = [];
  parsed.nodes.forEach((node, i) => {
    if (node.keyword === 'from') {
      stages.push({ index: stages.length, ...stageName(node), startLine: node.startLine, instructions: [i] });
    } else if (stages.length === 0) {
      metaArgs.push(i);
    } else {
      stages.at(-1)!.instructions.push(i);
    }
  });
  return {
    file: parsed.file,
    escape: parsed.escape,
    directives: parsed.directives.map((d) => ({ ...d })),
    stages,
    metaArgs,
    instructions,
    warnings: parsed.warnings.map((w) => ({ ...w })),
  };
}

/** The readable listing `obox parse` prints without --json. */
export function formatContainerfile(d: DescribedContainerfile): string {
  const out: string[] = [];
  const n = d.instructions.length;
  out.push(`${d.file}: ${d.stages.length} stage${d.stages.length === 1 ? '' : 's'}, ${n} instruction${n === 1 ? '' : 's'}`);
  for (const dir of d.directives) out.push(`# ${dir.name}=${dir.value}`);
  const width = String(Math.max(1, ...d.instructions.map((i) => i.startLine))).length;
  const line = (i: number): string => {
    const ins = d.instructions[i]!;
    const flags = ins.flags.length > 0 ? ` ${ins.flags.join(' ')}` : '';
    const args = ins.args.map((a) => (typeof a === 'string' ? a : `${a.key}=${a.value}`));
    const shown = ins.json ? JSON.stringify(args) : args.join(' ');
    const heredocs = ins.heredocs.map((h) => `\n${' '.repeat(width + 4)}<<${h.name} (${h.content.split('\n').length - 1} lines)`).join('');
    return `  ${String(ins.startLine).padStart(width)}  ${ins.keyword.toUpperCase()}${flags} ${shown}${heredocs}`;
  };
  if (d.metaArgs.length > 0) {
    out.push('global:');
    for (const i of d.metaArgs) out.push(line(i));
  }
  for (const stage of d.stages) {
    out.push(`stage ${stage.index}${stage.name ? ` "${stage.name}"` : ''} from ${stage.base ?? '?'}:`);
    for (const i of stage.instructions) out.push(line(i));
  }
  return out.join('\n');
}
