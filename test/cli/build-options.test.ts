import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { obox, repoRoot } from '../helpers/cli.js';
import { requires } from '../helpers/requirements.js';

const ok = requires({ root: true, tools: ['busybox', 'runc', 'skopeo'] });

describe.skipIf(!ok)('obox build options', () => {
  let dir: string;
  let root: string;
  let ctx: string;
  const run = (args: string[], input?: string) => obox(['--root', root, ...args], { input });

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'obox-build-opts-'));
    root = path.join(dir, 'store');
    const rootfs = path.join(dir, 'busybox.tar');
    execFileSync('bash', [path.join(repoRoot, 'native-scripts/make-rootfs-busybox.sh'), rootfs], { stdio: 'ignore' });
    expect(run(['import', rootfs, '-t', 'busybox']).code).toBe(0);
    ctx = path.join(dir, 'ctx');
    mkdirSync(ctx);
    writeFileSync(path.join(ctx, 'Containerfile'), 'FROM busybox\nRUN echo built > /built\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--label, --iidfile, -t twice, -q', () => {
    const iid = path.join(dir, 'iid');
    const r = run(['build', '-q', '-t', 'one', '-t', 'two:v2', '--label', 'a=1', '--label', 'b=two words', '--iidfile', iid, ctx]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(readFileSync(iid, 'utf8'));
    const [info] = JSON.parse(run(['inspect', 'two:v2']).stdout);
    expect(info.Id).toBe(r.stdout.trim());
    expect(info.Config.Labels).toEqual({ a: '1', 'b': 'two words' });
    expect(info.RepoTags).toEqual(['one:latest', 'two:v2']);
  });

  it('-o FILE.tar, type=docker, type=oci (archive and dir), type=local', () => {
    const outs = {
      plain: path.join(dir, 'plain.tar'),
      docker: path.join(dir, 'docker.tar'),
      oci: path.join(dir, 'oci.tar'),
      ociDir: path.join(dir, 'oci-dir'),
      local: path.join(dir, 'rootfs'),
    };
    const r = run([
      'build', '-q', '-t', 'outputs',
      '-o', outs.plain,
      '-o', `type=docker,dest=${outs.docker}`,
      '-o', `type=oci,dest=${outs.oci}`,
      '-o', `type=oci,dest=${outs.ociDir},tar=false`,
      '-o', `type=local,dest=${outs.local}`,
      ctx,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(outs.plain).equals(readFileSync(outs.docker))).toBe(true);
    expect(execFileSync('tar', ['-tf', outs.docker], { encoding: 'utf8' })).toContain('manifest.json');
    const fromArchive = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${outs.oci}`], { encoding: 'utf8' }));
    const fromDir = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${outs.ociDir}:docker.io/library/outputs:latest`], { encoding: 'utf8' }));
    expect(fromArchive.Layers).toHaveLength(2);
    expect(fromDir.Layers).toEqual(fromArchive.Layers);
    expect(readFileSync(path.join(outs.local, 'built'), 'utf8')).toBe('built\n');
    expect(existsSync(path.join(outs.local, 'bin', 'busybox'))).toBe(true);
  });

  it('a bind mount source symlinked out of the context never exposes host files', () => {
    const evil = path.join(dir, 'evil');
    mkdirSync(evil);
    execFileSync('ln', ['-s', '/etc', path.join(evil, 'escape')]);
    writeFileSync(path.join(evil, 'Containerfile'), 'FROM busybox\nRUN --mount=type=bind,source=escape,target=/m cat /m/hostname > /leak\n');
    const r = run(['build', '-q', evil]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain(readFileSync('/etc/hostname', 'utf8').trim() || 'never-matches');
  });

  it('--platform: this machine is fine, another architecture is refused clearly (no emulation)', () => {
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    expect(run(['build', '-q', '--platform', `linux/${arch}`, ctx]).code).toBe(0);
    const other = arch === 'amd64' ? 'arm64' : 'amd64';
    const r = run(['build', '-q', '--platform', `linux/${other}`, ctx]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot build for linux/${other}`);
  });

  it('SHELL runs shell-form RUN steps (and exec form is untouched)', () => {
    const shellCtx = path.join(dir, 'shell');
    mkdirSync(shellCtx);
    writeFileSync(path.join(shellCtx, 'Containerfile'), 'FROM busybox\nRUN false; echo plain-sh-continues > /a\nSHELL ["/bin/sh", "-e", "-c"]\nRUN ["/bin/sh", "-c", "false; echo exec-form > /b"]\nRUN false; echo never > /c\n');
    const r = run(['build', '--progress', 'plain', shellCtx]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Containerfile:5:1: process "/bin/sh -e -c false; echo never > /c" did not complete successfully: exit code: 1');
    expect(r.stderr).toMatch(/#1 DONE/); // plain sh: `false;` does not stop it
    expect(r.stderr).toMatch(/#3 DONE/); // exec form ignores SHELL
  });

  it('a malformed SOURCE_DATE_EPOCH is a clear usage error, not silently ignored', () => {
    const r = obox(['--root', root, 'build', '-q', ctx], { env: { SOURCE_DATE_EPOCH: 'yesterday' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('SOURCE_DATE_EPOCH="yesterday" is not a number of seconds since the epoch');
  });

  it('bad option values are usage errors (exit 2)', () => {
    for (const args of [
      ['-o', 'type=registry,dest=x'],
      ['-o', 'type=oci'],
      ['-o', 'type=oci,dest=x,tar=maybe'],
      ['--network', 'bridge'],
      ['--progress', 'fancy'],
      ['--secret', 'id=x'],
      ['--label', 'novalue'],
    ]) {
      const r = run(['build', ...args, ctx]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).not.toMatch(/\bat .*\.js:\d+/);
    }
  });
});
