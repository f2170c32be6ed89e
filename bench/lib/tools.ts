/**
 * The three builders as the harness drives them, each with its own private storage:
 *  - obox:     `obox --root STORE build --progress plain --network host`; cold = a fresh store and
 *              `obox import` of the base (timed apart, not in the build time).
 *  - BuildKit: a private dockerd 20.10 (test/helpers/dockerd.ts: own socket, data root, exec root,
 *              containerd); `DOCKER_BUILDKIT=1 /usr/bin/docker build --network host --progress plain`;
 *              cold = every image but the imported bases removed, `docker builder prune -af`.
 *  - buildah:  private containers/storage (test/helpers/podman.ts: overlay, runc, cgroupfs);
 *              `buildah bud --layers --network host --isolation oci --runtime runc` (--layers: a
 *              layer per step, reusable as cache, as podman build does); cold = every working
 *              container and every image but the bases removed. podman (same storage) exports.
 * The same dockerd also runs every tool's image once to check what it prints.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DOCKER_CLI, unmountUnderSync, type Dockerd } from '../../test/helpers/dockerd.js';
import type { Podman } from '../../test/helpers/podman.js';
import type { ToolKey } from './args.js';
import { stepsFromBuildah, stepsFromPlainProgress, type StepTiming } from './build-steps.js';
import { oboxArgv } from './obox.js';
import { run, type RunResult, type TimedLine } from './proc.js';

export interface BuildSpec {
  context: string;
  containerfile: string;
  tag: string;
  buildArgs: Record<string, string>;
}

export interface Command {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export type ExportFormat = 'docker' | 'oci';

export interface ExportSpec {
  format: ExportFormat;
  /** The command as the report names it. */
  label: string;
  command: Command;
  output: string;
}

export interface Tool {
  key: ToolKey;
  label: string;
  /** The build command, for the report. */
  buildLabel: string;
  /**
   * How step times are read from the progress output: when lines arrive (printed as they happen),
   * or the builder's own reported durations (BuildKit's client prints in batches).
   */
  progressClock: 'arrival' | 'reported';
  /** Processes whose tree counts with the client's in peak memory (BuildKit: dockerd). */
  daemonPids(): number[];
  /** Makes the next build of BASE cold; returns untimed set-up (obox: the import). */
  makeCold(base: { tar: string; name: string }): Promise<{ importMs?: number }>;
  build(b: BuildSpec): Command;
  steps(lines: readonly TimedLine[]): StepTiming[];
  /** Where the tool keeps images and build cache (for its size on disk). */
  storeDir(): string;
  /** The image's name in this tool's storage for a workload tag. */
  tag(name: string): string;
  exports(tag: string, dir: string): ExportSpec[];
  /** Runs the image with docker (loading it first when it is not BuildKit's); returns its output. */
  runImage(tag: string, scratch: string): Promise<string>;
  /** Drops everything the workload left (images, cache, store). */
  clean(): Promise<void>;
}

export function dockerEnv(d: Dockerd, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...d.env, ...extra };
  delete e.DOCKER_CONTEXT;
  delete e.DOCKER_TLS_VERIFY;
  delete e.DOCKER_CERT_PATH;
  return e;
}

const buildArgFlags = (args: Record<string, string>): string[] => Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);

async function dockerRun(d: Dockerd, image: string): Promise<string> {
  const r = await d.dockerOk(['run', '--rm', '--network', 'none', image], { timeoutMs: 300_000 });
  return r.stdout.trim();
}

