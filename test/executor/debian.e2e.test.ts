/**
 * The README's main job and the Debian-based checks: the demo script builds the multi-stage C
 * example over a Debian minbase made on the spot; docker loads and runs it. A file capability
 * set in RUN and `useradd` + `COPY --chown=name --chmod` match what BuildKit builds.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { obox, repoRoot } from '../helpers/cli.js';
import { DOCKERD_TOOLS, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { requires } from '../helpers/requirements.js';
import { DEBIAN_ROOTFS_TOOLS, makeDebianRootfs } from '../infra/rootfs.js';

const ok = requires({ root: true, tools: [...DOCKERD_TOOLS, ...DEBIAN_ROOTFS_TOOLS, 'runc'] });

describe.skipIf(!ok)('Debian builds end to end', () => {
  let tmp: string;
  let root: string;
  let dockerd: Dockerd;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'obox-debian-e2e-'));
    root = path.join(tmp, 'store');
    dockerd = await startDockerd();
  }, 120_000);

  afterAll(async () => {
    await dockerd?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("the README's main job: demo.sh builds the multi-stage C example into a tarball docker loads and runs", async () => {
    const out = path.join(tmp, 'hello.tar');
    const r = spawnSync('bash', [path.join(repoRoot, 'native-scripts', 'demo.sh'), out], {
      cwd: repoRoot,
      env: { ...process.env, OBOX_ROOT: root },
      encoding: 'utf8',
      timeout: 600_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    await dockerd.dockerOk(['load', '-i', out]);
    const run = await dockerd.dockerOk(['run', '--rm', '--network', 'none', 'hello-obox']);
    expect(run.stdout).toBe('hello from obox\n');
    const info = JSON.parse((await dockerd.dockerOk(['inspect', 'hello-obox'])).stdout)[0];
    expect(info.Config.Entrypoint).toEqual(['/hello']);
    expect(info.RootFS.Layers).toHaveLength(1);
  }, 600_000);

  it('a file capability set in RUN, useradd then COPY --chown=name --chmod: same as BuildKit', async () => {
    const rootfs = await makeDebianRootfs(path.join(tmp, 'debian.tar'));
    expect(obox(['--root', root, 'import', rootfs, '-t', 'debian-minbase:bookworm']).code).toBe(0);
    await dockerd.importRootfs(rootfs, 'debian-minbase:bookworm');
    const ctx = path.join(tmp, 'ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(path.join(ctx, 'note.txt'), 'owned by appuser\n');
    writeFileSync(
      path.join(ctx, 'Containerfile'),
      [
        'FROM debian-minbase:bookworm',
        'RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libcap2-bin >/dev/null && rm -rf /var/lib/apt/lists/*',
        'RUN cp /bin/true /usr/local/bin/captrue && setcap cap_net_raw+ep /usr/local/bin/captrue',
        'RUN useradd -m -u 1500 appuser',
        'COPY --chown=appuser:appuser --chmod=0640 note.txt /home/appuser/note.txt',
        '',
      ].join('\n'),
    );
    const archive = path.join(tmp, 'caps.tar');
    const b = obox(['--root', root, 'build', '-q', '-t', 'obox-caps', '-o', archive, ctx]);
    expect(b.code, b.stderr).toBe(0);
    await dockerd.dockerOk(['load', '-i', archive]);
    const bk = await dockerd.buildkit(['-q', '-t', 'bk-caps', '-f', path.join(ctx, 'Containerfile'), ctx]);
    expect(bk.code, bk.stderr).toBe(0);
    const probe = 'getcap /usr/local/bin/captrue; stat -c "%n %a %U:%G %s" /home/appuser /home/appuser/note.txt; id appuser';
    const [mine, theirs] = await Promise.all(
      ['obox-caps', 'bk-caps'].map(async (img) => (await dockerd.dockerOk(['run', '--rm', '--network', 'none', img, 'sh', '-c', probe])).stdout),
    );
    expect(mine).toContain('cap_net_raw=ep');
    expect(mine).toContain('/home/appuser/note.txt 640 appuser:appuser 17');
    expect(mine).toBe(theirs);
  }, 600_000);
});
