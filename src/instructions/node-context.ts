/**
 * One node being turned into an instruction: its location, its flags, its arguments in the shapes
 * the instruction parsers need, and errors pointing at it.
 */
import { ErrorCodes, type ContainerfileError } from '../errors.js';
import type { InstructionNode } from '../containerfile/nodes.js';
import { parseFlags, type FlagSpec, type ParsedFlags } from './flags.js';
import { errorAtArgs, errorAtFlag, errorAtKeyword, errorAtWord, type ErrorOptions, type SourceInfo } from './source.js';
import type { CommandLine, InstructionKind, InstructionLocation } from './types.js';

export class NodeContext {
  readonly location: InstructionLocation;
  /** Uppercase keyword, for messages (`COPY`). */
  readonly keyword: string;

  constructor(
    readonly source: SourceInfo,
    readonly node: InstructionNode,
  ) {
    this.location = { startLine: node.startLine, endLine: node.endLine, keywordPos: node.keywordPos, argsPos: node.argsPos };
    this.keyword = node.keyword.toUpperCase();
  }

  /** The fields every instruction has. */
  base<K extends InstructionKind>(kind: K): { kind: K; keyword: string; location: InstructionLocation; original: string } {
    return { kind, keyword: this.node.keywordText, location: this.location, original: this.node.original };
  }

  flags<S extends FlagSpec>(spec: S): ParsedFlags<S> {
    return parseFlags({ source: this.source, location: this.location, keyword: this.keyword, flags: this.node.flags }, spec);
  }

  /** Rejects any flag: for instructions that take none. */
  noFlags(): void {
    this.flags({});
  }

  /** A syntax error (wrong number or shape of arguments) on the keyword. */
  syntaxError(message: string, hint?: string): ContainerfileError {
    return errorAtKeyword(this.source, this.location, this.node.keywordText, message, { hint, code: ErrorCodes.syntax });
  }

  /** A semantic error on the arguments. */
  argsError(message: string, options: ErrorOptions = {}): ContainerfileError {
    return errorAtArgs(this.source, this.location, message, options);
  }

  /** A semantic error on one word of the arguments. */
  wordError(word: string, message: string, options: ErrorOptions = {}): ContainerfileError {
    return errorAtWord(this.source, this.location, word, message, options);
  }

  /** A semantic error on a flag (`occurrence` picks one of several). */
  flagError(name: string, message: string, options: ErrorOptions & { occurrence?: number } = {}): ContainerfileError {
    return errorAtFlag(this.source, this.location, name, message, options);
  }

  /** True when the arguments were written as a JSON array. */
  get json(): boolean {
    return this.node.args.kind === 'json';
  }

  /** The arguments as a list: JSON items, words, the one string, or nothing. */
  list(): string[] {
    const args = this.node.args;
    switch (args.kind) {
      case 'json':
        return args.items;
      case 'words':
        return args.words;
      case 'string':
        return args.text === '' ? [] : [args.text];
      default:
        return [];
    }
  }

  /** Exec form for a JSON array, shell form otherwise (an empty shell command when there are no arguments). */
  commandLine(): CommandLine {
    const args = this.node.args;
    if (args.kind === 'json') return { form: 'exec', args: args.items };
    return { form: 'shell', command: args.kind === 'string' ? args.text : '' };
  }

  atLeastOne(): never {
    throw this.syntaxError(`${this.keyword} requires at least one argument`, this.usage());
  }

  exactlyOne(): never {
    throw this.syntaxError(`${this.keyword} requires exactly one argument`, this.usage());
  }

  usage(): string | undefined {
    const usage = USAGE[this.node.keyword];
    return usage === undefined ? undefined : `usage: ${usage}`;
  }
}

const USAGE: Readonly<Record<string, string>> = {
  add: 'ADD [--chown=u:g] [--chmod=mode] src... dest',
  arg: 'ARG NAME[=default] ...',
  cmd: 'CMD ["executable", "arg"] or CMD command line',
  copy: 'COPY [--from=stage] [--chown=u:g] [--chmod=mode] src... dest',
  entrypoint: 'ENTRYPOINT ["executable", "arg"] or ENTRYPOINT command line',
  env: 'ENV NAME=value ...',
  expose: 'EXPOSE port[/tcp|udp|sctp] ...',
  from: 'FROM [--platform=os/arch] image [AS name]',
  healthcheck: 'HEALTHCHECK [--interval=30s ...] CMD command, or HEALTHCHECK NONE',
  label: 'LABEL key=value ...',
  maintainer: 'MAINTAINER name',
  onbuild: 'ONBUILD INSTRUCTION args',
  run: 'RUN command, or RUN ["executable", "arg"]',
  shell: 'SHELL ["executable", "param"]',
  stopsignal: 'STOPSIGNAL SIGTERM',
  user: 'USER user[:group]',
  volume: 'VOLUME /path ... or VOLUME ["/path"]',
  workdir: 'WORKDIR /path',
};
