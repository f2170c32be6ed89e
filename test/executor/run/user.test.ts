/** USER resolution from the image's /etc/passwd and /etc/group (moby/sys/user rules, BuildKit's fast path). */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, OboxError } from '../../../src/errors.js';
import { parseGroup, parsePasswd, resolveUser, resolveUserFrom } from '../../../src/executor/run/index.js';
import { GROUP, PASSWD } from './helpers.js';

const passwd = `${PASSWD}\n  \nweb:x:33:33:www:/var/www:/bin/false\nnohome:x:77:77:::\n`;
const group = `${GROUP}wheel:x:10:root,app\nwww-data:x:33:web\nsecond:x:3000:web,app\n`;

function err(f: () => unknown): OboxError {
  try {
    f();
  } catch (e) {
    if (e instanceof OboxError) return e;
    throw e;
  }
  throw new Error('expected an OboxError');
}

describe('parsePasswd / parseGroup', () => {
  it('reads entries, skipping blank lines', () => {
    expect(parsePasswd(passwd).map((u) => u.name)).toEqual(['root', 'nobody', 'app', 'web', 'nohome']);
    expect(parsePasswd(passwd)[2]).toEqual({ name: 'app', uid: 1000, gid: 1000, home: '/home/app' });
    expect(parseGroup(group).find((g) => g.name === 'extra')).toEqual({ name: 'extra', gid: 2000, members: ['app'] });
    expect(parseGroup(group).find((g) => g.name === 'app')!.members).toEqual([]);
  });
});

describe('resolveUserFrom', () => {
  it('empty is root with no supplementary groups (BuildKit), HOME from passwd', () => {
    expect(resolveUserFrom('', passwd, group)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root' });
  });

  it('a name: its uid, primary gid, home and group memberships', () => {
    expect(resolveUserFrom('app', passwd, group)).toEqual({
      uid: 1000,
      gid: 1000,
      additionalGids: [2000, 10, 3000],
      home: '/home/app',
      name: 'app',
    });
    expect(resolveUserFrom('root', passwd, group).additionalGids).toEqual([10]);
  });

  it('a numeric uid found in passwd behaves like its name', () => {
    expect(resolveUserFrom('33', passwd, group)).toEqual({ uid: 33, gid: 33, additionalGids: [33, 3000], home: '/var/www', name: 'web' });
  });

  it('a numeric uid not in passwd: gid 0, home /, no groups (like docker)', () => {
    expect(resolveUserFrom('4321', passwd, group)).toEqual({ uid: 4321, gid: 0, additionalGids: [], home: '/' });
  });

  it('uid:gid numeric is taken as is without lookups', () => {
    expect(resolveUserFrom('4321:4321', passwd, group)).toEqual({ uid: 4321, gid: 4321, additionalGids: [], home: '/' });
    expect(resolveUserFrom('1000:1000', passwd, group)).toEqual({ uid: 1000, gid: 1000, additionalGids: [], home: '/home/app' });
    expect(resolveUserFrom('5:6', null, null)).toEqual({ uid: 5, gid: 6, additionalGids: [], home: '/' });
  });

  it('name:group and name:gid set the group and no supplementary groups', () => {
    expect(resolveUserFrom('app:extra', passwd, group)).toMatchObject({ uid: 1000, gid: 2000, additionalGids: [] });
    expect(resolveUserFrom('app:33', passwd, group)).toMatchObject({ uid: 1000, gid: 33, additionalGids: [] });
    expect(resolveUserFrom('app:9999', passwd, group)).toMatchObject({ uid: 1000, gid: 9999, additionalGids: [] });
    expect(resolveUserFrom('4321:extra', passwd, group)).toMatchObject({ uid: 4321, gid: 2000 });
  });

  it("unknown names fail with docker's messages", () => {
    const u = err(() => resolveUserFrom('ghost', passwd, group));
    expect(u.code).toBe(ErrorCodes.notFound);
    expect(u.message).toBe('unable to find user ghost: no matching entries in passwd file');
    const g = err(() => resolveUserFrom('app:ghosts', passwd, group));
    expect(g.code).toBe(ErrorCodes.notFound);
    expect(g.message).toBe('unable to find group ghosts: no matching entries in group file');
  });

  it('without /etc/passwd only numeric users work', () => {
    expect(err(() => resolveUserFrom('app', null, null)).message).toBe('unable to find user app: no matching entries in passwd file');
    expect(resolveUserFrom('1000', null, null)).toEqual({ uid: 1000, gid: 0, additionalGids: [], home: '/' });
    expect(err(() => resolveUserFrom('1000:staff', null, null)).message).toMatch(/unable to find group staff/);
  });

  it('refuses ids out of range', () => {
    expect(err(() => resolveUserFrom('4294967296', passwd, group)).message).toMatch(/range/);
    expect(err(() => resolveUserFrom('1:-1', passwd, group)).message).toMatch(/range/);
  });
});

describe('resolveUser reads the files inside the rootfs only', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'obox-user-test-'));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('reads /etc/passwd and /etc/group', async () => {
    const root = path.join(dir, 'root');
    await fsp.mkdir(path.join(root, 'etc'), { recursive: true });
    await fsp.writeFile(path.join(root, 'etc/passwd'), passwd);
    await fsp.writeFile(path.join(root, 'etc/group'), group);
    expect(await resolveUser(root, 'app')).toMatchObject({ uid: 1000, additionalGids: [2000, 10, 3000] });
    expect((await resolveUser(root, 'nohome')).home).toBe('/');
  });

  it('a symlinked /etc pointing outside is resolved inside the root', async () => {
    const root = path.join(dir, 'root');
    const outside = path.join(dir, 'outside');
    await fsp.mkdir(root);
    await fsp.mkdir(outside);
    await fsp.writeFile(path.join(outside, 'passwd'), 'evil:x:0:0::/:/bin/sh\n');
    await fsp.symlink('../../../../../../outside', path.join(root, 'etc'));
    await expect(resolveUser(root, 'evil')).rejects.toThrow(/unable to find user evil/);
    await fsp.rm(path.join(root, 'etc'));
    await fsp.mkdir(path.join(root, 'etc'));
    await fsp.symlink(path.join(outside, 'passwd'), path.join(root, 'etc/passwd'));
    await expect(resolveUser(root, 'evil')).rejects.toThrow(/unable to find user evil/);
    // The same absolute link, made to exist inside the root, is followed there.
    await fsp.mkdir(path.join(root, outside), { recursive: true });
    await fsp.writeFile(path.join(root, outside, 'passwd'), 'inside:x:7:7::/in:/bin/sh\n');
    expect(await resolveUser(root, 'inside')).toMatchObject({ uid: 7, home: '/in' });
  });

  it('/etc/passwd that is a directory counts as missing', async () => {
    const root = path.join(dir, 'root');
    await fsp.mkdir(path.join(root, 'etc/passwd'), { recursive: true });
    expect(await resolveUser(root, '12')).toMatchObject({ uid: 12, gid: 0 });
  });
});
