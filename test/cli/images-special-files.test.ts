/**
 * Acceptance test of the "Images on disk" issue, item 4: layer tars with special files round-trip
 * through obox and docker with everything intact, driven through the real CLI.
 *
 * A root filesystem directory (the busybox rootfs plus a file capability, a hardlink pair, a char
 * device, a fifo, a path longer than 255 bytes, setuid/setgid files, a sticky dir, a file owned
 * 1234:5678, a user.* xattr) → `obox import DIR` → `obox build` a RUN step that deletes a file and
 * replaces a directory (a whiteout and an opaque dir) → `obox save` → `docker load` → checked inside
 * a docker container, through `docker export`, and in docker's own layer store. Then back: `docker
 * save` → `obox load` → `obox build` on top (which unpacks the layers docker wrote) → checked in
 * obox's unpacked layer directories and in obox's RUN container.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER_CLI, DOCKERD_TOOLS, type Dockerd, startDockerd } from '../helpers/dockerd.js';
import { requires } from '../helpers/requirements.js';
import { BUSYBOX_ROOTFS_TOOLS, makeBusyboxRootfs } from '../infra/rootfs.js';
import { bash, cmd, cmdOk, imageNamed, oboxOk, tarNames } from './oracle-helpers.js';

const ok = requires({
  root: true,
  tools: [...DOCKERD_TOOLS, ...BUSYBOX_ROOTFS_TOOLS, 'setpriv', 'setcap', 'getcap', 'setfattr', 'getfattr', 'mknod', 'mkfifo'],
});

/** Six 50-character directories: a path of 330 bytes, past ustar's 255 (needs PAX or GNU long names). */
const LONG_DIR = `special/long/${Array.from({ length: 6 }, (_, i) => `${String(i).repeat(3)}-${'x'.repeat(46)}`).join('/')}`;
const LONG_FILE = `${LONG_DIR}/the-end.txt`;

/** Adds the special files to an extracted busybox rootfs (relative paths; run with cwd = the rootfs). */
const MAKE_SPECIAL = `
cp bin/busybox sbin/capped
setcap cap_net_raw+ep sbin/capped
mkdir -p special
echo linked > special/hl1
ln special/hl1 special/hl2
mknod special/chardev c 1 3
mkfifo -m 0620 special/fifo
mkdir -p "${LONG_DIR}"
echo deep > "${LONG_FILE}"
echo suid > special/suid && chmod 4755 special/suid
echo sgid > special/sgid && chmod 2711 special/sgid
mkdir special/sticky && chmod 1777 special/sticky
echo owned > special/owned && chown 1234:5678 special/owned && chmod 0640 special/owned
touch -d @1000000000 special/owned
mkdir special/owned-dir && chown 1234:5678 special/owned-dir && chmod 0750 special/owned-dir
echo xattr > special/xattr && setfattr -n user.foo -v bar special/xattr
ln -s ../etc/passwd special/symlink
`;

/** busybox stat lines for the paths checked in every copy: name|octal mode|uid:gid|links|type|major,minor. */
const STAT_PATHS = [
  'special/hl1',
  'special/hl2',
  'special/chardev',
  'special/fifo',
  'special/suid',
  'special/sgid',
  'special/sticky',
  'special/owned',
  'special/owned-dir',
  'special/symlink',
  'sbin/capped',
  LONG_FILE,
];
const EXPECTED_STAT: Record<string, string> = {
  'special/hl1': '644|0:0|2|regular file',
  'special/hl2': '644|0:0|2|regular file',
  'special/chardev': '644|0:0|1|character special file|1,3',
  'special/fifo': '620|0:0|1|fifo',
  'special/suid': '4755|0:0|1|regular file',
  'special/sgid': '2711|0:0|1|regular file',
  'special/sticky': '1777|0:0|2|directory',
  'special/owned': '640|1234:5678|1|regular file',
  'special/owned-dir': '750|1234:5678|2|directory',
  'special/symlink': '777|0:0|1|symbolic link',
  'sbin/capped': '755|0:0|1|regular file',
  [LONG_FILE]: '644|0:0|1|regular file',
};

