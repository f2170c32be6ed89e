/** Resolving and creating paths inside a root filesystem without ever leaving it. */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OboxError } from '../../../src/errors.js';
import { mkdirAllInRoot, readFileInRoot, resolveInRoot } from '../../../src/executor/run/index.js';

describe('in-root paths', () => {
  let dir = '';
  let root = '';
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'obox-inroot-test-'));
    root = path.join(dir, 'root');
    await fsp.mkdir(path.join(root, 'usr/lib'), { recursive: true });
    await fsp.mkdir(path.join(dir, 'outside'));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('plain paths, "." and ".." (clamped at the root)', async () => {
    expect(await resolveInRoot(root, '/usr/lib')).toBe(path.join(root, 'usr/lib'));
    expect(await resolveInRoot(root, 'usr/./lib/')).toBe(path.join(root, 'usr/lib'));
    expect(await resolveInRoot(root, '/../../..')).toBe(root);
    expect(await resolveInRoot(root, '/usr/../../../etc')).toBe(path.join(root, 'etc'));
    expect(await resolveInRoot(root, '/')).toBe(root);
  });

  it('follows symlinks relative to the root', async () => {
    await fsp.symlink('/usr/lib', path.join(root, 'lib'));
    await fsp.symlink('../../../../outside', path.join(root, 'usr/up'));
    await fsp.symlink(path.join(dir, 'outside'), path.join(root, 'abs'));
    expect(await resolveInRoot(root, '/lib/x')).toBe(path.join(root, 'usr/lib/x'));
    expect(await resolveInRoot(root, '/usr/up/x')).toBe(path.join(root, 'outside/x'));
    expect(await resolveInRoot(root, '/abs/x')).toBe(path.join(root, dir, 'outside/x'));
    expect(await resolveInRoot(root, '/lib/../bin')).toBe(path.join(root, 'usr/bin'));
  });

  it('a symlink loop is an error, not a hang', async () => {
    await fsp.symlink('b', path.join(root, 'a'));
    await fsp.symlink('a', path.join(root, 'b'));
    await expect(resolveInRoot(root, '/a/x')).rejects.toBeInstanceOf(OboxError);
  });

  it('mkdirAllInRoot creates through symlinks inside the root only, and refuses files in the way', async () => {
    await fsp.symlink(path.join(dir, 'outside'), path.join(root, 'escape'));
    const made = await mkdirAllInRoot(root, '/escape/a/b');
    expect(made).toBe(path.join(root, dir, 'outside/a/b'));
    expect(await fsp.readdir(path.join(dir, 'outside'))).toEqual([]);
    expect((await fsp.stat(made)).mode & 0o7777).toBe(0o755);
    await fsp.writeFile(path.join(root, 'file'), '');
    await expect(mkdirAllInRoot(root, '/file/sub')).rejects.toThrow(/exists and is not a directory/);
    expect(await mkdirAllInRoot(root, '/usr/lib')).toBe(path.join(root, 'usr/lib'));
  });

  it('readFileInRoot: content, or null when missing', async () => {
    await fsp.writeFile(path.join(dir, 'outside/secret'), 'host secret');
    await fsp.symlink(path.join(dir, 'outside/secret'), path.join(root, 'link'));
    expect(await readFileInRoot(root, '/link')).toBeNull();
    await fsp.writeFile(path.join(root, 'usr/f'), 'inside');
    expect(await readFileInRoot(root, '/usr/lib/../f')).toBe('inside');
    expect(await readFileInRoot(root, '/nope/f')).toBeNull();
  });
});
