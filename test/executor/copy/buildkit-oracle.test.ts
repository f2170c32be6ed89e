/**
 * obox's COPY/ADD against the real thing: the same Containerfile built by dockerd's BuildKit and
 * by obox's copier (on the same base root filesystem), then every destination compared — type,
 * mode (special bits included), owner, size and mtime of files, symlink targets, hardlinks.
 *
 * Only cases where BuildKit's behaviour is stable across versions are here: dockerd 20.10's
 * built-in frontend has no heredocs, --exclude, --parents or --checksum, and differs from current
 * BuildKit in --chmod details, --chown on archives and unknown --chown names (see the module's
 * comments for those decisions).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, lchownSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseContainerfile } from '../../../src/containerfile/parser.js';
import { parseIgnoreFile } from '../../../src/context/ignore.js';
import { contextSource, copyInto, copyRequestFrom, rootfsSource, type SourceTree } from '../../../src/executor/copy/index.js';
import { mkdirAllInRoot } from '../../../src/executor/run/index.js';
import { parseInstructions } from '../../../src/instructions/index.js';
import { DOCKERD_TOOLS, startDockerd, type Dockerd } from '../../helpers/dockerd.js';
import { requires } from '../../helpers/requirements.js';
import { BUSYBOX_ROOTFS_TOOLS, makeBusyboxRootfs } from '../../infra/rootfs.js';
import { make } from './helpers.js';
import { writeTar } from './tar.js';

const CONTAINERFILE = `FROM obox-copy-oracle/base AS s1
COPY --chown=1000:1001 a.txt /s1/file
COPY dir /s1/tree/

FROM obox-copy-oracle/base
COPY a.txt /f1
COPY a.txt /d1/
COPY dir /d2
COPY dir /d3/
COPY link /d4/
COPY link /f5
COPY dirlink /d6
COPY --chown=app:app a.txt /p/q/r/
COPY --chown=1000 dir /own/
COPY --chown=app:root a.txt /u4
COPY --chown=:app a.txt /u5
COPY --chmod=0640 plain.txt /m1
COPY dir /ex/
COPY dir2 /x/
COPY a.txt /app/
COPY a.txt /up/upfile
COPY ../../a.txt /dotdot
COPY d*/f2 /w/
COPY a?.txt /w2/
COPY nomatch* /nm/
COPY dir dir2 /newdest
COPY . /ctxall/
ADD a.tar.gz /merge
ADD b.tar.bz2 /merge/
ADD notar.gz /nt/
ADD ln.tgz /lnt/
ADD a.tar.gz /addnew
COPY --from=s1 /s1 /fromstage
COPY dir2 /app
COPY dir /sl/
COPY dirl* /wl/
COPY dir/. /dot/
COPY a.txt b1.txt /usr
COPY dir/[^a]* /star/
WORKDIR /wd
COPY a.txt rel/x
COPY a.txt b1.txt ./
`;

const DESTS = [
  '/f1', '/d1', '/d2', '/d3', '/d4', '/f5', '/d6', '/p', '/own', '/u4', '/u5', '/m1', '/ex', '/x', '/etc/a.txt', '/upfile', '/dotdot',
  '/w', '/w2', '/nm', '/newdest', '/ctxall', '/merge', '/nt', '/lnt', '/addnew', '/fromstage', '/wd',
  '/etc/etc', '/sl', '/wl', '/dot', '/star', '/usr/a.txt', '/usr/b1.txt', '/etc/motd',
];

/** One line per path: type, mode, owner, then size+mtime for files and the target for symlinks. */
interface Listed {
  line: string;
  ino: number;
}

function listObox(root: string): Map<string, Listed> {
  const out = new Map<string, Listed>();
  const visit = (p: string) => {
    let st;
    try {
      st = lstatSync(path.join(root, p));
    } catch {
      return;
    }
    const type = st.isFile() ? 'regular file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symbolic link' : 'other';
    const extra = st.isFile() ? `${st.size}|${Math.floor(st.mtimeMs / 1000)}|${st.nlink}` : st.isSymbolicLink() ? readlinkSync(path.join(root, p)) : '';
    out.set(p, { line: `${type}|${(st.mode & 0o7777).toString(8)}|${st.uid}:${st.gid}|${extra}`, ino: st.ino });
    if (st.isDirectory()) for (const name of readdirSync(path.join(root, p))) visit(`${p}/${name}`);
  };
  for (const d of DESTS) visit(d);
  return out;
}

function parseDockerListing(text: string): Map<string, Listed> {
  const out = new Map<string, Listed>();
  for (const l of text.split('\n')) {
    if (l === '') continue;
    const [name, type, mode, owner, size, mtime, nlink, ino, target] = l.split('|') as string[];
    const extra = type === 'regular file' ? `${size}|${mtime}|${nlink}` : type === 'symbolic link' ? (target ?? '') : '';
    out.set(name as string, { line: `${type}|${mode}|${owner}|${extra}`, ino: Number(ino) });
  }
  return out;
}

/** Paths grouped by inode, as sorted lists (hardlink structure, independent of inode numbers). */
function linkGroups(m: Map<string, Listed>): string[][] {
  const by = new Map<number, string[]>();
  for (const [p, l] of m) if (l.line.startsWith('regular file')) by.set(l.ino, [...(by.get(l.ino) ?? []), p]);
  return [...by.values()].filter((g) => g.length > 1).map((g) => g.sort()).sort();
}

/** The base image's tarball: busybox plus a few things for COPY to meet (symlinks, owned directories). */
function makeBase(dir: string, busyboxTar: string): string {
  const root = path.join(dir, 'base');
  mkdirSync(root);
  execFileSync('tar', ['-C', root, '--numeric-owner', '-xpf', busyboxTar]);
  symlinkSync('/etc', path.join(root, 'app'));
  symlinkSync('../../..', path.join(root, 'up'));
  mkdirSync(path.join(root, 'ex'), { mode: 0o700 });
  chmodSync(path.join(root, 'ex'), 0o700);
  lchownSync(path.join(root, 'ex'), 1000, 1000);
  mkdirSync(path.join(root, 'x/etc'), { recursive: true });
  chmodSync(path.join(root, 'x/etc'), 0o700);
  lchownSync(path.join(root, 'x/etc'), 1000, 1000);
  mkdirSync(path.join(root, 'sl'));
  symlinkSync('/etc/motd', path.join(root, 'sl/x'));
  writeFileSync(path.join(root, 'etc/hostname'), 'image\n');
  utimesSync(path.join(root, 'etc/hostname'), 1_234_567_891, 1_234_567_891);
  mkdirSync(path.join(root, 'merge'));
  writeFileSync(path.join(root, 'merge/old'), 'old\n');
  utimesSync(path.join(root, 'merge/old'), 1_234_567_890, 1_234_567_890);
  const tar = path.join(dir, 'base.tar');
  execFileSync('tar', ['-C', root, '--numeric-owner', '-cf', tar, '.']);
  return tar;
}

function makeContext(ctx: string): void {
  make(ctx, {
    'a.txt': { content: 'a\n', mtime: 1_000_000_000 },
    'a1.txt': { content: 'a1\n', mtime: 1_000_000_001 },
    'b1.txt': { content: 'b1\n', mtime: 1_000_000_002 },
    'plain.txt': { content: 'plain\n', mode: 0o600, mtime: 1_000_000_003 },
    'suid': { content: 'suid\n', mode: 0o4755, mtime: 1_000_000_004 },
    'dir/x': { content: 'x\n', mtime: 1_000_000_005 },
    'dir/exec': { content: '#!/bin/sh\n', mode: 0o755, mtime: 1_000_000_006 },
    'dir/secret': { content: 's\n', mode: 0o600, mtime: 1_000_000_007 },
    'dir/rel': { symlink: '../a.txt' },
    'dir/abs': { symlink: '/etc/passwd' },
    'dir/sub': { dir: true, mode: 0o700 },
    'dir/sub/y': { content: 'y\n', mtime: 1_000_000_008 },
    'dir/sticky': { dir: true, mode: 0o1777 },
    'dir2/etc/e': { content: 'e\n', mtime: 1_000_000_009 },
    'dx/f2': { content: 'f2\n', mtime: 1_000_000_010 },
    'link': { symlink: 'a.txt' },
    'dirlink': { symlink: 'dir' },
    'ignored.log': 'ignored\n',
    'logs/a.log': 'a\n',
    'logs/keep.log': { content: 'keep\n', mtime: 1_000_000_011 },
    '.dockerignore': '*.log\nlogs\n!logs/keep.log\n',
  });
  chmodSync(path.join(ctx, 'suid'), 0o4755);
  chmodSync(path.join(ctx, 'dir/sticky'), 0o1777);
  linkSync(path.join(ctx, 'dir/x'), path.join(ctx, 'dir/hard'));
  writeTar(path.join(ctx, 'a.tar.gz'), [
    { path: './', type: 'dir', mode: 0o755, uid: 1234, gid: 4321 },
    { path: './top', content: 'top\n', uid: 1234, gid: 4321, mtime: 1_300_000_000 },
    { path: './sub/', type: 'dir', mode: 0o750, uid: 1234, gid: 4321, mtime: 1_300_000_001 },
    { path: './sub/x', content: 'x\n', mode: 0o4755, uid: 1234, gid: 4321, mtime: 1_300_000_002 },
    { path: './sub/l', type: 'symlink', linkpath: 'x', uid: 1234, gid: 4321 },
  ], 'gzip');
  writeTar(path.join(ctx, 'b.tar.bz2'), [{ path: 'sub/bz', content: 'bz\n', uid: 5, gid: 5, mtime: 1_300_000_003 }], 'bzip2');
  writeFileSync(path.join(ctx, 'notar.gz'), execFileSync('gzip', ['-c'], { input: 'plain text\n' }));
  symlinkSync('a.tar.gz', path.join(ctx, 'ln.tgz'));
}

describe.skipIf(!requires({ root: true, tools: [...DOCKERD_TOOLS, ...BUSYBOX_ROOTFS_TOOLS, 'setpriv', 'gzip', 'bzip2'] }))('COPY/ADD compared with BuildKit', () => {
  let d: Dockerd | undefined;
  let dir = '';
  let dockerListing = new Map<string, Listed>();
  let oboxListing = new Map<string, Listed>();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'obox-copy-oracle-'));
    const busybox = await makeBusyboxRootfs(path.join(dir, 'busybox.tar'));
    const baseTar = makeBase(dir, busybox);
    const ctx = path.join(dir, 'ctx');
    makeContext(ctx);
    const cf = path.join(dir, 'Containerfile');
    writeFileSync(cf, CONTAINERFILE);

    d = await startDockerd();
    await d.importRootfs(baseTar, 'obox-copy-oracle/base');
    const b = await d.buildkit(['-f', cf, '-t', 'obox-copy-oracle/out', '--progress', 'plain', ctx], { timeoutMs: 180_000 });
    if (b.code !== 0) throw new Error(`BuildKit build failed:\n${b.stderr}`);
    const script = `for p in ${DESTS.join(' ')}; do [ -e "$p" ] || [ -L "$p" ] || continue; find "$p" -exec stat -c '%n|%F|%a|%u:%g|%s|%Y|%h|%i|' {} \\; ; done`;
    const listed = await d.dockerOk(['run', '--rm', '--network', 'none', 'obox-copy-oracle/out', 'sh', '-c', script]);
    // busybox stat's %N quotes; read symlink targets separately
    const links = await d.dockerOk(['run', '--rm', '--network', 'none', 'obox-copy-oracle/out', 'sh', '-c', `for p in ${DESTS.join(' ')}; do [ -e "$p" ] || [ -L "$p" ] || continue; find "$p" -type l -exec sh -c 'echo "$1|$(readlink "$1")"' _ {} \\; ; done`]);
    const targets = new Map(links.stdout.split('\n').filter((l) => l !== '').map((l) => [l.slice(0, l.indexOf('|')), l.slice(l.indexOf('|') + 1)] as const));
    dockerListing = parseDockerListing(listed.stdout.split('\n').map((l) => (l.includes('|symbolic link|') ? `${l}${targets.get(l.split('|')[0] as string) ?? ''}` : l)).join('\n'));

    // obox: the same steps on copies of the same base
    const parsed = parseInstructions(parseContainerfile(CONTAINERFILE, 'Containerfile'));
    const tree = contextSource(ctx, parseIgnoreFile(readFileSync(path.join(ctx, '.dockerignore'), 'utf8')), '.dockerignore');
    const stageRoots = new Map<string, string>();
    let root = '';
    for (const stage of parsed.stages) {
      root = path.join(dir, `obox-${stage.index}`);
      mkdirSync(root);
      execFileSync('tar', ['-C', root, '--numeric-owner', '-xpf', baseTar]);
      if (stage.name) stageRoots.set(stage.name, root);
      let workdir = '/';
      for (const i of stage.instructions) {
        if (i.kind === 'workdir') {
          workdir = path.posix.resolve(workdir, i.path);
          await mkdirAllInRoot(root, workdir);
        } else if (i.kind === 'copy' || i.kind === 'add') {
          const from: SourceTree = i.kind === 'copy' && i.from ? rootfsSource(stageRoots.get(i.from) as string, `stage ${i.from}`) : tree;
          await copyInto(copyRequestFrom(i, { tree: from, workdir }), root, { tempDir: dir });
        }
      }
    }
    oboxListing = listObox(root);
  }, 300_000);

  afterAll(async () => {
    await d?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every destination path exists in both, with the same type, mode, owner, size, mtime and link target', () => {
    expect([...oboxListing.keys()].sort()).toEqual([...dockerListing.keys()].sort());
    const diffs: string[] = [];
    for (const [p, mine] of oboxListing) {
      const theirs = dockerListing.get(p);
      if (theirs?.line !== mine.line) diffs.push(`${p}\n  obox:     ${mine.line}\n  buildkit: ${theirs?.line}`);
    }
    expect(diffs.join('\n')).toBe('');
  });

  it('the same files are hardlinked together', () => {
    expect(linkGroups(oboxListing)).toEqual(linkGroups(dockerListing));
  });

  it('spot checks: what the comparison covers', () => {
    expect(dockerListing.get('/d4/link')?.line).toMatch(/^regular file\|644\|0:0\|2\|1000000000\|/);
    expect(dockerListing.get('/own/sub')?.line).toBe('directory|700|1000:1000|');
    expect(dockerListing.get('/p/q')?.line).toBe('directory|755|1000:1000|');
    expect(dockerListing.get('/ex')?.line).toBe('directory|700|1000:1000|');
    expect(dockerListing.get('/x/etc')?.line).toBe('directory|755|0:0|');
    expect(dockerListing.get('/merge/top')?.line).toBe('regular file|644|1234:4321|4|1300000000|1');
    expect(dockerListing.get('/fromstage/file')?.line).toMatch(/^regular file\|644\|1000:1001\|/);
    expect(dockerListing.has('/nm')).toBe(false);
    expect(dockerListing.has('/ctxall/logs/keep.log')).toBe(true);
    expect(dockerListing.has('/ctxall/ignored.log')).toBe(false);
  });
});
