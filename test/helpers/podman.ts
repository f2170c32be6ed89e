/**
 * Podman (root, Debian's podman 4.3) with private, throw-away storage: a second reader for what obox
 * writes (`podman load`, `podman import`, `podman run`), without touching /var/lib/containers.
 *
 *   describe.skipIf(!requires({ root: true, tools: PODMAN_TOOLS }))('…', () => {
 *     let p: Podman;
 *     beforeAll(() => { p = createPodman(); });
 *     afterAll(async () => { await p?.stop(); });
 *     it('…', async () => { await p.podmanOk(['load', '-i', archive]); });
 *   });
 *
 * Every command gets: --root/--runroot/--tmpdir/--volumepath/--network-config-dir under one temp dir
 * $TMPDIR/obox-podman-XXXXXX, --cgroup-manager cgroupfs (no systemd here), --events-backend none (no
 * journald), the overlay storage driver (or vfs), and a private containers.conf/storage.conf
 * (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF) so host configuration cannot interfere. Containers need
 * `--network none` (or host): no network is configured.
 *
 * Two settings make `podman run` work on this machine (a Firecracker VM, root without
 * CAP_SYS_RESOURCE, hybrid cgroup v1 + v2):
 *  - runtime runc, not crun: crun 1.8 refuses hybrid cgroups ("cgroups in hybrid mode not supported,
 *    drop all controllers from cgroupv2"). runc is used whenever it is installed.
 *  - default_ulimits set to our own hard limits: by default podman asks for nofile=1048576 and nproc
 *    above its own limit (it lowers its RLIMIT_NPROC to kernel.pid_max), and without
 *    CAP_SYS_RESOURCE the runtime's setrlimit fails with "Operation not permitted".
 *
 * Clean-up: stop() runs `podman rm -af -t 0`, kills what still references the dir (conmon, `podman
 * container cleanup`), kills and removes the containers' cgroups (libpod_parent/libpod-ID), unmounts
 * everything under the dir and deletes it. Signals, exit and dead owners are handled as in
 * dockerd.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  type CmdOptions,
  type CmdResult,
  DEFAULT_PATH,
  cleanupTreeSync,
  failure,
  makeOwnedTempDir,
  registerCleanup,
  removeCgroupSync,
  runCmd,
  sweepStale,
} from './dockerd.js';
import { hasTool } from './requirements.js';

/** For `requires({ root: true, tools: PODMAN_TOOLS })`. */
export const PODMAN_TOOLS = ['podman', 'conmon', 'runc'];

export interface Podman {
  /** The temp dir holding storage and state. */
  readonly dir: string;
  /** Global flags every command gets (for running podman yourself). */
  readonly globalArgs: readonly string[];
  /** CONTAINERS_CONF and CONTAINERS_STORAGE_CONF. */
  readonly env: Readonly<Record<string, string>>;
  /** Runs podman with the private storage. Never throws on a non-zero exit. */
  podman(args: string[], opts?: CmdOptions): Promise<CmdResult>;
  /** Like podman(), but throws (with the command, stdout and stderr) on a non-zero exit. */
  podmanOk(args: string[], opts?: CmdOptions): Promise<CmdResult>;
  /** `podman import` with `CMD ["/bin/sh"]` and the usual PATH; returns the image id. */
  importRootfs(tarPath: string, name: string, opts?: { changes?: string[] }): Promise<string>;
  /** Removes containers, kills leftovers, unmounts and deletes the dir. Idempotent. */
  stop(): Promise<void>;
}

export interface CreatePodmanOptions {
  storageDriver?: 'overlay' | 'vfs';
  /** OCI runtime; default runc when installed (see the module comment), else crun. */
  runtime?: string;
}

const DIR_PREFIX = 'obox-podman-';

function hardLimit(name: string): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(name));
    const hard = line?.slice(26).trim().split(/\s+/)[1];
    return hard === undefined || hard === 'unlimited' ? undefined : Number(hard);
  } catch {
    return undefined;
  }
}

function containerIds(dir: string): string[] {
  const ids: string[] = [];
  for (const d of ['overlay-containers', 'vfs-containers']) {
    try {
      for (const e of readdirSync(path.join(dir, 'root', d))) if (/^[0-9a-f]{64}$/.test(e)) ids.push(e);
    } catch {
      // none
    }
  }
  return ids;
}

