/**
 * A private, throw-away Docker daemon for tests (DESIGN.md, "Real components in tests").
 *
 * One daemon per test file: call `startDockerd()` in `beforeAll` and `stop()` in `afterAll`.
 * Starting costs well under a second here, and a per-file daemon keeps files independent (vitest runs
 * files in parallel worker processes; a globalSetup daemon would be shared state living in another
 * process, with its cleanup depending on the main process surviving).
 *
 *   describe.skipIf(!requires({ root: true, tools: DOCKERD_TOOLS }))('…', () => {
 *     let d: Dockerd;
 *     beforeAll(async () => { d = await startDockerd(); });
 *     afterAll(async () => { await d?.stop(); });
 *     it('…', async () => { const r = await d.dockerOk(['run', '--rm', '--network', 'none', img, 'true']); });
 *   });
 *
 * The daemon: dockerd from Debian's docker.io with its own containerd, everything (socket, data root,
 * exec root, containerd state, netns, pidfile, log, client config) under one temp dir
 * $TMPDIR/obox-dockerd-XXXXXX; no iptables, no bridge (so containers need `--network none` or
 * `--network host`); containers go in their own cgroup parent /obox-dockerd-XXXXXX; its own
 * daemon.json (so the host's /etc/docker/daemon.json cannot interfere) putting the trust key in the
 * dir too. Use DOCKER_CLI (/usr/bin/docker, Debian's 20.10 client): /usr/local/bin/docker here is a
 * different, newer client that wants the buildx plugin for BuildKit.
 *
 * Clean-up, in layers:
 *  - stop(): removes containers, SIGTERMs dockerd (SIGKILL after 20 s), kills whatever still runs with
 *    the temp dir in its command line (containerd, containerd-shim-runc-v2), kills and removes the
 *    cgroup parent, lazily unmounts everything mounted under the temp dir (overlay, nsfs, shm, the
 *    data-root bind mount) and deletes the dir.
 *  - SIGINT/SIGTERM/SIGHUP and process 'exit': the same clean-up, synchronously, for daemons not yet
 *    stopped; then the signal's default action (unless someone else also listens for it).
 *  - dockerd is started through `setpriv --pdeathsig TERM`, so if the test process is SIGKILLed
 *    dockerd still gets SIGTERM and shuts itself down (stopping containers, unmounting).
 *  - startDockerd() first sweeps dirs left by dead test processes (owner pid gone): kills, unmounts
 *    and deletes them.
 *
 * BuildKit: `buildkit(args)` runs `DOCKER_BUILDKIT=1 docker build --network host …`. It works
 * offline as long as the Containerfile has no `# syntax=` line (that makes BuildKit fetch
 * docker/dockerfile from Docker Hub) and every FROM names an image already in this daemon (import
 * one with importRootfs); do not pass `--pull`. `--network host` is required: without a bridge, RUN
 * fails with "network bridge not found". The built-in frontend is dockerd 20.10's (RUN --mount works,
 * heredocs do not). The classic builder (no DOCKER_BUILDKIT) works too, also with --network host.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The docker client. Debian's docker.io client, not a newer one that wants the buildx plugin. */
export const DOCKER_CLI = process.env.OBOX_DOCKER_CLI ?? '/usr/bin/docker';
/** For `requires({ root: true, tools: DOCKERD_TOOLS })`. */
export const DOCKERD_TOOLS = ['dockerd', 'containerd', 'runc', DOCKER_CLI];

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CmdOptions {
  /** Written to the command's stdin. */
  input?: string | Buffer;
  /** Extra environment (on top of process.env and the daemon's DOCKER_HOST/DOCKER_CONFIG). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the command and throw after this long. Default 120 s. */
  timeoutMs?: number;
}