/** docker load ARCHIVE, run IMAGE, remove both. */
async function dockerLoadRun(d: Dockerd, archive: string, image: string): Promise<string> {
  try {
    await d.dockerOk(['load', '-i', archive], { timeoutMs: 600_000 });
    return await dockerRun(d, image);
  } finally {
    await d.docker(['rmi', '-f', image]);
    rmSync(archive, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------

export function oboxTool(scratch: string, d: Dockerd): Tool {
  const store = path.join(scratch, 'obox-store');
  const wipe = (): void => {
    const left = unmountUnderSync(store);
    if (left.length > 0) throw new Error(`mounts left under the obox store: ${left.join(', ')}`);
    rmSync(store, { recursive: true, force: true });
  };
  const cmd = (args: string[]): Command => {
    const [file, a] = oboxArgv(store, args);
    return { file, args: a, env: process.env };
  };
  return {
    key: 'obox',
    label: 'obox',
    buildLabel: '`obox build --network host`',
    progressClock: 'arrival',
    daemonPids: () => [],
    makeCold: async (base) => {
      wipe();
      const c = cmd(['import', base.tar, '-t', base.name]);
      const r = await run(c.file, c.args, { env: c.env });
      return { importMs: r.ms };
    },
    build: (b) => cmd(['build', '--progress', 'plain', '--network', 'host', ...buildArgFlags(b.buildArgs), '-f', b.containerfile, '-t', b.tag, b.context]),
    steps: stepsFromPlainProgress,
    storeDir: () => store,
    tag: (name) => `${name}-obox:latest`,
    exports: (tag, dir) => [
      { format: 'docker', label: '`obox save`', command: cmd(['save', '-o', path.join(dir, 'obox-docker.tar'), tag]), output: path.join(dir, 'obox-docker.tar') },
      {
        format: 'oci',
        label: '`obox save --format oci`',
        command: cmd(['save', '--format', 'oci', '-o', path.join(dir, 'obox-oci.tar'), tag]),
        output: path.join(dir, 'obox-oci.tar'),
      },
    ],
    runImage: async (tag, dir) => {
      mkdirSync(dir, { recursive: true });
      const archive = path.join(dir, 'obox-verify.tar');
      const c = cmd(['save', '-o', archive, tag]);
      await run(c.file, c.args, { env: c.env });
      return dockerLoadRun(d, archive, tag);
    },
    clean: async () => wipe(),
  };
}

// ---------------------------------------------------------------------------------------------

/** Every image id in the daemon (full, without `sha256:`). */
async function dockerImageIds(d: Dockerd): Promise<string[]> {
  const r = await d.dockerOk(['images', '-aq', '--no-trunc']);
  return [...new Set(r.stdout.split('\n').map((s) => s.trim().replace(/^sha256:/, '')).filter(Boolean))];
}

export function buildkitTool(d: Dockerd, baseIds: () => ReadonlySet<string>): Tool {
  const env = dockerEnv(d, { DOCKER_BUILDKIT: '1' });
  const dropAllButBases = async (): Promise<void> => {
    const ids = (await dockerImageIds(d)).filter((id) => !baseIds().has(id));
    if (ids.length > 0) await d.dockerOk(['rmi', '-f', ...ids], { timeoutMs: 300_000 });
    await d.dockerOk(['builder', 'prune', '-af'], { timeoutMs: 600_000 });
    const left = (await dockerImageIds(d)).filter((id) => !baseIds().has(id));
    if (left.length > 0) throw new Error(`docker images left after rmi: ${left.join(', ')}`);
  };
  return {
    key: 'buildkit',
    label: 'BuildKit',
    buildLabel: '`DOCKER_BUILDKIT=1 docker build --network host` (dockerd 20.10)',
    progressClock: 'reported',
    daemonPids: () => [d.pid],
    makeCold: async () => {
      await dropAllButBases();
      return {};
    },
    build: (b) => ({
      file: DOCKER_CLI,
      args: ['build', '--network', 'host', '--progress', 'plain', ...buildArgFlags(b.buildArgs), '-f', b.containerfile, '-t', b.tag, b.context],
      env,
    }),
    steps: stepsFromPlainProgress,
    storeDir: () => path.join(d.dir, 'data'),
    tag: (name) => `${name}-buildkit:latest`,
    exports: (tag, dir) => [
      { format: 'docker', label: '`docker save`', command: { file: DOCKER_CLI, args: ['save', '-o', path.join(dir, 'docker.tar'), tag], env }, output: path.join(dir, 'docker.tar') },
    ],
    runImage: (tag) => dockerRun(d, tag),
    clean: dropAllButBases,
  };
}

// ---------------------------------------------------------------------------------------------

function buildahGlobal(p: Podman): string[] {
  return ['--root', path.join(p.dir, 'root'), '--runroot', path.join(p.dir, 'run'), '--storage-driver', 'overlay', '--cgroup-manager', 'cgroupfs'];
}

function buildahEnv(p: Podman): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...p.env, TMPDIR: path.join(p.dir, 'tmp') };
  delete e.CONTAINER_HOST;
  delete e.CONTAINER_CONNECTION;
  delete e.BUILDAH_ISOLATION;
  return e;
}

export function buildah(p: Podman, args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
  return run('buildah', [...buildahGlobal(p), ...args], { env: buildahEnv(p), timeoutMs: opts.timeoutMs ?? 600_000, ...(opts.allowFail ? { allowFail: true } : {}) });
}

async function buildahImageIds(p: Podman): Promise<string[]> {
  const r = await buildah(p, ['images', '-a', '-q', '--no-trunc']);
  return [...new Set(r.stdout.split('\n').map((s) => s.trim().replace(/^sha256:/, '')).filter(Boolean))];
}

export function buildahTool(p: Podman, d: Dockerd, baseIds: () => ReadonlySet<string>): Tool {
  const env = buildahEnv(p);
  const podmanEnv: NodeJS.ProcessEnv = { ...process.env, ...p.env };
  delete podmanEnv.CONTAINER_HOST;
  delete podmanEnv.CONTAINER_CONNECTION;
  const dropAllButBases = async (): Promise<void> => {
    await buildah(p, ['rm', '--all']);
    const ids = (await buildahImageIds(p)).filter((id) => !baseIds().has(id));
    if (ids.length > 0) await buildah(p, ['rmi', '-f', ...ids]);
    const left = (await buildahImageIds(p)).filter((id) => !baseIds().has(id));
    if (left.length > 0) throw new Error(`buildah images left after rmi: ${left.join(', ')}`);
  };
  const podmanSave = (format: 'docker-archive' | 'oci-archive', tag: string, out: string): Command => ({
    file: 'podman',
    args: [...p.globalArgs, 'save', '-q', '--format', format, '-o', out, tag],
    env: podmanEnv,
  });
  return {
    key: 'buildah',
    label: 'buildah',
    buildLabel: '`buildah bud --layers --network host --runtime runc`',
    progressClock: 'arrival',
    daemonPids: () => [],
    makeCold: async () => {
      await dropAllButBases();
      return {};
    },
    build: (b) => ({
      file: 'buildah',
      args: [
        ...buildahGlobal(p),
        'bud',
        '--layers',
        '--network',
        'host',
        '--isolation',
        'oci',
        '--runtime',
        'runc',
        ...buildArgFlags(b.buildArgs),
        '-f',
        b.containerfile,
        '-t',
        b.tag,
        b.context,
      ],
      env,
    }),
    steps: stepsFromBuildah,
    storeDir: () => path.join(p.dir, 'root'),
    tag: (name) => `${name}-buildah:latest`,
    exports: (tag, dir) => [
      { format: 'docker', label: '`podman save --format docker-archive`', command: podmanSave('docker-archive', tag, path.join(dir, 'podman-docker.tar')), output: path.join(dir, 'podman-docker.tar') },
      { format: 'oci', label: '`podman save --format oci-archive`', command: podmanSave('oci-archive', tag, path.join(dir, 'podman-oci.tar')), output: path.join(dir, 'podman-oci.tar') },
    ],
    runImage: async (tag, dir) => {
      mkdirSync(dir, { recursive: true });
      const archive = path.join(dir, 'buildah-verify.tar');
      await buildah(p, ['push', tag, `docker-archive:${archive}:${tag}`]);
      return dockerLoadRun(d, archive, tag);
    },
    clean: dropAllButBases,
  };
}
