import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { obox, repoRoot } from '../helpers/cli.js';
import { requires } from '../helpers/requirements.js';

const ok = requires({ tools: ['busybox', 'skopeo'] });

describe.skipIf(!ok)('obox import, images, inspect, tag, rmi, history', () => {
  let dir: string;
  let root: string;
  let rootfsTar: string;
  const run = (args: string[], input?: string) => obox(['--root', root, ...args], { input });

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'obox-images-'));
    root = path.join(dir, 'store');
    rootfsTar = path.join(dir, 'busybox.tar');
    execFileSync('bash', [path.join(repoRoot, 'native-scripts/make-rootfs-busybox.sh'), rootfsTar], { stdio: 'ignore' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('imports a rootfs tar as a one-layer image the store and skopeo can see', () => {
    const r = run(['import', rootfsTar, '-t', 'busybox', '-t', 'localhost/bb:v1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);

    const list = JSON.parse(run(['images', '--format', 'json']).stdout);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id, layers: 1, os: 'linux', names: ['docker.io/library/busybox:latest', 'localhost/bb:v1'] });

    const table = run(['images']).stdout;
    expect(table).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE/);
    expect(table).toMatch(new RegExp(`\\nbusybox\\s+latest\\s+${id.slice(7, 19)}\\s`));
    expect(table).toContain('localhost/bb');

    const sk = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${root}:docker.io/library/busybox:latest`], { encoding: 'utf8' }));
    expect(sk.Layers).toEqual(list[0].layerDigests ?? sk.Layers);
    expect(sk.Architecture).toBe(list[0].architecture);
    // The layer's unpacked dir is ready to be an overlay lower dir.
    const layers = readdirSync(path.join(root, 'layers-v1', 'sha256'));
    expect(layers).toHaveLength(1);
    expect(readdirSync(path.join(root, 'layers-v1', 'sha256', layers[0]!, 'bin'))).toContain('busybox');
  });

  it('inspects by name, full ID and short ID prefix', () => {
    const id = JSON.parse(run(['images', '--format', 'json']).stdout)[0].id as string;
    for (const ref of ['busybox', 'docker.io/library/busybox:latest', id, id.slice(7, 19)]) {
      const r = run(['inspect', ref]);
      expect(r.code, ref).toBe(0);
      const [info] = JSON.parse(r.stdout);
      expect(info.Id).toBe(id);
      expect(info.RepoTags).toEqual(['busybox:latest', 'localhost/bb:v1']);
      expect(info.RootFS.diff_ids).toHaveLength(1);
    }
    const missing = run(['inspect', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope');
  });

  it('shows history and tags and removes names', () => {
    const h = run(['history', 'busybox']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('obox import');
    expect(h.stdout).toContain(`Imported from ${rootfsTar}`);
    expect(run(['tag', 'busybox', 'example.com/team/bb:2']).code).toBe(0);
    expect(JSON.parse(run(['images', '--format', 'json']).stdout)[0].names).toContain('example.com/team/bb:2');
    const rmi = run(['rmi', 'example.com/team/bb:2']);
    expect(rmi.stdout).toContain('Untagged: example.com/team/bb:2');
    expect(JSON.parse(run(['images', '--format', 'json']).stdout)[0].names).not.toContain('example.com/team/bb:2');
    expect(run(['rmi', 'never-existed']).code).toBe(1);
  });

  it('imports a directory and a tar from stdin; the same rootfs gives the same image ID with SOURCE_DATE_EPOCH', () => {
    const tree = path.join(dir, 'tree');
    mkdirSync(path.join(tree, 'etc'), { recursive: true });
    writeFileSync(path.join(tree, 'etc', 'hello'), 'hi\n');
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const a = obox(['--root', path.join(dir, 's1'), 'import', tree, '-t', 'tree'], { env });
    const b = obox(['--root', path.join(dir, 's2'), 'import', tree, '-t', 'tree'], { env });
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const tarBytes = readFileSync(rootfsTar);
    const viaStdin = obox(['--root', path.join(dir, 's3'), 'import', '-', '-t', 'x', '-m', 'from stdin'], { env, input: tarBytes as unknown as string });
    expect(viaStdin.code).toBe(0);
  });

  it('refuses every hostile tar naming the archive and entry, and leaves the store unchanged', () => {
    const before = run(['images', '--format', 'json']).stdout;
    const hostile = path.join(repoRoot, 'fixtures', 'hostile');
    const expected = JSON.parse(readFileSync(path.join(hostile, 'expected.json'), 'utf8')) as Array<{ file: string; entry: string }>;
    expect(expected.length).toBeGreaterThan(5);
    for (const { file, entry } of expected) {
      const r = run(['import', path.join(hostile, file), '-t', 'evil']);
      expect(r.code, file).toBe(1);
      expect(r.stderr, file).toContain(file);
      if (entry) expect(r.stderr, file).toContain(entry);
      expect(r.stderr, file).not.toMatch(/\bat .*\.js:\d+/);
    }
    expect(run(['images', '--format', 'json']).stdout).toBe(before);
    expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
  });

  it('a device node in a tar imported by a non-root user is refused, naming archive and entry; store unchanged', () => {
    if (!requires({ root: true, tools: ['setpriv', 'mknod'] })) return;
    const tree = path.join(dir, 'devtree');
    mkdirSync(tree);
    writeFileSync(path.join(tree, 'file'), 'hi\n');
    execFileSync('mknod', [path.join(tree, 'null'), 'c', '1', '3']);
    const tar = path.join(dir, 'device.tar');
    execFileSync('tar', ['cf', tar, '--owner=65534', '--group=65534', '--numeric-owner', '-C', tree, 'file', 'null']);
    const store = path.join(dir, 'nobody-store');
    mkdirSync(store);
    execFileSync('chown', ['65534:65534', store, dir]);
    execFileSync('chmod', ['a+r', tar]);
    const asNobody = (args: string[]) =>
      spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, path.join(repoRoot, 'bin', 'obox.js'), '--root', store, ...args], {
        encoding: 'utf8',
        env: { ...process.env, HOME: dir },
      });
    const r = asNobody(['import', tar, '-t', 'dev']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${tar}: cannot unpack entry "null"`);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
    expect(JSON.parse(asNobody(['images', '--format', 'json']).stdout)).toEqual([]);
    expect(readdirSync(path.join(store, 'tmp'))).toEqual([]);
  });

  it('a missing source is a clear error', () => {
    const r = run(['import', path.join(dir, 'nope.tar'), '-t', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no such file or directory');
  });
});
