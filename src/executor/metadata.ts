/**
 * How each instruction changes the image config, and the history line it leaves — the way
 * BuildKit's dockerfile2llb does it. Pure: expanded instruction + config in, config out.
 */
import path from 'node:path';
import type { ContainerConfig } from '../image/index.js';
import { parseExposePort, type CommandLine, type Instruction } from '../instructions/index.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'] as const;

/** Per-stage state BuildKit keeps beside the config: whether CMD was set in this stage. */
export interface StageFlags {
  cmdSet: boolean;
}

function envList(env: readonly string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    m.set(i === -1 ? e : e.slice(0, i), i === -1 ? '' : e.slice(i + 1));
  }
  return m;
}

function shellOf(config: ContainerConfig): readonly string[] {
  return config.Shell && config.Shell.length > 0 ? config.Shell : DEFAULT_SHELL;
}

/** The argv a CMD/ENTRYPOINT/RUN/HEALTHCHECK command line becomes (shell form runs in SHELL). */
export function commandArgv(command: CommandLine, config: ContainerConfig): string[] {
  return command.form === 'exec' ? [...command.args] : [...shellOf(config), command.command];
}

/** WORKDIR resolves relative paths against the current working dir. */
export function resolveWorkdir(current: string | undefined, p: string): string {
  return path.posix.resolve(current && current !== '' ? current : '/', p);
}

/**
 * Applies a metadata instruction. Returns undefined for instructions that do not touch the
 * config (RUN, COPY, ADD, FROM, ARG).
 */
export function applyMetadata(config: ContainerConfig, ins: Instruction, flags: StageFlags): ContainerConfig | undefined {
  switch (ins.kind) {
    case 'env': {
      const env = envList(config.Env);
      for (const { key, value } of ins.pairs) {
        env.delete(key); // a re-set variable moves to the end, as in BuildKit
        env.set(key, value);
      }
      return { ...config, Env: [...env].map(([k, v]) => `${k}=${v}`) };
    }
    case 'label': {
      const labels: Record<string, string> = { ...(config.Labels ?? {}) };
      for (const { key, value } of ins.pairs) labels[key] = value;
      return { ...config, Labels: labels };
    }
    case 'maintainer':
      return config; // author lives at the config's top level; the executor sets it
    case 'expose': {
      const ports: Record<string, Record<string, never>> = { ...(config.ExposedPorts ?? {}) };
      for (const word of ins.ports) for (const p of parseExposePort(word)) ports[p] = {};
      return { ...config, ExposedPorts: ports };
    }
    case 'volume': {
      const volumes: Record<string, Record<string, never>> = { ...(config.Volumes ?? {}) };
      for (const v of ins.volumes) volumes[v] = {};
      return { ...config, Volumes: volumes };
    }
    case 'user':
      return { ...config, User: ins.user };
    case 'workdir':
      return { ...config, WorkingDir: resolveWorkdir(config.WorkingDir, ins.path) };
    case 'cmd':
      flags.cmdSet = true;
      return { ...config, Cmd: commandArgv(ins.command, config), ArgsEscaped: ins.command.form === 'shell' ? undefined : config.ArgsEscaped };
    case 'entrypoint': {
      const next: ContainerConfig = { ...config, Entrypoint: commandArgv(ins.command, config) };
      // An ENTRYPOINT drops the CMD inherited from the base, unless this stage set CMD itself.
      return flags.cmdSet ? next : { ...next, Cmd: undefined };
    }
    case 'stopsignal':
      return { ...config, StopSignal: ins.signal };
    case 'healthcheck':
      if (ins.type === 'none') return { ...config, Healthcheck: { Test: ['NONE'] } };
      return {
        ...config,
        Healthcheck: {
          Test: ins.command.form === 'exec' ? ['CMD', ...ins.command.args] : ['CMD-SHELL', ins.command.command],
          ...(ins.interval ? { Interval: ins.interval } : {}),
          ...(ins.timeout ? { Timeout: ins.timeout } : {}),
          ...(ins.startPeriod ? { StartPeriod: ins.startPeriod } : {}),
          ...(ins.startInterval ? { StartInterval: ins.startInterval } : {}),
          ...(ins.retries ? { Retries: ins.retries } : {}),
        },
      };
    case 'shell':
      return { ...config, Shell: [...ins.shell] };
    case 'onbuild':
      return { ...config, OnBuild: [...(config.OnBuild ?? []), ins.expression] };
    default:
      return undefined;
  }
}

function quoteArgs(args: readonly string[]): string {
  return JSON.stringify(args);
}

/** The history `created_by` text, in BuildKit's forms. `args` are the build args RUN sees. */
export function historyText(ins: Instruction, config: ContainerConfig, args: ReadonlyMap<string, string> = new Map()): string {
  switch (ins.kind) {
    case 'run': {
      const argv = commandArgv(ins.command, config);
      const prefix = args.size > 0 ? `|${args.size} ${[...args].map(([k, v]) => `${k}=${v}`).join(' ')} ` : '';
      return `RUN ${prefix}${argv.join(' ')} # obox`;
    }
    case 'env':
      return `ENV ${ins.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`;
    case 'label':
      return `LABEL ${ins.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`;
    case 'cmd':
      return `CMD ${quoteArgs(commandArgv(ins.command, config))}`;
    case 'entrypoint':
      return `ENTRYPOINT ${quoteArgs(commandArgv(ins.command, config))}`;
    case 'shell':
      return `SHELL ${quoteArgs(ins.shell)}`;
    case 'expose':
      return `EXPOSE ${ins.ports.flatMap(parseExposePort).join(' ')}`;
    case 'volume':
      return `VOLUME ${quoteArgs(ins.volumes)}`;
    case 'user':
      return `USER ${ins.user}`;
    case 'workdir':
      return `WORKDIR ${ins.path}`;
    case 'stopsignal':
      return `STOPSIGNAL ${ins.signal}`;
    case 'maintainer':
      return `MAINTAINER ${ins.maintainer}`;
    case 'onbuild':
      return `ONBUILD ${ins.expression}`;
    case 'healthcheck':
      return ins.type === 'none' ? 'HEALTHCHECK NONE' : `HEALTHCHECK ${ins.original.replace(/^\s*healthcheck\s+/i, '')}`;
    case 'copy':
    case 'add': {
      const flags = [
        ins.kind === 'copy' && ins.from ? `--from=${ins.from}` : '',
        ins.chown ? `--chown=${ins.chown}` : '',
        ins.chmod ? `--chmod=${ins.chmod}` : '',
      ].filter(Boolean);
      const sources = ins.sources.map((s) => (s.kind === 'path' ? s.path : `<<${s.name}`));
      return `${ins.kind.toUpperCase()} ${[...flags, ...sources, ins.dest].join(' ')} # obox`;
    }
    case 'arg':
      return `ARG ${ins.args.map((a) => (a.defaultValue === undefined ? a.name : `${a.name}=${a.defaultValue}`)).join(' ')}`;
    case 'from':
      return `FROM ${ins.image}`;
  }
}
