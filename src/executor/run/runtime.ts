/**
 * The OCI runtime binary (runc, or crun, which takes the same commands): global flags, and the
 * short commands around a run (kill, delete, list). State lives under `<stateDir>/<runtime>`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';

export type RuntimeKind = 'runc' | 'crun';

export interface Runtime {
  /** The binary to execute (a name looked up in PATH, or a path). */
  binary: string;
  kind: RuntimeKind;
  /** The runtime's `--root`. */
  stateRoot: string;
  rootless: boolean;
  /** Host credentials to start the runtime with (see RunOptions.runtimeCredentials). */
  credentials?: { uid: number; gid: number };
}

export interface RuntimeSelection {
  runtime?: string;
  stateDir: string;
  rootless?: boolean;
  credentials?: { uid: number; gid: number };
}

export function selectRuntime(sel: RuntimeSelection): Runtime {
  const binary = sel.runtime ?? 'runc';
  const base = path.basename(binary);
  const kind: RuntimeKind | undefined = base.startsWith('crun') ? 'crun' : base.includes('runc') ? 'runc' : undefined;
  if (!kind) {
    throw new OboxError(ErrorCodes.usage, `unsupported OCI runtime ${JSON.stringify(binary)}`, { hint: 'use runc or crun' });
  }
  return {
    binary,
    kind,
    stateRoot: path.join(path.resolve(sel.stateDir), kind),
    rootless: sel.rootless ?? false,
    ...(sel.credentials ? { credentials: sel.credentials } : {}),
  };
}

/** Flags before the command: state root, optional JSON log file, rootless. */
export function globalArgs(rt: Runtime, logFile?: string): string[] {
  const args = ['--root', rt.stateRoot];
  if (logFile) args.push('--log', logFile, '--log-format', 'json');
  // crun detects rootless by itself; runc is told, so it never tries cgroups.
  if (rt.rootless && rt.kind === 'runc') args.push('--rootless', 'true');
  return args;
}

/** A container id: what runc accepts (^[\w+.-]+$), unique enough never to collide, with the pid so a killed obox's leftovers can be found (recover.ts). */
export function newContainerId(): string {
  return `obox-${process.pid}-${randomBytes(6).toString('hex')}`;
}

export function validContainerId(id: string): boolean {
  return /^[\w+.-]{1,128}$/.test(id) && id !== '.' && id !== '..';
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function spawnOptions(rt: Runtime): { uid?: number; gid?: number } {
  return rt.credentials ? { uid: rt.credentials.uid, gid: rt.credentials.gid } : {};
}

/** The error for a runtime binary that cannot be started. */
export function runtimeStartError(rt: Runtime, e: unknown): OboxError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return new OboxError(ErrorCodes.environment, `OCI runtime ${rt.binary} not found`, {
      hint: `install ${rt.kind} (Debian: apt-get install ${rt.kind}) or choose another runtime`,
      cause: e,
    });
  }
  return new OboxError(ErrorCodes.environment, `cannot start ${rt.binary}: ${(e as Error).message}`, { cause: e });
}

/** Runs a short runtime command (kill, delete, list, state) to completion. */
export function runtimeCommand(rt: Runtime, args: string[], timeoutMs = 30_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(rt.binary, [...globalArgs(rt), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...spawnOptions(rt),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(runtimeStartError(rt, e));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

function notFound(r: CommandResult): boolean {
  return /does not exist|not found|no such file/i.test(r.stderr);
}

/** Sends a signal to the container's init. False when there was nothing to signal. */
export async function killContainer(rt: Runtime, id: string, signal = 'KILL'): Promise<boolean> {
  const r = await runtimeCommand(rt, ['kill', id, signal]);
  return r.code === 0;
}

/** `delete -f`: kills what is left and removes the container's state. Gone already is success. */
export async function deleteContainer(rt: Runtime, id: string): Promise<void> {
  const r = await runtimeCommand(rt, ['delete', '-f', id]);
  if (r.code === 0 || notFound(r)) return;
  // The runtime may never have created its state directory at all.
  try {
    await fsp.access(path.join(rt.stateRoot, id));
  } catch {
    return;
  }
  throw new OboxError(ErrorCodes.environment, `cannot delete container ${id}: ${r.stderr.trim() || `exit ${r.code}`}`);
}

/** Ids of the containers the runtime knows under this state root. */
export async function listContainers(rt: Runtime): Promise<string[]> {
  try {
    await fsp.access(rt.stateRoot);
  } catch {
    return [];
  }
  const r = await runtimeCommand(rt, ['list', '-q']);
  if (r.code !== 0) throw new OboxError(ErrorCodes.environment, `${rt.binary} list failed: ${r.stderr.trim()}`);
  return r.stdout.split('\n').map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * The runtime's last error from its JSON log (`{"level":"error","msg":…}` lines), if any: what
 * went wrong when the runtime, not the process, failed.
 */
export async function lastRuntimeError(logFile: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(logFile, 'utf8');
  } catch {
    return undefined;
  }
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) last = entry.msg;
    } catch {
      // not JSON: some runtimes write plain text before the logger is set up
      if (/error/i.test(line)) last = line.trim();
    }
  }
  return last;
}
