/**
 * RUN: the argv to execute (shell form in SHELL, exec form as is, heredocs as scripts the way
 * BuildKit runs them) and the mounts of `RUN --mount`.
 */
import { chmod, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ContainerConfig } from '../image/index.js';
import type { RunInstruction, RunMount } from '../instructions/index.js';
import { chompHeredocContent, parseHeredocMarker } from '../containerfile/heredoc.js';
import { ErrorCodes, OboxError } from '../errors.js';
import { commandArgv, DEFAULT_SHELL } from './metadata.js';
import { resolveInRoot, type RunMount as RuntimeMount } from './run/index.js';

export interface RunArgv {
  argv: string[];
  /** Files to bind-mount read-only into the container (heredoc scripts): host path → container path. */
  files: Array<{ host: string; container: string }>;
}

/**
 * BuildKit's rules: a RUN whose whole command is one heredoc runs its body as a script (directly
 * when it starts with `#!`, else with SHELL); otherwise heredoc bodies are appended to the command
 * text and the shell reads them.
 */
export async function runArgv(ins: RunInstruction, config: ContainerConfig, scratchDir: string): Promise<RunArgv> {
  if (ins.heredocs.length === 0 || ins.command.form === 'exec') return { argv: commandArgv(ins.command, config), files: [] };
  const shell = config.Shell && config.Shell.length > 0 ? [...config.Shell] : [...DEFAULT_SHELL];
  const command = ins.command.command;
  const only = parseHeredocMarker(command.trim());
  if (ins.heredocs.length === 1 && only) {
    const doc = ins.heredocs[0]!;
    const body = doc.chomp ? chompHeredocContent(doc.content) : doc.content;
    const host = path.join(scratchDir, 'heredoc-0');
    await mkdir(scratchDir, { recursive: true });
    await writeFile(host, body);
    await chmod(host, 0o755);
    const container = `/dev/pipes/${doc.name}`;
    return { argv: body.startsWith('#!') ? [container] : [...shell.slice(0, -1), container], files: [{ host, container }] };
  }
  let text = command;
  for (const doc of ins.heredocs) text += `\n${doc.content}${doc.name}`;
  return { argv: [...shell, text], files: [] };
}

export interface MountContext {
  contextDir: string;
  /** Directory for persistent cache mounts (per id). */
  cacheMountsDir: string;
  /** Root filesystem of a stage or image, for `from=` (bind, cache seeds). */
  rootfsOf: (from: string) => Promise<string>;
  secrets: ReadonlyMap<string, string>;
}

/** The bind source resolved inside `root`: symlinks in the context or a stage never lead outside it. */
async function sourceInRoot(root: string, rel: string): Promise<string> {
  return resolveInRoot(root, path.posix.normalize(`/${rel}`));
}

/** Turns `RUN --mount` specs into runtime mounts. Secrets never touch the rootfs: they are bind-mounted files. */
export async function prepareRunMounts(mounts: readonly RunMount[], ctx: MountContext): Promise<{ mounts: RuntimeMount[]; env: string[] }> {
  const out: RuntimeMount[] = [];
  const env: string[] = [];
  for (const m of mounts) {
    switch (m.type) {
      case 'bind': {
        const root = m.from === undefined ? ctx.contextDir : await ctx.rootfsOf(m.from);
        out.push({ type: 'bind', source: await sourceInRoot(root, m.source), destination: m.target, readonly: m.readOnly });
        break;
      }
      case 'cache': {
        const dir = path.join(ctx.cacheMountsDir, encodeURIComponent(m.id));
        await mkdir(dir, { recursive: true, mode: m.mode });
        // Its mtime is its last use for `cache ls` and prune's LRU order.
        const now = new Date();
        await utimes(dir, now, now);
        out.push({ type: 'bind', source: dir, destination: m.target, readonly: m.readOnly });
        break;
      }
      case 'tmpfs':
        out.push({ type: 'tmpfs', destination: m.target, ...(m.size !== undefined ? { sizeBytes: m.size } : {}) });
        break;
      case 'secret': {
        const src = ctx.secrets.get(m.id);
        if (src === undefined) {
          if (m.required) throw new OboxError(ErrorCodes.notFound, `secret ${m.id} not found`, { hint: `pass --secret id=${m.id},src=FILE` });
          break;
        }
        if (m.target !== undefined) out.push({ type: 'bind', source: src, destination: m.target, readonly: true });
        if (m.env !== undefined) {
          env.push(`${m.env}=${(await readFile(src, 'utf8')).replace(/\n$/, '')}`);
        }
        break;
      }
      case 'ssh':
        if (m.required) throw new OboxError(ErrorCodes.usage, 'RUN --mount=type=ssh is not supported yet', { hint: 'copy what the step needs with a secret mount instead' });
        break;
    }
  }
  return { mounts: out, env };
}
