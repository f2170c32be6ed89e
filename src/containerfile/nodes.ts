/**
 * The node tree: what the Containerfile text says, before any meaning is given to it.
 * One node per instruction, with its flags as written, its arguments shaped the way BuildKit's
 * parser shapes them, its heredocs, and where it sits in the file.
 */

/** 1-based position in the file. */
export interface Position {
  line: number;
  column: number;
}

export interface SourceRange {
  start: Position;
  end: Position;
}

export interface Directive {
  /** Lowercased name: `syntax`, `escape` or `check`. */
  name: string;
  value: string;
  line: number;
}

export interface Heredoc {
  /** The delimiter word with quotes removed, e.g. `EOF`. */
  name: string;
  /** False when any part of the delimiter was quoted (`<<"EOF"`, `<<'EOF'`): the body is not expanded. */
  expand: boolean;
  /** `<<-EOF`: leading tabs are stripped from the body lines and the terminator. */
  chomp: boolean;
  /** `3<<EOF` gives 3; 0 when absent. */
  fileDescriptor: number;
  /** The body, each line with its newline, as written (tabs not yet stripped). */
  content: string;
  /** Lines of the body: first line after the instruction through the terminator line. */
  startLine: number;
  endLine: number;
}

export interface Flag {
  /** As written, quotes and escapes removed, with the leading `--`: `--from=build`, `--link`. */
  raw: string;
  name: string;
  /** `undefined` for a bare `--flag`. */
  value: string | undefined;
}

export interface KeyValue {
  key: string;
  /** Raw: quotes and escapes kept; expansion removes them later. */
  value: string;
  /** True for `key=value`, false for the legacy `KEY value` form. */
  hasEquals: boolean;
}

/** The arguments of an instruction, shaped by its keyword the way BuildKit's line parsers shape them. */
export type NodeArgs =
  /** Exec form: a valid JSON array of strings. */
  | { kind: 'json'; items: string[] }
  /** Shell form / single string (RUN, CMD, ENTRYPOINT, SHELL, USER, WORKDIR, MAINTAINER, STOPSIGNAL). */
  | { kind: 'string'; text: string }
  /** Whitespace-split words (FROM, EXPOSE, COPY/ADD/VOLUME in non-JSON form). ARG: quote-aware words. */
  | { kind: 'words'; words: string[] }
  /** ENV and LABEL. */
  | { kind: 'pairs'; pairs: KeyValue[] }
  /** ONBUILD: the trigger, itself a node. */
  | { kind: 'onbuild'; trigger: InstructionNode }
  /** HEALTHCHECK: `NONE`, or `CMD` followed by a command in JSON or string form. */
  | { kind: 'healthcheck'; type: string; command: { kind: 'json'; items: string[] } | { kind: 'string'; text: string } | undefined }
  /** No arguments at all (e.g. a bare `RUN`); later stages reject what needs arguments. */
  | { kind: 'none' };

export interface InstructionNode {
  /** Lowercased keyword: `run`, `copy`, … (unknown keywords are kept; the instruction layer rejects them). */
  keyword: string;
  /** The keyword as written, for messages. */
  keywordText: string;
  flags: Flag[];
  args: NodeArgs;
  heredocs: Heredoc[];
  /** The logical line: continuation lines joined the way BuildKit joins them, comments removed. */
  original: string;
  /** First line of the instruction through the last line (its heredoc terminators included). */
  startLine: number;
  endLine: number;
  /** Where the keyword starts (line, column). */
  keywordPos: Position;
  /** Where the arguments start (after the flags), for error carets; equals keywordPos when absent. */
  argsPos: Position;
  /** Comment lines directly above the instruction, `#` removed and trimmed. */
  comments: string[];
}

export interface ParsedContainerfile {
  /** Display name for messages: the path as given, or `<stdin>`. */
  file: string;
  directives: Directive[];
  /** `\` or a backtick. */
  escape: '\\' | '`';
  nodes: InstructionNode[];
  warnings: ParseWarning[];
  /** The physical lines of the file (BOM removed, line endings removed), for error carets. */
  lines: string[];
}

export interface ParseWarning {
  message: string;
  line: number;
}
