/**
 * Root filesystem tarballs for real-tool tests, made by native-scripts/make-rootfs-*.sh from Debian
 * packages only (no registry). Import them with Dockerd.importRootfs or Podman.importRootfs.
 *
 *  - makeBusyboxRootfs(out): busybox-static + applet symlinks + passwd/group (root, app 1000,
 *    nobody), ~2 MB, deterministic, ~0.5 s. Needs busybox-static.
 *  - makeDebianRootfs(out): mmdebstrap --variant=minbase bookworm, ~170 MB; cached for the day in
 *    $OBOX_TEST_CACHE (default /var/cache/obox-test as root), ~15 s to build, ~0.5 s from the cache.
 *    Needs mmdebstrap, root and the Debian mirror.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../helpers/cli.js';

export const BUSYBOX_ROOTFS_TOOLS = ['busybox', 'tar'];
export const DEBIAN_ROOTFS_TOOLS = ['mmdebstrap', 'dpkg', 'flock'];

const scripts = path.join(repoRoot, 'native-scripts');

function runScript(script: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(scripts, script), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${script} ${args.join(' ')} failed (${code ?? sig})\n${output}`));
    });
  });
}

/** Writes the busybox rootfs tarball to OUT (mtime: SOURCE_DATE_EPOCH or mtime, default 0). */
export async function makeBusyboxRootfs(out: string, opts: { mtime?: number } = {}): Promise<string> {
  const args = opts.mtime === undefined ? [out] : ['--mtime', String(opts.mtime), out];
  await runScript('make-rootfs-busybox.sh', args, 60_000);
  return out;
}

/** Writes a Debian minbase rootfs tarball to OUT (from the cache when it is fresh). */
export async function makeDebianRootfs(out: string, opts: { suite?: string; noCache?: boolean } = {}): Promise<string> {
  const args = [...(opts.suite ? ['--suite', opts.suite] : []), ...(opts.noCache ? ['--no-cache'] : []), out];
  await runScript('make-rootfs-debian.sh', args, 900_000);
  return out;
}