function cleanupPodmanDir(dir: string): void {
  // Containers first (their cgroups: libpod_parent/libpod-ID), then conmon & co., mounts, files.
  for (const id of containerIds(dir)) removeCgroupSync(`libpod_parent/libpod-${id}`);
  cleanupTreeSync(dir, {});
}

/** Cleans up podman dirs left by test processes that died without stopping them. */
export function sweepStalePodman(): void {
  sweepStale(DIR_PREFIX, cleanupPodmanDir);
}

export function createPodman(opts: CreatePodmanOptions = {}): Podman {
  sweepStalePodman();
  const dir = makeOwnedTempDir(DIR_PREFIX);
  const driver = opts.storageDriver ?? 'overlay';
  const runtime = opts.runtime ?? (hasTool('runc') ? 'runc' : 'crun');
  const root = path.join(dir, 'root');
  const runroot = path.join(dir, 'run');
  for (const d of ['tmp', 'net', 'volumes']) mkdirSync(path.join(dir, d));

  let pidMax: number | undefined;
  try {
    pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
  } catch {
    pidMax = undefined;
  }
  const nofile = hardLimit('Max open files');
  const nprocHard = hardLimit('Max processes');
  const nproc = nprocHard === undefined ? pidMax : pidMax === undefined ? nprocHard : Math.min(nprocHard, pidMax);
  const ulimits = [...(nofile ? [`"nofile=${nofile}:${nofile}"`] : []), ...(nproc ? [`"nproc=${nproc}:${nproc}"`] : [])];
  const containersConf = path.join(dir, 'containers.conf');
  writeFileSync(
    containersConf,
    `[containers]\ndefault_ulimits = [${ulimits.join(', ')}]\n\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\nruntime = "${runtime}"\n`,
  );
  const storageConf = path.join(dir, 'storage.conf');
  writeFileSync(storageConf, `[storage]\ndriver = "${driver}"\ngraphroot = "${root}"\nrunroot = "${runroot}"\n`);
  const env = { CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf };

  const globalArgs = [
    `--root=${root}`,
    `--runroot=${runroot}`,
    `--tmpdir=${path.join(dir, 'tmp')}`,
    `--volumepath=${path.join(dir, 'volumes')}`,
    `--network-config-dir=${path.join(dir, 'net')}`,
    '--cgroup-manager=cgroupfs',
    '--events-backend=none',
    `--storage-driver=${driver}`,
    `--runtime=${runtime}`,
  ];
  const podmanEnv = (extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, ...env, ...extra };
    delete e.CONTAINER_HOST;
    delete e.CONTAINER_CONNECTION;
    return e;
  };
  const podman = (a: string[], o: CmdOptions = {}): Promise<CmdResult> => runCmd('podman', [...globalArgs, ...a], podmanEnv(o.env), o);
  const podmanOk = async (a: string[], o?: CmdOptions): Promise<CmdResult> => {
    const r = await podman(a, o);
    if (r.code !== 0) throw failure('podman', a, r);
    return r;
  };

  const stopSync = (): void => {
    if (existsSync(root)) {
      spawnSync('podman', [...globalArgs, 'rm', '-af', '-t', '0'], { env: podmanEnv(), stdio: 'ignore', timeout: 20_000 });
    }
    cleanupPodmanDir(dir);
  };
  const unregister = registerCleanup(dir, stopSync);

  let stopping: Promise<void> | undefined;
  return {
    dir,
    globalArgs,
    env,
    podman,
    podmanOk,
    importRootfs: async (tarPath, name, o = {}) => {
      const changes = ['CMD ["/bin/sh"]', `ENV PATH=${DEFAULT_PATH}`, ...(o.changes ?? [])];
      const r = await podmanOk(['import', '--quiet', ...changes.flatMap((c) => ['--change', c]), tarPath, name], { timeoutMs: 300_000 });
      return r.stdout.trim();
    },
    stop: () => {
      stopping ??= (async () => {
        if (existsSync(root)) await podman(['rm', '-af', '-t', '0'], { timeoutMs: 30_000 }).catch(() => undefined);
        unregister();
        cleanupPodmanDir(dir);
      })();
      return stopping;
    },
  };
}
