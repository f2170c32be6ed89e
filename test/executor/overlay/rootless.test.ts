/**
 * Rootless: an unprivileged user (nobody) in a fresh user and mount namespace (`unshare -Urm`)
 * mounts kernel overlay with `userxattr` through the same mountOverlay, and removes trees with
 * mode-000 dirs without CAP_DAC_OVERRIDE. Needs root only to become nobody (setpriv).
 */
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { requires } from '../../helpers/requirements.js';
import { getXattr, useTmp } from './helpers.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const overlayModule = new URL('../../../src/executor/overlay/index.ts', import.meta.url).href;
const NOBODY = 65534;

/** Runs `script` (ESM, TypeScript imports through tsx) as nobody; tsx's cache goes to `tmp`. */
function asNobody(tmp: string, args: string[], script: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(
    'setpriv',
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...args, process.execPath, '--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: repoRoot, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', TMPDIR: tmp }, timeout: 60_000 },
  );
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!requires({ root: true, tools: ['setpriv', 'unshare', 'mount', 'umount', 'getfattr'] }))('rootless overlay', () => {
  const tmp = useTmp('obox-rootless-');

  it('mounts with userxattr inside unshare -Urm as an unprivileged user', async () => {
    const dir = tmp.dir;
    await fsp.chown(dir, NOBODY, NOBODY);
    const script = `
      import { promises as fsp } from 'node:fs';
      import path from 'node:path';
      import { mountOverlay, findMountsUnder } from ${JSON.stringify(overlayModule)};
      const dir = ${JSON.stringify(dir)};
      const layer = async (name, files) => {
        const d = path.join(dir, name);
        for (const [rel, c] of Object.entries(files)) {
          await fsp.mkdir(path.dirname(path.join(d, rel)), { recursive: true });
          await fsp.writeFile(path.join(d, rel), c);
        }
        return d;
      };
      const layers = [await layer('l0', { f: 'zero', gone: 'x', 'd/x': 'x' }), await layer('l1', { f: 'one' })];
      const m = await mountOverlay({ layers, stateDir: path.join(dir, 'state'), rootless: true, links: 'always', linksDir: path.join(dir, 'l') });
      const out = { data: m.data, f: await fsp.readFile(path.join(m.target, 'f'), 'utf8') };
      await fsp.rm(path.join(m.target, 'gone'));
      await fsp.rm(path.join(m.target, 'd'), { recursive: true });
      await fsp.mkdir(path.join(m.target, 'd'));
      await fsp.writeFile(path.join(m.target, 'new'), 'new');
      await m.unmount({ keepUpper: true });
      out.left = (await findMountsUnder(dir)).length;
      out.state = await fsp.readdir(path.join(dir, 'state'));
      console.log(JSON.stringify(out));
    `;
    const r = asNobody(dir, ['unshare', '-Urm'], script);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { data: string; f: string; left: number; state: string[] };
    expect(out.f).toBe('one');
    expect(out.data).toMatch(/,userxattr/);
    expect(out.left).toBe(0);
    expect(out.state).toEqual(['upper']);
    const upper = path.join(dir, 'state', 'upper');
    const gone = await fsp.lstat(path.join(upper, 'gone'));
    expect(gone.isCharacterDevice() && gone.rdev === 0).toBe(true);
    expect(getXattr(path.join(upper, 'd'), 'user.overlay.opaque')).toBe('y');
    expect((await fsp.stat(path.join(upper, 'new'))).uid).toBe(NOBODY);
  });

  it('removes a tree with mode-000 dirs as their unprivileged owner', async () => {
    const dir = tmp.dir;
    const work = path.join(dir, 'work');
    await fsp.mkdir(path.join(work, 'work', 'incompat'), { recursive: true });
    await fsp.writeFile(path.join(work, 'work', 'incompat', 'f'), 'x');
    for (const d of [dir, work, path.join(work, 'work'), path.join(work, 'work', 'incompat'), path.join(work, 'work', 'incompat', 'f')]) {
      await fsp.chown(d, NOBODY, NOBODY);
    }
    await fsp.chmod(path.join(work, 'work', 'incompat'), 0);
    await fsp.chmod(path.join(work, 'work'), 0);
    const plainRm = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'rm', '-rf', work], { encoding: 'utf8' });
    expect(plainRm.status, 'rm -rf alone cannot do it').not.toBe(0);
    const r = asNobody(dir, [], `import { removeTree } from ${JSON.stringify(overlayModule)}; await removeTree(${JSON.stringify(work)});`);
    expect(r.status, r.stderr).toBe(0);
    await expect(fsp.stat(work)).rejects.toThrow(/ENOENT/);
  });
});