export interface Dockerd {
  /** `unix:///…/docker.sock`. */
  readonly host: string;
  /** DOCKER_HOST and DOCKER_CONFIG, for other docker-API clients (e.g. skopeo's docker-daemon:). */
  readonly env: Readonly<Record<string, string>>;
  /** The temp dir holding everything of this daemon. */
  readonly dir: string;
  readonly pid: number;
  /** Milliseconds from spawn until `docker version` answered. */
  readonly startMs: number;
  /** Runs the docker client against this daemon. Never throws on a non-zero exit. */
  docker(args: string[], opts?: CmdOptions): Promise<CmdResult>;
  /** Like docker(), but throws (with the command, stdout and stderr) on a non-zero exit. */
  dockerOk(args: string[], opts?: CmdOptions): Promise<CmdResult>;
  /** `DOCKER_BUILDKIT=1 docker build --network host ARGS…` (see the module comment for offline use). */
  buildkit(args: string[], opts?: CmdOptions): Promise<CmdResult>;
  /**
   * `docker import` of a root filesystem tarball as image NAME, with `CMD ["/bin/sh"]` and the usual
   * PATH (plus any extra `--change` lines). Returns the image id (sha256:…).
   */
  importRootfs(tarPath: string, name: string, opts?: { changes?: string[] }): Promise<string>;
  /** The daemon's log so far (dockerd and containerd). */
  log(): string;
  /** Stops everything and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartDockerdOptions {
  /** Give up waiting for the daemon after this long. Default 60 s. */
  startTimeoutMs?: number;
  /** Extra dockerd flags. */
  extraArgs?: string[];
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DIR_PREFIX = 'obox-dockerd-';

// ---------------------------------------------------------------------------------------------
// Process, mount and cgroup clean-up shared with podman.ts. All synchronous so they can run from
// signal and 'exit' handlers.

const sleepBuf = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread (usable where the event loop cannot run: exit and signal handlers). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleepBuf, 0, 0, ms);
}

function procStat(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid … — comm may contain spaces and parentheses.
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const st = procStat(pid);
  return st !== undefined && st[0] !== 'Z' && st[0] !== 'X';
}

/** The process's start time (clock ticks since boot), to tell a pid from a recycled one. */
export function startTimeOf(pid: number): string | undefined {
  return procStat(pid)?.[19];
}

export function waitExitSync(pid: number, ms: number): boolean {
  const end = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() >= end) return false;
    sleepSync(50);
  }
  return true;
}

export async function waitExit(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Pids (other than ours) whose command line mentions DIR/ — the daemons, containerd, shims. */
export function processesReferencing(dir: string): number[] {
  const needle = dir.endsWith('/') ? dir : `${dir}/`;
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes(needle) && isAlive(pid)) out.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** SIGTERM, wait up to graceMs, SIGKILL; for the given pids. */
export function terminateSync(pids: number[], graceMs: number): void {
  if (pids.length === 0) return;
  for (const p of pids) signal(p, 'SIGTERM');
  const end = Date.now() + graceMs;
  for (const p of pids) waitExitSync(p, Math.max(0, end - Date.now()));
  for (const p of pids) if (isAlive(p)) signal(p, 'SIGKILL');
  for (const p of pids) waitExitSync(p, 5_000);
}

/** Kills every process referencing DIR/ (repeatedly: shims may appear while containerd dies). */
export function killReferencingSync(dir: string, graceMs = 3_000): void {
  for (let round = 0; round < 3; round++) {
    const pids = processesReferencing(dir);
    if (pids.length === 0) return;
    terminateSync(pids, round === 0 ? graceMs : 0);
  }
}

function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points at or under DIR in our mount namespace, deepest first. */
export function mountsUnder(dir: string): string[] {
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const res: string[] = [];
  for (const line of info.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp === undefined) continue;
    const p = unescapeMountPath(mp);
    if (p === dir || p.startsWith(`${dir}/`)) res.push(p);
  }
  return res.sort((a, b) => b.length - a.length);
}

/** Lazily unmounts everything at or under DIR (repeating for stacked mounts). Returns what remains. */
export function unmountUnderSync(dir: string): string[] {
  for (let round = 0; round < 10; round++) {
    const mps = mountsUnder(dir);
    if (mps.length === 0) return [];
    for (const mp of mps) spawnSync('umount', ['-l', mp], { stdio: 'ignore', timeout: 10_000 });
  }
  return mountsUnder(dir);
}

