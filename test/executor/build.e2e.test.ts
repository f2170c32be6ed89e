/**
 * obox build end to end against a real dockerd: build with obox → save → docker load → docker
 * run, compared with what BuildKit (the same dockerd) builds from the same Containerfile.
 * (BuildKit here runs its built-in frontend offline: no heredocs, no `# syntax` line.)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { obox, repoRoot } from '../helpers/cli.js';
import { DOCKERD_TOOLS, mountsUnder, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { writeContext } from '../helpers/context.js';
import { requires } from '../helpers/requirements.js';
import { BUSYBOX_ROOTFS_TOOLS, makeBusyboxRootfs } from '../infra/rootfs.js';

const ok = requires({ root: true, tools: [...DOCKERD_TOOLS, ...BUSYBOX_ROOTFS_TOOLS, 'runc'] });

describe.skipIf(!ok)('obox build end to end (dockerd + BuildKit oracle)', () => {
  let tmp: string;
  let root: string;
  let dockerd: Dockerd;
  const run = (args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) => obox(['--root', root, ...args], opts);

  const context = (name: string, containerfile: string, files: Record<string, string> = {}): string => writeContext(tmp, name, containerfile, files);

  /** Builds with obox, loads into docker as obox-NAME; builds with BuildKit as bk-NAME. */
  async function buildBoth(name: string, dir: string, extra: string[] = []): Promise<void> {
    const archive = path.join(tmp, `${name}.tar`);
    const r = run(['build', '-q', '-t', `obox-${name}`, '-o', `type=docker,dest=${archive}`, ...extra, dir]);
    expect(r.stderr, r.stderr).toBe('');
    expect(r.code).toBe(0);
    await dockerd.dockerOk(['load', '-i', archive]);
    await dockerd.buildkit(['-q', '-t', `bk-${name}`, '-f', path.join(dir, 'Containerfile'), ...extra, dir]).then((b) => {
      if (b.code !== 0) throw new Error(`BuildKit failed: ${b.stderr}`);
    });
  }

  async function dockerRun(image: string, script: string): Promise<string> {
    return (await dockerd.dockerOk(['run', '--rm', '--network', 'none', '--entrypoint', '/bin/sh', image, '-c', script])).stdout;
  }

  async function config(image: string): Promise<Record<string, unknown>> {
    return JSON.parse((await dockerd.dockerOk(['inspect', image])).stdout)[0].Config;
  }

  function expectNothingLeft(): void {
    expect(mountsUnder(root)).toEqual([]);
    expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
    const runc = spawnSyncText('runc', ['--root', path.join(root, 'run-v1', 'runc'), 'list', '-q']);
    expect(runc.trim()).toBe('');
  }

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'obox-build-e2e-'));
    root = path.join(tmp, 'store');
    const rootfs = await makeBusyboxRootfs(path.join(tmp, 'busybox.tar'));
    expect(run(['import', rootfs, '-t', 'busybox']).code).toBe(0);
    dockerd = await startDockerd();
    await dockerd.importRootfs(rootfs, 'busybox');
  }, 120_000);

  afterAll(async () => {
    await dockerd?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('matches BuildKit for metadata: ENV, LABEL, EXPOSE, USER, WORKDIR, ENTRYPOINT/CMD, VOLUME, STOPSIGNAL, HEALTHCHECK, ONBUILD', async () => {
    const dir = context(
      'meta',
      [
        'FROM busybox',
        'ENV A=1 B="two words"',
        'LABEL org.example.title="obox" version=1',
        'EXPOSE 80 443/udp 8000-8001',
        'WORKDIR /srv/app',
        'WORKDIR sub',
        'VOLUME ["/data", "/logs"]',
        'STOPSIGNAL SIGQUIT',
        'HEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD wget -q -O- http://localhost/ || exit 1',
        'ONBUILD RUN echo child',
        'ENTRYPOINT ["/bin/echo"]',
        'CMD ["hello"]',
        'USER app:app',
        '',
      ].join('\n'),
    );
    await buildBoth('meta', dir);
    const [mine, theirs] = await Promise.all([config('obox-meta'), config('bk-meta')]);
    for (const key of ['Env', 'Labels', 'ExposedPorts', 'User', 'WorkingDir', 'Entrypoint', 'Cmd', 'Volumes', 'StopSignal', 'Healthcheck', 'OnBuild']) {
      expect(mine[key], key).toEqual(theirs[key]);
    }
    const out = (await dockerd.dockerOk(['run', '--rm', '--network', 'none', 'obox-meta'])).stdout;
    expect(out.trim()).toBe('hello');
    expect(await dockerRun('obox-meta', 'pwd; id -u; id -g')).toBe('/srv/app/sub\n1000\n1000\n');
  });

  it('ENTRYPOINT drops an inherited CMD unless the stage sets CMD, like BuildKit', async () => {
    const dir = context('entry', 'FROM busybox\nENTRYPOINT ["/bin/ls"]\n');
    await buildBoth('entry', dir);
    const [mine, theirs] = await Promise.all([config('obox-entry'), config('bk-entry')]);
    expect(mine.Cmd).toEqual(theirs.Cmd);
    expect(mine.Entrypoint).toEqual(theirs.Entrypoint);
  });

  it('keeps files, modes, owners, links, setuid and sticky bits the way BuildKit does; whiteouts and opaque dirs apply', async () => {
    const script = [
      'set -e',
      'mkdir -p /t/sticky /t/dir && chmod 1777 /t/sticky',
      'echo data > /t/file && chown 1234:5678 /t/file && chmod 4755 /t/file',
      'ln /t/file /t/hard && ln -s ../t/file /t/dir/sym',
      'mkfifo /t/fifo',
      'rm /bin/vi && rm -rf /root && mkdir /root && echo new > /root/only',
    ].join(' && ');
    const dir = context('files', `FROM busybox\nRUN ${script}\nRUN rm /t/dir/sym && echo replaced > /t/dir/sym\n`);
    await buildBoth('files', dir);
    const probe =
      'for f in /t /t/sticky /t/dir /t/file /t/hard /t/dir/sym /t/fifo /root /root/only; do stat -c "%n %A %u:%g %h %s" $f; done; ls /root; ls /bin/vi 2>&1 || true; cat /t/dir/sym';
    const [mine, theirs] = await Promise.all([dockerRun('obox-files', probe), dockerRun('bk-files', probe)]);
    expect(mine).toBe(theirs);
    expect(mine).toContain('/t/file -rwsr-xr-x 1234:5678 2');
    expect(mine).toContain('/t/sticky drwxrwxrwt');
    expect(mine).toContain('/t/fifo prw-r--r--');
    expect(mine).toMatch(/\nonly\n/);
    expect(mine).toContain('No such file');
  });

  it('ARG before FROM, --build-arg and --target', async () => {
    const dir = context(
      'args',
      ['ARG BASE=busybox', 'ARG MSG=default', 'FROM ${BASE} AS first', 'ARG MSG', 'RUN echo "$MSG" > /msg', 'FROM first AS second', 'RUN echo second >> /msg', 'FROM busybox', 'RUN echo third > /msg', ''].join('\n'),
    );
    await buildBoth('args', dir, ['--build-arg', 'MSG=from-cli', '--target', 'second']);
    const [mine, theirs] = await Promise.all([dockerRun('obox-args', 'cat /msg'), dockerRun('bk-args', 'cat /msg')]);
    expect(mine).toBe('from-cli\nsecond\n');
    expect(mine).toBe(theirs);
  });

  it('runs the base image ONBUILD triggers first', async () => {
    const parent = context('onbuild-parent', 'FROM busybox\nONBUILD RUN echo triggered > /onbuild\n');
    expect(run(['build', '-q', '-t', 'onbuild-parent', parent]).code).toBe(0);
    const child = context('onbuild-child', 'FROM onbuild-parent\nRUN cat /onbuild > /seen\n');
    const archive = path.join(tmp, 'onbuild.tar');
    expect(run(['build', '-q', '-t', 'onbuild-child', '-o', archive, child]).code).toBe(0);
    await dockerd.dockerOk(['load', '-i', archive]);
    expect(await dockerRun('onbuild-child', 'cat /seen')).toBe('triggered\n');
    const cfg = await config('onbuild-child');
    expect(cfg.OnBuild ?? null).toBeNull();
  });

  it('COPY/ADD semantics match BuildKit: wildcards, dir contents, trailing slash, ignore file, ADD tar.gz, --chmod', async () => {
    const dir = context(
      'copy',
      [
        'FROM busybox',
        'COPY src/ /app/',
        'COPY src /app2',
        'COPY *.txt /texts/',
        'COPY src/a.txt /renamed.txt',
        'COPY src/a.txt src/sub/ /multi/',
        'COPY --chmod=0750 src/a.txt /chmod/',
        'ADD pkg.tar.gz /opt/',
        'ADD plain.bin /opt/plain.bin',
        'WORKDIR /rel',
        'COPY src/a.txt here/',
        '',
      ].join('\n'),
      {
        'src/a.txt': 'a\n',
        'src/sub/b.txt': 'b\n',
        'src/sub/skip.log': 'ignored\n',
        'top.txt': 'top\n',
        'other.txt': 'other\n',
        'secret.txt': 'must not be copied\n',
        'plain.bin': 'not an archive\n',
        '.dockerignore': '**/*.log\nsecret.txt\n',
      },
    );
    const arch = path.join(tmp, 'arch');
    mkdirSync(path.join(arch, 'd'), { recursive: true });
    writeFileSync(path.join(arch, 'd', 'f'), 'inside\n');
    spawnSync('tar', ['czf', path.join(dir, 'pkg.tar.gz'), '-C', arch, 'd']);
    await buildBoth('copy', dir);
    const probe = 'cd / && find app app2 texts renamed.txt multi chmod opt rel | sort | while read f; do stat -c "%n %a %u:%g %s %F" "$f"; done';
    const [mine, theirs] = await Promise.all([dockerRun('obox-copy', probe), dockerRun('bk-copy', probe)]);
    expect(mine).toBe(theirs);
    expect(mine).toContain('opt/d/f 644 0:0 7 regular file');
    expect(mine).toContain('chmod/a.txt 750');
    expect(mine).not.toContain('secret');
    expect(mine).not.toContain('skip.log');
  });

  it('heredoc RUN and COPY (obox only: the BuildKit here predates heredocs)', async () => {
    const dir = context(
      'heredoc',
      ['FROM busybox', 'ARG WHO=world', 'RUN <<EOF', 'echo "hello $WHO" > /from-run', 'EOF', 'COPY <<EOF /from-copy', 'copied $WHO', 'EOF', 'RUN cat /from-copy >> /from-run', ''].join('\n'),
    );
    const archive = path.join(tmp, 'heredoc.tar');
    const r = run(['build', '-q', '-t', 'heredoc', '-o', archive, dir]);
    expect(r.code, r.stderr).toBe(0);
    await dockerd.dockerOk(['load', '-i', archive]);
    expect(await dockerRun('heredoc', 'cat /from-run')).toBe('hello world\ncopied world\n');
  });

  it('FROM docker-archive:F and oci-archive:F build on air-gapped bases', async () => {
    for (const format of ['docker', 'oci'] as const) {
      const dir = context(`archive-${format}`, `FROM ${format}-archive:base.tar\nRUN echo on-${format} > /x\n`);
      expect(run(['save', '--format', format, '-o', path.join(dir, 'base.tar'), 'busybox']).code).toBe(0);
      const fresh = path.join(tmp, `fresh-${format}`);
      const out = path.join(tmp, `archive-${format}.tar`);
      const r = obox(['--root', fresh, 'build', '-q', '-t', `from-${format}-archive`, '-o', out, dir]);
      expect(r.code, r.stderr).toBe(0);
      await dockerd.dockerOk(['load', '-i', out]);
      expect(await dockerRun(`from-${format}-archive`, 'cat /x')).toBe(`on-${format}\n`);
    }
    const missing = run(['build', '-q', '-f', '-', tmp], { input: 'FROM docker-archive:nope.tar\n' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('<stdin>:1:6: base image docker-archive:nope.tar not found');
  });

  it('RUN --mount: a secret is readable in the step but never reaches a layer; a cache mount persists across builds', async () => {
    const secretFile = path.join(tmp, 'token.txt');
    writeFileSync(secretFile, 'sup3r-s3cret-value\n');
    const dir = context(
      'mounts',
      [
        'FROM busybox',
        'RUN --mount=type=secret,id=tok cat /run/secrets/tok | wc -c > /secret-length',
        'RUN --mount=type=secret,id=tok,env=TOKEN test "${#TOKEN}" = 18 && echo env-ok > /env-ok',
        'RUN --mount=type=cache,target=/cache echo run >> /cache/runs && wc -l < /cache/runs > /runs-seen',
        '',
      ].join('\n'),
    );
    const rootfs = path.join(tmp, 'mounts-rootfs');
    const first = run(['build', '-q', '--secret', `id=tok,src=${secretFile}`, '-o', `type=local,dest=${rootfs}`, dir]);
    expect(first.code, first.stderr).toBe(0);
    const { readFileSync, existsSync } = await import('node:fs');
    expect(readFileSync(path.join(rootfs, 'secret-length'), 'utf8').trim()).toBe('19');
    expect(readFileSync(path.join(rootfs, 'env-ok'), 'utf8')).toBe('env-ok\n');
    expect(existsSync(path.join(rootfs, 'run', 'secrets'))).toBe(false);
    expect(spawnSync('grep', ['-r', '-l', 'sup3r-s3cret', path.join(root, 'blobs'), path.join(root, 'layers-v1')]).stdout.toString()).toBe('');
    expect(readFileSync(path.join(rootfs, 'runs-seen'), 'utf8').trim()).toBe('1');
    const rootfs2 = path.join(tmp, 'mounts-rootfs-2');
    // --no-cache: the same steps would otherwise be cache hits and not run at all.
    expect(run(['build', '-q', '--no-cache', '--secret', `id=tok,src=${secretFile}`, '-o', `type=local,dest=${rootfs2}`, dir]).code).toBe(0);
    expect(readFileSync(path.join(rootfs2, 'runs-seen'), 'utf8').trim()).toBe('2');
    // Secret mounts are optional unless required=true (as in BuildKit).
    const noSecret = run(['build', '-q', '-f', '-', dir], { input: 'FROM busybox\nRUN --mount=type=secret,id=tok,required=true true\n' });
    expect(noSecret.code).toBe(1);
    expect(noSecret.stderr).toContain('secret tok not found');
  });

  it('a failing RUN exits 1 with the exit code, the Containerfile line and the output tail, and leaves nothing behind', () => {
    const dir = context('fail', 'FROM busybox\nRUN echo before\nRUN echo "something broke" >&2; exit 7\nRUN echo never\n');
    const r = run(['build', '--progress', 'plain', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Containerfile:3:1: process "\/bin\/sh -c echo \\?"something broke\\?" >&2; exit 7" did not complete successfully: exit code: 7/);
    expect(r.stderr).toContain(' 3 | RUN echo');
    expect(r.stderr).toContain('> something broke');
    expect(r.stderr).not.toContain('never');
    expectNothingLeft();
  });

  it('SIGINT mid-RUN stops the build and removes every mount, container and temp dir', async () => {
    const dir = context('sigint', 'FROM busybox\nRUN echo started && sleep 60\n');
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'obox.js'), '--root', root, 'build', '--progress', 'plain', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const started = new Promise<void>((resolve) => {
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        if (stderr.includes('started')) resolve();
      });
    });
    await started;
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expectNothingLeft();
  });

  it('builds 120 layers (docker’s limit) that docker loads and runs, and 300 layers (obox’s own)', async () => {
    const steps = (n: number) => Array.from({ length: n }, (_, i) => `RUN echo ${i} > /layer-${i}`).join('\n');
    const dir120 = context('l120', `FROM busybox\n${steps(119)}\n`);
    const archive = path.join(tmp, 'l120.tar');
    const r = run(['build', '-q', '-t', 'l120', '-o', archive, dir120]);
    expect(r.stderr).toBe('');
    await dockerd.dockerOk(['load', '-i', archive]);
    expect(await dockerRun('l120', 'cat /layer-0 /layer-118')).toBe('0\n118\n');
    expect(JSON.parse((await dockerd.dockerOk(['inspect', 'l120'])).stdout)[0].RootFS.Layers).toHaveLength(120);

    const dir300 = context('l300', `FROM busybox\n${steps(299)}\nRUN cat /layer-0 /layer-298 > /check\n`);
    const r300 = run(['build', '-q', '-t', 'l300', dir300]);
    expect(r300.stderr).toBe('');
    expect(r300.code).toBe(0);
    const info = JSON.parse(run(['inspect', 'l300']).stdout)[0];
    expect(info.RootFS.diff_ids).toHaveLength(301);
    expectNothingLeft();
  }, 600_000);
});

function spawnSyncText(cmd: string, args: string[]): string {
  return spawnSync(cmd, args, { encoding: 'utf8' }).stdout ?? '';
}
