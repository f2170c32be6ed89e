/** Small pure parts: environment, /etc files, rootless id mappings, runtime flags and logs, mount stubs. */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PATH,
  buildEnv,
  hostsFileContent,
  parseSubIds,
  resolvConfContent,
  rootlessMappings,
  selectRuntime,
  toHostId,
} from '../../../src/executor/run/index.js';
import { recordMountStubs, removeMountStubs } from '../../../src/executor/run/mount-stubs.js';
import { globalArgs, lastRuntimeError, newContainerId, validContainerId } from '../../../src/executor/run/runtime.js';

describe('buildEnv', () => {
  it('adds PATH and HOME when missing, later entries win in the first position', () => {
    expect(buildEnv(['A=1', 'B=2', 'A=3'], { home: '/root' })).toEqual(['A=3', 'B=2', `PATH=${DEFAULT_PATH}`, 'HOME=/root']);
    expect(buildEnv(['PATH=/x', 'HOME=/h', 'NOVALUE'], { home: '/root' })).toEqual(['PATH=/x', 'HOME=/h', 'NOVALUE=']);
  });
});

describe('/etc files', () => {
  it("hosts as BuildKit writes it", () => {
    expect(hostsFileContent('sandbox')).toBe('127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  });

  it('resolv.conf: the host file for host networking, no nameservers for none', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'obox-resolv-test-'));
    try {
      const f = path.join(dir, 'resolv.conf');
      await fsp.writeFile(f, 'nameserver 10.0.0.1\nsearch example\n');
      expect(await resolvConfContent('host', f)).toBe('nameserver 10.0.0.1\nsearch example\n');
      expect(await resolvConfContent('host', path.join(dir, 'missing'))).toBe('');
      expect(await resolvConfContent('none', f)).not.toMatch(/nameserver/);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('rootless id mappings', () => {
  const subuid = '# comment\nalice:100000:65536\n1001:200000:1000\nbob:300000:65536\nalice:500000:10\nbad:x:y\n';

  it('parses /etc/subuid by name or uid', () => {
    expect(parseSubIds(subuid, { name: 'alice', uid: 1000 })).toEqual([
      { start: 100000, count: 65536 },
      { start: 500000, count: 10 },
    ]);
    expect(parseSubIds(subuid, { uid: 1001 })).toEqual([{ start: 200000, count: 1000 }]);
    expect(parseSubIds(subuid, { name: 'carol', uid: 1002 })).toEqual([]);
  });

  it('maps container root to the user and 1… to the ranges', () => {
    const maps = rootlessMappings(1000, parseSubIds(subuid, { name: 'alice', uid: 1000 }));
    expect(maps).toEqual([
      { containerID: 0, hostID: 1000, size: 1 },
      { containerID: 1, hostID: 100000, size: 65536 },
      { containerID: 65537, hostID: 500000, size: 10 },
    ]);
    expect(toHostId(0, maps)).toBe(1000);
    expect(toHostId(1000, maps)).toBe(100999);
    expect(toHostId(65537, maps)).toBe(500000);
    expect(toHostId(65547, maps)).toBeUndefined();
  });
});

describe('runtime', () => {
  it('selects runc or crun and puts state under the state dir', () => {
    expect(selectRuntime({ stateDir: '/s' })).toMatchObject({ binary: 'runc', kind: 'runc', stateRoot: '/s/runc', rootless: false });
    expect(selectRuntime({ runtime: '/usr/local/bin/crun', stateDir: '/s' })).toMatchObject({ kind: 'crun', stateRoot: '/s/crun' });
    expect(() => selectRuntime({ runtime: 'docker', stateDir: '/s' })).toThrow(/unsupported OCI runtime/);
  });

  it('global flags: root, json log, --rootless for runc only', () => {
    expect(globalArgs(selectRuntime({ stateDir: '/s' }), '/b/log.json')).toEqual(['--root', '/s/runc', '--log', '/b/log.json', '--log-format', 'json']);
    expect(globalArgs(selectRuntime({ stateDir: '/s', rootless: true }))).toEqual(['--root', '/s/runc', '--rootless', 'true']);
    expect(globalArgs(selectRuntime({ runtime: 'crun', stateDir: '/s', rootless: true }))).toEqual(['--root', '/s/crun']);
  });

  it('container ids', () => {
    expect(validContainerId(newContainerId())).toBe(true);
    expect(newContainerId()).not.toBe(newContainerId());
    for (const bad of ['', '..', 'a/b', 'a b']) expect(validContainerId(bad)).toBe(false);
  });

  it("reads the runtime's last error from its JSON log", async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'obox-log-test-'));
    try {
      const f = path.join(dir, 'log.json');
      await fsp.writeFile(
        f,
        '{"level":"warning","msg":"meh"}\n{"level":"error","msg":"first"}\n{"level":"error","msg":"runc run failed: exec: \\"x\\": not found"}\n',
      );
      expect(await lastRuntimeError(f)).toBe('runc run failed: exec: "x": not found');
      expect(await lastRuntimeError(path.join(dir, 'missing'))).toBeUndefined();
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('mount stubs', () => {
  it('removes what the runtime created for mount points if still empty, keeping parent times', async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'obox-stubs-test-'));
    try {
      await fsp.mkdir(path.join(root, 'etc'));
      await fsp.mkdir(path.join(root, 'proc'));
      const stubs = await recordMountStubs(root, ['/proc', '/etc/hosts', '/etc/resolv.conf', '/run/secrets/a', '/cache/x']);
      // Deepest first, so a directory is only considered once what was made inside it is gone.
      expect(stubs.paths.map((p) => path.relative(root, p))).toEqual([
        'run/secrets/a',
        'run/secrets',
        'etc/resolv.conf',
        'etc/hosts',
        'cache/x',
        'run',
        'cache',
      ]);
      // What a runtime would have made: empty files and dirs; the command wrote into /cache/x's parent.
      for (const f of ['etc/hosts', 'etc/resolv.conf']) await fsp.writeFile(path.join(root, f), '');
      await fsp.mkdir(path.join(root, 'run/secrets/a'), { recursive: true });
      await fsp.mkdir(path.join(root, 'cache/x'), { recursive: true });
      await fsp.writeFile(path.join(root, 'cache/kept'), 'data');
      await fsp.utimes(path.join(root, 'etc'), 1_600_000_000, 1_600_000_000);
      expect(await removeMountStubs(stubs)).toEqual([]);
      expect((await fsp.readdir(root)).sort()).toEqual(['cache', 'etc', 'proc']);
      expect(await fsp.readdir(path.join(root, 'cache'))).toEqual(['kept']);
      expect(await fsp.readdir(path.join(root, 'etc'))).toEqual([]);
      expect((await fsp.stat(path.join(root, 'etc'))).mtimeMs).toBe(1_600_000_000_000);
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});