/**
 * A shell script printing one line per STAT_PATHS entry (relative to $1, default /), with busybox's
 * or GNU's stat (same format letters), then the RUN step's effects.
 */
const CHECK_SCRIPT = `
cd "\${1:-/}"
for p in ${STAT_PATHS.map((p) => `'${p}'`).join(' ')}; do
  s=$(stat -c '%a|%u:%g|%h|%F' "$p")
  case "$s" in *character*) s="$s|$(stat -c '%t,%T' "$p")" ;; esac
  echo "$p|$s"
done
echo "long: $(cat '${LONG_FILE}')"
echo "mtime: $(stat -c %Y special/owned)"
echo "hardlink same inode: $([ "$(stat -c %i special/hl1)" = "$(stat -c %i special/hl2)" ] && echo yes || echo no)"
echo "group: $([ -e etc/group ] && echo present || echo gone)"
echo "usr/sbin: $(ls -A usr/sbin | tr '\\n' ' ')"
echo "passwd: $([ -e etc/passwd ] && echo present || echo gone)"
`;

/** What CHECK_SCRIPT prints for an intact copy of the built image. */
function expectedCheck(): string {
  const lines = STAT_PATHS.map((p) => `${p}|${EXPECTED_STAT[p]!}`);
  return [...lines, 'long: deep', 'mtime: 1000000000', 'hardlink same inode: yes', 'group: gone', 'usr/sbin: only ', 'passwd: present', ''].join('\n');
}