/** Cgroup directories named NAME directly under each cgroup hierarchy root (v1 and v2). */
function cgroupDirs(name: string): string[] {
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const res: string[] = [];
  for (const line of info.split('\n')) {
    const parts = line.split(' ');
    const sep = parts.indexOf('-');
    const fstype = parts[sep + 1];
    const mp = parts[4];
    if (sep < 0 || mp === undefined || (fstype !== 'cgroup' && fstype !== 'cgroup2')) continue;
    const d = path.join(unescapeMountPath(mp), name);
    if (existsSync(d) && !res.includes(d)) res.push(d);
  }
  return res;
}

function walkDirsDeepestFirst(root: string): string[] {
  const out: string[] = [];
  const visit = (d: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) visit(path.join(d, e.name));
    out.push(d);
  };
  visit(root);
  return out;
}

/** Kills every process in cgroup NAME (all hierarchies) and removes the cgroup directories. */
export function removeCgroupSync(name: string): void {
  const roots = cgroupDirs(name);
  if (roots.length === 0) return;
  for (let round = 0; round < 3; round++) {
    const pids = new Set<number>();
    for (const r of roots) {
      for (const d of walkDirsDeepestFirst(r)) {
        try {
          for (const l of readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l) pids.add(Number(l));
        } catch {
          // gone
        }
      }
    }
    pids.delete(process.pid);
    if (pids.size === 0) break;
    terminateSync([...pids], round === 0 ? 2_000 : 0);
  }
  for (const r of roots) {
    for (const d of walkDirsDeepestFirst(r)) {
      try {
        rmdirSync(d);
      } catch {
        // busy or gone; nothing more we can do
      }
    }
  }
}

/** Full clean-up of a temp dir tree: processes, cgroup, mounts, files. Throws if mounts remain. */
export function cleanupTreeSync(dir: string, opts: { cgroup?: string } = {}): void {
  killReferencingSync(dir);
  if (opts.cgroup) removeCgroupSync(opts.cgroup);
  let left = unmountUnderSync(dir);
  if (left.length === 0) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // EBUSY after a lazy unmount of a still-busy fs: one more unmount pass, then retry
      left = unmountUnderSync(dir);
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    }
  }
  if (left.length > 0) throw new Error(`could not unmount: ${left.join(', ')}`);
}

// ---------------------------------------------------------------------------------------------
// Signal / exit safety net, shared by every live daemon (and podman.ts) in this process.

const liveCleanups = new Map<string, () => void>();
let handlersInstalled = false;
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function runAllCleanupsSync(): void {
  for (const [key, fn] of [...liveCleanups]) {
    liveCleanups.delete(key);
    try {
      fn();
    } catch (e) {
      process.stderr.write(`obox test clean-up of ${key} failed: ${String(e)}\n`);
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  runAllCleanupsSync();
  uninstallHandlers();
  // Nobody else wants the signal: let its default action (termination) happen.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

const signalListeners = new Map<NodeJS.Signals, () => void>(SIGNALS.map((s) => [s, () => onSignal(s)]));

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const [s, l] of signalListeners) process.on(s, l);
  process.on('exit', runAllCleanupsSync);
}

function uninstallHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  for (const [s, l] of signalListeners) process.off(s, l);
  process.off('exit', runAllCleanupsSync);
}

/** Registers a synchronous clean-up to run on SIGINT/SIGTERM/SIGHUP or exit; returns its remover. */
export function registerCleanup(key: string, fn: () => void): () => void {
  liveCleanups.set(key, fn);
  installHandlers();
  return () => {
    liveCleanups.delete(key);
    if (liveCleanups.size === 0) uninstallHandlers();
  };
}

// ---------------------------------------------------------------------------------------------
// Temp dirs with an owner file, and the sweep of those whose owner died.

/** Creates $TMPDIR/PREFIXxxxxxx (short enough for unix socket paths) and records our pid in it. */
export function makeOwnedTempDir(prefix: string): string {
  let base = os.tmpdir();
  if (base.length > 40) base = '/tmp'; // unix socket paths must stay under 108 bytes
  const dir = mkdtempSync(path.join(base, prefix));
  writeFileSync(path.join(dir, 'owner'), `${process.pid} ${startTimeOf(process.pid) ?? ''}\n`);
  return dir;
}

