/**
 * Typed instructions: what each node of the Containerfile means, with its flags parsed into
 * typed fields and its location in the file.
 *
 * Values are kept as written, unexpanded (quotes and escapes included), because BuildKit expands
 * them with an environment only known while building: `plan/` expands FROM (image, --platform)
 * with the global args, and `plan/expand-instruction` the values BuildKit expands per step.
 * What is checked when the instruction is read, as BuildKit does at parse time: flag names and
 * shapes, argument counts, stage names, HEALTHCHECK durations and retries (never expanded),
 * RUN --network/--security values, and the `--mount` fields (keys; no variable in `from=`; the
 * whole mount when no value could change on expansion). Checked later: EXPOSE ports and USER
 * (`parseExposePort`, `parseUserSpec` after expansion), mounts with variables (`resolveMounts`),
 * COPY --from (a stage or an image: `plan/graph`, where a variable in it is rejected).
 */
import type { Heredoc, Position } from '../containerfile/nodes.js';
import type { MountSpec } from './mounts.js';

/** Where an instruction sits in the file. */
export interface InstructionLocation {
  startLine: number;
  endLine: number;
  /** Where the keyword starts. */
  keywordPos: Position;
  /** Where the arguments start (after the flags). */
  argsPos: Position;
}

interface Base<K extends string> {
  kind: K;
  /** The keyword as written (`copy`, `COPY`), for messages. */
  keyword: string;
  location: InstructionLocation;
  /** The logical line as written (continuations joined, comments removed). */
  original: string;
}

/** Exec form (`["a", "b"]`) or shell form (a string handed to the stage's SHELL). */
export type CommandLine = { form: 'exec'; args: string[] } | { form: 'shell'; command: string };

export interface FromInstruction extends Base<'from'> {
  /** The image or stage reference, unexpanded (meta ARGs expand it). */
  image: string;
  /** `AS name`, lowercased as BuildKit does; undefined when unnamed. */
  stageName: string | undefined;
  /** `--platform`, unexpanded. */
  platform: string | undefined;
}

export type NetworkMode = 'default' | 'none' | 'host';
export type SecurityMode = 'insecure' | 'sandbox';

export interface RunInstruction extends Base<'run'> {
  command: CommandLine;
  /** Heredocs of the shell form (`RUN <<EOF`), bodies as written. */
  heredocs: Heredoc[];
  /** `--mount` flags in order, fields unexpanded; `resolveMounts` types them after expansion. */
  mounts: MountSpec[];
  /** `--network`; undefined when not given (the build's default applies). */
  network: NetworkMode | undefined;
  /** `--security`; undefined when not given (sandbox). */
  security: SecurityMode | undefined;
}

export interface CmdInstruction extends Base<'cmd'> {
  command: CommandLine;
}

export interface EntrypointInstruction extends Base<'entrypoint'> {
  command: CommandLine;
}

export interface ShellInstruction extends Base<'shell'> {
  /** Always exec form: `SHELL ["/bin/bash", "-c"]`. */
  shell: string[];
}

export interface KeyValuePair {
  /** Raw: quotes and escapes kept; expansion removes them. */
  key: string;
  value: string;
  /** False for the legacy `ENV KEY value` form. */
  hasEquals: boolean;
}

export interface EnvInstruction extends Base<'env'> {
  pairs: KeyValuePair[];
}

export interface LabelInstruction extends Base<'label'> {
  pairs: KeyValuePair[];
}

export interface MaintainerInstruction extends Base<'maintainer'> {
  maintainer: string;
}

export interface ExposeInstruction extends Base<'expose'> {
  /** Raw words; after expansion each is `port[-end][/tcp|udp|sctp]` (see `parseExposePort`). */
  ports: string[];
}

export interface VolumeInstruction extends Base<'volume'> {
  volumes: string[];
}

export interface UserInstruction extends Base<'user'> {
  /** `user[:group]` as written; `parseUserSpec` splits it after expansion. */
  user: string;
}

export interface WorkdirInstruction extends Base<'workdir'> {
  path: string;
}

export interface ArgDeclaration {
  name: string;
  /** Raw default (unexpanded); undefined for `ARG NAME`. */
  defaultValue: string | undefined;
}

export interface ArgInstruction extends Base<'arg'> {
  args: ArgDeclaration[];
}

export interface StopSignalInstruction extends Base<'stopsignal'> {
  signal: string;
}

export interface OnbuildInstruction extends Base<'onbuild'> {
  /** The trigger, parsed (so it is validated now, as BuildKit does). */
  trigger: Instruction;
  /** The trigger text stored in the image config (`OnBuild`), heredoc bodies appended as BuildKit does. */
  expression: string;
}

/** Durations are nanoseconds, as in the image config; 0 means "not set". */
export type HealthcheckInstruction = Base<'healthcheck'> &
  (
    | { type: 'none' }
    | {
        type: 'cmd';
        command: CommandLine;
        interval: number;
        timeout: number;
        startPeriod: number;
        startInterval: number;
        /** 0 when not set. */
        retries: number;
      }
  );

export type CopySource =
  | { kind: 'path'; path: string }
  /** `COPY <<EOF /dest`: the body (tabs already stripped for `<<-`) becomes a file named `name`. */
  | { kind: 'heredoc'; name: string; content: string; expand: boolean };

interface SourcesAndDest {
  /** Sources in the order written; heredocs included. At least one. */
  sources: CopySource[];
  dest: string;
  /** True when written in exec (JSON array) form. */
  json: boolean;
  /** `--chown`, `--chmod`: unexpanded; undefined when absent. */
  chown: string | undefined;
  chmod: string | undefined;
  link: boolean;
  /** `--exclude` patterns (repeatable), unexpanded. */
  excludes: string[];
}

export interface CopyInstruction extends Base<'copy'>, SourcesAndDest {
  /** `--from`: a stage name, a stage index, or an image reference; never expanded (as BuildKit). */
  from: string | undefined;
  parents: boolean;
}

export interface AddInstruction extends Base<'add'>, SourcesAndDest {
  checksum: string | undefined;
  keepGitDir: boolean;
  /** `--unpack`: undefined when the flag is absent (ADD then unpacks local archives only). */
  unpack: boolean | undefined;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | LabelInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | EnvInstruction
  | AddInstruction
  | CopyInstruction
  | EntrypointInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | ArgInstruction
  | OnbuildInstruction
  | StopSignalInstruction
  | HealthcheckInstruction
  | ShellInstruction;

export type InstructionKind = Instruction['kind'];

/** Every instruction keyword, uppercase, for suggestions. */
export const INSTRUCTION_KEYWORDS: readonly string[] = [
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
];