describe.skipIf(!ok)('special files round-trip through obox and docker (CLI)', () => {
  let tmp: string;
  let root: string;
  let d: Dockerd;
  let builtId: string;
  let archive: string;

  const file = (name: string): string => path.join(tmp, name);

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'obox-images-special-'));
    root = file('store');
    const rootfsTar = await makeBusyboxRootfs(file('busybox.tar'));
    const tree = file('rootfs');
    mkdirSync(tree);
    await cmdOk('tar', ['-xpf', rootfsTar, '-C', tree]);
    await cmdOk('bash', ['-euc', MAKE_SPECIAL], { cwd: tree });
    expect(LONG_FILE.length).toBeGreaterThan(255);
    // The tree itself is what the checks expect (a sanity check of the fixture, with GNU stat;
    // usr/sbin and etc/group are only changed by the build below).
    const own = await cmdOk('sh', ['-c', CHECK_SCRIPT, 'check', tree]);
    expect(own.stdout.split('\n').slice(0, STAT_PATHS.length)).toEqual(expectedCheck().split('\n').slice(0, STAT_PATHS.length));
    d = await startDockerd();
  });

  afterAll(async () => {
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('obox import DIR, then a RUN step deleting a file and replacing a dir; the layers hold the specials, a whiteout and an opaque marker', async () => {
    const imported = await oboxOk(root, ['import', file('rootfs'), '-t', 'special']);
    expect(imported.stderr).toBe('');
    const ctx = file('ctx');
    mkdirSync(ctx);
    writeFileSync(path.join(ctx, 'Containerfile'), 'FROM special\nRUN rm /etc/group && rm -rf /usr/sbin && mkdir /usr/sbin && touch /usr/sbin/only\n');
    const built = await oboxOk(root, ['build', '--network', 'none', '--progress', 'plain', '-t', 'special2', ctx]);
    builtId = built.stdout.trim();
    expect(builtId).toMatch(/^sha256:[0-9a-f]{64}$/);

    archive = file('special2.tar');
    await oboxOk(root, ['save', '-o', archive, 'special2']);
    const x = file('special2.x');
    mkdirSync(x);
    await cmdOk('tar', ['-xf', archive, '-C', x]);
    const manifest = JSON.parse((await cmdOk('cat', [path.join(x, 'manifest.json')])).stdout) as Array<{ Layers: string[] }>;
    const [base, top] = manifest[0]!.Layers;
    // The RUN layer: a whiteout for /etc/group, an opaque /usr/sbin with only its new file.
    expect((await tarNames(path.join(x, top!))).sort()).toEqual(['etc/', 'etc/.wh.group', 'usr/', 'usr/sbin/', 'usr/sbin/.wh..wh..opq', 'usr/sbin/only']);
    // The imported layer, listed by GNU tar with xattrs: every special file as what it is.
    const list = (await cmdOk('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-tvvf', path.join(x, base!)])).stdout;
    // With --xattrs, GNU tar marks entries that have xattrs with a '*' after the mode: drop it.
    const entry = (name: string): string =>
      (list.split('\n').find((l) => l.endsWith(` ${name}`) || l.includes(` ${name} `)) ?? `(no ${name})`).replace(/^(\S{10})\*? +/, '$1 ');
    expect(entry('special/chardev')).toMatch(/^crw-r--r-- 0\/0 +1,3 /);
    expect(entry('special/fifo')).toMatch(/^prw--w---- 0\/0 /);
    expect(entry('special/hl2')).toMatch(/^hrw-r--r-- 0\/0 .* special\/hl2 link to special\/hl1$/);
    expect(entry('special/suid')).toMatch(/^-rwsr-xr-x /);
    expect(entry('special/sgid')).toMatch(/^-rwx--s--x /);
    expect(entry('special/sticky/')).toMatch(/^drwxrwxrwt /);
    expect(entry('special/owned')).toMatch(/^-rw-r----- 1234\/5678 /);
    expect(entry(LONG_FILE)).toMatch(/^-rw-r--r-- 0\/0 /);
    expect(list).toMatch(/sbin\/capped\n\s+x: +20 security\.capability\n/);
    expect(list).toMatch(/special\/xattr\n\s+x: +3 user\.foo\n/);
  });

  it('docker load, then inside a docker container: modes, owners, links, device, fifo, long path, whiteout, opaque dir', async () => {
    const loaded = await d.dockerOk(['load', '-i', archive]);
    expect(loaded.stdout).toContain('Loaded image: special2:latest');
    expect((await d.dockerOk(['image', 'inspect', '--format', '{{.Id}}', 'special2'])).stdout.trim()).toBe(builtId);
    const r = await d.dockerOk(['run', '--rm', '--network', 'none', 'special2', 'sh', '-c', CHECK_SCRIPT, 'check', '/']);
    expect(r.stdout).toBe(expectedCheck());
  });

  it('docker export keeps the file capability (docker only archives security.capability, not user.*); docker’s layer store keeps both', async () => {
    const created = await d.dockerOk(['create', '--network', 'none', 'special2', 'true']);
    const id = created.stdout.trim();
    const out = file('exported');
    mkdirSync(out);
    const env = { ...d.env, OUT: out, ID: id, DOCKER: DOCKER_CLI };
    await bash(`"$DOCKER" export "$ID" | tar --xattrs --xattrs-include='*' --numeric-owner -xpf - -C "$OUT"`, { env }).then((r) => {
      if (r.code !== 0) throw new Error(r.stderr);
    });
    const cap = await cmdOk('getcap', [path.join(out, 'sbin/capped')]);
    expect(cap.stdout).toMatch(/sbin\/capped (cap_net_raw=ep|cap_net_raw\+ep)$/m);
    // The rest of the tree survives the export as well.
    const check = await cmdOk('sh', ['-c', CHECK_SCRIPT, 'check', out]);
    expect(check.stdout).toBe(expectedCheck());

    // docker 20.10's export (pkg/archive) writes only security.capability of a file's xattrs, so
    // user.foo is not in the exported tar...
    const listed = (await bash(`"$DOCKER" export "$ID" | tar --xattrs --xattrs-include='*' -tvvf - special/xattr sbin/capped`, { env })).stdout;
    expect(listed).toContain('security.capability');
    expect(listed).not.toContain('user.foo');
    const fattr = await cmd('getfattr', ['--only-values', '-n', 'user.foo', path.join(out, 'special/xattr')]);
    expect(fattr.code).not.toBe(0);
    await d.dockerOk(['rm', id]);

    // ...but docker applied it when it unpacked the layer: the overlay2 lower dir has it.
    const graph = JSON.parse((await d.dockerOk(['image', 'inspect', '--format', '{{json .GraphDriver}}', 'special2'])).stdout) as {
      Name: string;
      Data: Record<string, string>;
    };
    expect(graph.Name).toBe('overlay2');
    const dirs = [graph.Data.UpperDir, ...(graph.Data.LowerDir ?? '').split(':')].filter((p): p is string => !!p);
    const withXattr = dirs.map((dir) => path.join(dir, 'special/xattr')).find((p) => statSync(p, { throwIfNoEntry: false }));
    expect(withXattr).toBeDefined();
    expect((await cmdOk('getfattr', ['--only-values', '-n', 'user.foo', withXattr!])).stdout).toBe('bar');
  });

  it('back again: docker save → obox load (same ID) → obox build on top unpacks docker’s layers intact', async () => {
    const saved = file('docker-special2.tar');
    await d.dockerOk(['save', '-o', saved, 'special2']);
    const store = file('store-back');
    const loaded = await oboxOk(store, ['load', '-i', saved]);
    expect(loaded.stdout).toContain('Loaded image: docker.io/library/special2:latest');
    const row = await imageNamed(store, 'docker.io/library/special2:latest');
    expect(row.id).toBe(builtId);

    const ctx = file('ctx-back');
    mkdirSync(ctx);
    // The script travels base64-encoded: a RUN line is one line.
    const b64 = Buffer.from(CHECK_SCRIPT).toString('base64');
    writeFileSync(path.join(ctx, 'Containerfile'), `FROM special2\nRUN echo ${b64} | base64 -d > /tmp/check.sh && sh /tmp/check.sh /\n`);
    const built = await oboxOk(store, ['build', '--network', 'none', '--progress', 'plain', '-t', 'special3', ctx]);
    expect(built.stdout.trim()).toMatch(/^sha256:/);
    // The RUN step (in obox's own runc container, on overlay over the layers it unpacked from docker's
    // tars) sees the same tree as docker's container did. Plain progress: "#1 0.012 LINE".
    const runOutput = built.stderr
      .split('\n')
      .map((l) => /^#\d+ \d+\.\d+ (.*)$/.exec(l)?.[1])
      .filter((l): l is string => l !== undefined);
    expect(`${runOutput.join('\n')}\n`).toBe(expectedCheck());

    // obox's unpacked layer dirs (overlay lower dirs) of the loaded layers hold the specials too.
    const layerDir = path.join(store, 'layers-v1', 'sha256', row.config.rootfs.diff_ids[0]!.slice(7));
    expect(readdirSync(layerDir)).toContain('special');
    const check = await cmdOk('sh', ['-c', CHECK_SCRIPT, 'check', layerDir]);
    // Only the base layer: /etc/group and /usr/sbin are as imported there.
    expect(check.stdout.split('\n').slice(0, STAT_PATHS.length + 3)).toEqual(expectedCheck().split('\n').slice(0, STAT_PATHS.length + 3));
    expect((await cmdOk('getcap', [path.join(layerDir, 'sbin/capped')])).stdout).toMatch(/cap_net_raw[=+]ep/);
    expect((await cmdOk('getfattr', ['--only-values', '-n', 'user.foo', path.join(layerDir, 'special/xattr')])).stdout).toBe('bar');
  });
});