function ownerAlive(dir: string): boolean {
  let owner: string;
  try {
    owner = readFileSync(path.join(dir, 'owner'), 'utf8').trim();
  } catch {
    return true; // being created right now, or not ours: leave it alone
  }
  const [pidS, start] = owner.split(' ');
  const pid = Number(pidS);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  return isAlive(pid) && (start === undefined || start === '' || startTimeOf(pid) === start);
}

/** Cleans up PREFIX* temp dirs whose owning test process is gone. */
export function sweepStale(prefix: string, cleanup: (dir: string) => void): void {
  const bases = new Set([os.tmpdir(), '/tmp']);
  for (const base of bases) {
    let entries: string[];
    try {
      entries = readdirSync(base);
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.startsWith(prefix)) continue;
      const dir = path.join(base, e);
      if (ownerAlive(dir)) continue;
      try {
        cleanup(dir);
      } catch (err) {
        process.stderr.write(`obox: could not clean stale ${dir}: ${String(err)}\n`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Running commands.

export function runCmd(file: string, args: string[], env: NodeJS.ProcessEnv, opts: CmdOptions = {}): Promise<CmdResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) {
        reject(new Error(`timed out after ${timeoutMs} ms: ${file} ${args.join(' ')}\nstdout: ${stdout}\nstderr: ${stderr}`));
        return;
      }
      resolve({ code: code ?? (sig ? 128 : -1), stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // EPIPE when the command does not read its input
    child.stdin.end(opts.input ?? '');
  });
}

export function failure(what: string, args: string[], r: CmdResult): Error {
  return new Error(`${what} ${args.join(' ')} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
}

function tail(s: string, lines: number): string {
  return s.split('\n').slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------------------------

function cleanupDockerDir(dir: string): void {
  cleanupTreeSync(dir, { cgroup: path.basename(dir) });
}

/** Cleans up daemons left by test processes that died without stopping them (startDockerd does this). */
export function sweepStaleDockerd(): void {
  sweepStale(DIR_PREFIX, cleanupDockerDir);
}

export async function startDockerd(opts: StartDockerdOptions = {}): Promise<Dockerd> {
  sweepStaleDockerd();

  const dir = makeOwnedTempDir(DIR_PREFIX);
  const cgroup = path.basename(dir);
  const sock = path.join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  const logPath = path.join(dir, 'dockerd.log');
  const configDir = path.join(dir, 'client');
  mkdirSync(configDir);
  writeFileSync(path.join(configDir, 'config.json'), '{}\n');
  // Own config file (the host's /etc/docker/daemon.json must not apply); the trust key in our dir,
  // not /etc/docker/key.json.
  writeFileSync(path.join(dir, 'daemon.json'), `${JSON.stringify({ 'deprecated-key-path': path.join(dir, 'key.json') })}\n`);
  const env: Record<string, string> = { DOCKER_HOST: host, DOCKER_CONFIG: configDir };

  let unregister: () => void = () => undefined;
  let pid = 0;
  const stopSync = (): void => {
    if (pid > 0 && isAlive(pid)) {
      // dockerd's own shutdown gives each container 10 s after SIGTERM: remove them first.
      const e = { ...process.env, ...env };
      const ps = spawnSync(DOCKER_CLI, ['ps', '-aq'], { env: e, encoding: 'utf8', timeout: 5_000 });
      const ids = (ps.stdout ?? '').split('\n').filter(Boolean);
      if (ids.length > 0) spawnSync(DOCKER_CLI, ['rm', '-f', ...ids], { env: e, stdio: 'ignore', timeout: 15_000 });
      removeCgroupSync(cgroup); // anything still running in a container
      signal(pid, 'SIGTERM');
      if (!waitExitSync(pid, 15_000)) signal(pid, 'SIGKILL');
      waitExitSync(pid, 5_000);
    }
    cleanupDockerDir(dir);
  };
  unregister = registerCleanup(dir, stopSync);

  const dockerdArgs = [
    `--host=${host}`,
    `--data-root=${path.join(dir, 'data')}`,
    `--exec-root=${path.join(dir, 'exec')}`,
    `--pidfile=${path.join(dir, 'dockerd.pid')}`,
    `--config-file=${path.join(dir, 'daemon.json')}`,
    '--iptables=false',
    '--ip-masq=false',
    '--bridge=none',
    '--userland-proxy=false',
    `--cgroup-parent=/${cgroup}`,
    '--shutdown-timeout=3',
    ...(opts.extraArgs ?? []),
  ];
  const logFd = openSync(logPath, 'a');
  const withPdeathsig = existsSync('/usr/bin/setpriv') || existsSync('/bin/setpriv');
  const [cmd, args] = withPdeathsig
    ? ['setpriv', ['--pdeathsig', 'TERM', '--', 'dockerd', ...dockerdArgs]]
    : ['dockerd', dockerdArgs];
  const t0 = Date.now();
  const child = spawn(cmd, args, {
    detached: true, // own process group: a terminal ^C reaches us, and we stop dockerd in order
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, ...env },
  });
  closeSync(logFd);
  child.unref();
  let spawnError: Error | undefined;
  child.on('error', (e) => {
    spawnError = e;
  });
  pid = child.pid ?? 0;

  const readLog = (): string => {
    try {
      return readFileSync(logPath, 'utf8');
    } catch {
      return '';
    }
  };
  const clientEnv = (extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, ...env, ...extra };
    delete e.DOCKER_CONTEXT;
    delete e.DOCKER_TLS_VERIFY;
    delete e.DOCKER_CERT_PATH;
    return e;
  };
  const docker = (a: string[], o: CmdOptions = {}): Promise<CmdResult> => runCmd(DOCKER_CLI, a, clientEnv(o.env), o);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (pid > 0 && isAlive(pid)) {
        // Remove containers first so dockerd's shutdown does not wait for them.
        try {
          const ps = await docker(['ps', '-aq'], { timeoutMs: 20_000 });
          const ids = ps.stdout.split('\n').filter(Boolean);
          if (ps.code === 0 && ids.length > 0) await docker(['rm', '-f', ...ids], { timeoutMs: 30_000 });
        } catch {
          // the daemon is unwell; the kill below handles it
        }
        signal(pid, 'SIGTERM');
        if (!(await waitExit(pid, 20_000))) signal(pid, 'SIGKILL');
        await waitExit(pid, 5_000);
      }
      unregister();
      cleanupDockerDir(dir);
    })();
    return stopping;
  };

  // Wait until the API answers.
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const deadline = t0 + timeoutMs;
  for (;;) {
    if (spawnError || (pid > 0 && !isAlive(pid)) || pid === 0) {
      const log = readLog();
      await stop();
      throw new Error(`dockerd exited during start-up${spawnError ? ` (${spawnError.message})` : ''}\n--- dockerd log\n${tail(log, 60)}`);
    }
    if (existsSync(sock)) {
      const v = await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 }).catch(() => undefined);
      if (v && v.code === 0 && v.stdout.trim() !== '') break;
    }
    if (Date.now() > deadline) {
      const log = readLog();
      await stop();
      throw new Error(`dockerd did not answer within ${timeoutMs} ms\n--- dockerd log\n${tail(log, 60)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const startMs = Date.now() - t0;

  const dockerOk = async (a: string[], o?: CmdOptions): Promise<CmdResult> => {
    const r = await docker(a, o);
    if (r.code !== 0) throw failure('docker', a, r);
    return r;
  };

  return {
    host,
    env,
    dir,
    pid,
    startMs,
    docker,
    dockerOk,
    buildkit: (a, o = {}) => {
      const full = ['build', '--network', 'host', ...a];
      return docker(full, { ...o, env: { ...o.env, DOCKER_BUILDKIT: '1' }, timeoutMs: o.timeoutMs ?? 600_000 });
    },
    importRootfs: async (tarPath, name, o = {}) => {
      const changes = ['CMD ["/bin/sh"]', `ENV PATH=${DEFAULT_PATH}`, ...(o.changes ?? [])];
      const a = ['import', ...changes.flatMap((c) => ['--change', c]), tarPath, name];
      const r = await dockerOk(a, { timeoutMs: 300_000 });
      return r.stdout.trim();
    },
    log: readLog,
    stop,
  };
}
