/**
 * COPY into a real directory, rule by rule (BuildKit's behaviour, checked against dockerd's
 * BuildKit where noted; see buildkit-oracle.test.ts for the automated comparisons).
 */
import { chmodSync, linkSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync, lchownSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseIgnoreFile } from '../../../src/context/ignore.js';
import { contextSource, CopyError, rootfsSource, type SourceTree } from '../../../src/executor/copy/index.js';
import { requires } from '../../helpers/requirements.js';
import { info, make, req, run, sandbox, tree, type Sandbox } from './helpers.js';

describe.skipIf(!requires({ root: true }))('COPY', () => {
  let s: Sandbox;
  let ctx: SourceTree;
  beforeEach(() => {
    s = sandbox();
    ctx = contextSource(s.ctx);
    make(s.root, { 'etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n', 'etc/group': 'root:x:0:\napp:x:1000:\nstaff:x:50:\n' });
  });
  afterEach(() => s.cleanup());

  describe('where sources land', () => {
    it('file → new file name', async () => {
      make(s.ctx, { 'a.txt': 'A' });
      const r = await run(s, req(ctx, ['a.txt'], '/f1'));
      expect(info(path.join(s.root, 'f1'))).toMatchObject({ type: 'file', content: 'A' });
      expect(r.summary).toMatchObject({ files: 1, bytes: 1 });
    });

    it('file → dir/ (created) and → an existing directory: inside it', async () => {
      make(s.ctx, { 'a.txt': 'A' });
      make(s.root, { existing: { dir: true } });
      await run(s, req(ctx, ['a.txt'], '/d1/'));
      await run(s, req(ctx, ['a.txt'], '/existing'));
      expect(info(path.join(s.root, 'd1/a.txt'))?.content).toBe('A');
      expect(info(path.join(s.root, 'existing/a.txt'))?.content).toBe('A');
    });

    it('a directory source copies its contents, not itself (with or without a trailing slash)', async () => {
      make(s.ctx, { 'dir/x': 'X', 'dir/sub/y': 'Y' });
      await run(s, req(ctx, ['dir'], '/d2'));
      await run(s, req(ctx, ['dir/'], '/d3/'));
      await run(s, req(ctx, ['.'], '/all'));
      expect(tree(path.join(s.root, 'd2'))).toEqual(['sub/', 'sub/y', 'x']);
      expect(tree(path.join(s.root, 'd3'))).toEqual(['sub/', 'sub/y', 'x']);
      expect(tree(path.join(s.root, 'all'))).toEqual(['dir/', 'dir/sub/', 'dir/sub/y', 'dir/x']);
    });

    it('the directory a directory source is copied into is created 0755 (root-owned), merging with an existing one untouched', async () => {
      make(s.ctx, { dir: { dir: true, mode: 0o700 }, 'dir/x': 'X' });
      make(s.root, { ex: { dir: true, mode: 0o711 }, 'ex/old': 'old' });
      await run(s, req(ctx, ['dir'], '/new/deep'));
      await run(s, req(ctx, ['dir'], '/ex'));
      expect(info(path.join(s.root, 'new'))).toMatchObject({ mode: 0o755, uid: 0 });
      expect(info(path.join(s.root, 'new/deep'))).toMatchObject({ mode: 0o755, uid: 0 });
      expect(info(path.join(s.root, 'ex'))?.mode).toBe(0o711);
      expect(tree(path.join(s.root, 'ex'))).toEqual(['old', 'x']);
    });

    it('nested directories that exist take the source directory\'s metadata (BuildKit overwrites it)', async () => {
      make(s.ctx, { 'dir/etc': { dir: true, mode: 0o755 }, 'dir/etc/e': 'e' });
      make(s.root, { 'x/etc': { dir: true, mode: 0o700 } });
      lchownSync(path.join(s.root, 'x/etc'), 1000, 1000);
      await run(s, req(ctx, ['dir'], '/x/'));
      expect(info(path.join(s.root, 'x/etc'))).toMatchObject({ mode: 0o755, uid: 0, gid: 0 });
    });

    it('relative destinations are relative to WORKDIR; "." is the working directory', async () => {
      make(s.ctx, { 'a.txt': 'A', 'b.txt': 'B' });
      await run(s, req(ctx, ['a.txt'], 'rel/x', { workdir: '/app' }));
      await run(s, req(ctx, ['a.txt', 'b.txt'], '.', { workdir: '/app' }));
      expect(tree(path.join(s.root, 'app'))).toEqual(['a.txt', 'b.txt', 'rel/', 'rel/x']);
    });

    it('sources cannot leave the context: "../" is cleaned away, as BuildKit does', async () => {
      make(s.ctx, { 'a.txt': 'inside' });
      writeFileSync(path.join(s.dir, 'a.txt'), 'outside the context');
      await run(s, req(ctx, ['../../a.txt'], '/dotdot'));
      expect(info(path.join(s.root, 'dotdot'))?.content).toBe('inside');
    });

    it('replacing: a file replaces a file or a symlink (not its target); a directory is never replaced by a file', async () => {
      make(s.ctx, { 'a.txt': 'new', 'dir/sub': 'file-in-source', 'd2/x/y': 'y' });
      make(s.root, { 'old.txt': 'old', target: 'keep', link: { symlink: 'target' }, 'dest/sub/inner': 'i', 'dest2/x': 'a file' });
      await run(s, req(ctx, ['a.txt'], '/old.txt'));
      await run(s, req(ctx, ['a.txt'], '/dd/'));
      expect(info(path.join(s.root, 'old.txt'))?.content).toBe('new');
      // a symlink at the exact destination is followed (BuildKit resolves the destination) ...
      await run(s, req(ctx, ['a.txt'], '/link'));
      expect(info(path.join(s.root, 'target'))?.content).toBe('new');
      // ... but inside a directory copy, a file in the way of a directory is an error, and vice versa
      await expect(run(s, req(ctx, ['dir'], '/dest/'))).rejects.toThrow(/cannot replace to directory \/dest\/sub with file/);
      await expect(run(s, req(ctx, ['d2'], '/dest2/'))).rejects.toThrow(/cannot copy to non-directory: \/dest2\/x/);
      make(s.root, { plain: 'p' });
      await expect(run(s, req(ctx, ['dir'], '/plain'))).rejects.toThrow(/cannot copy to non-directory: \/plain/);
    });
  });

  describe('wildcards', () => {
    it('match per component (Go filepath.Match), in name order; directories matched copy their contents', async () => {
      make(s.ctx, { 'a1.txt': '1', 'a2.txt': '2', 'b.txt': 'b', 'ab/c.txt': 'c', 'dx/f': 'f', 'dy/f2': 'f2', 'sub/a9.txt': '9' });
      await run(s, req(ctx, ['a?.txt'], '/w1/'));
      await run(s, req(ctx, ['d*'], '/w2/'));
      await run(s, req(ctx, ['*/a*.txt'], '/w3/'));
      await run(s, req(ctx, ['[ab].txt', 'a[^1].txt'], '/w4/'));
      expect(tree(path.join(s.root, 'w1'))).toEqual(['a1.txt', 'a2.txt']);
      expect(tree(path.join(s.root, 'w2'))).toEqual(['f', 'f2']);
      expect(tree(path.join(s.root, 'w3'))).toEqual(['a9.txt']);
      expect(tree(path.join(s.root, 'w4'))).toEqual(['a2.txt', 'b.txt']);
    });

    it('a wildcard that matches nothing copies nothing and creates nothing (BuildKit); emptyWildcard "error" refuses', async () => {
      make(s.ctx, { 'a.txt': 'A' });
      const r = await run(s, req(ctx, ['nomatch*'], '/nm/'));
      expect(r.summary.files).toBe(0);
      expect(info(path.join(s.root, 'nm'))).toBeUndefined();
      await run(s, req(ctx, ['a.txt', 'opt*'], '/both/'), { emptyWildcard: 'error' });
      expect(tree(path.join(s.root, 'both'))).toEqual(['a.txt']);
      const err = await run(s, req(ctx, ['nomatch*'], '/nm/'), { emptyWildcard: 'error' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CopyError);
      expect(err).toMatchObject({ message: 'no source files were specified', source: 'nomatch*', sourceIndex: 0, code: 'E_NOT_FOUND' });
    });

    it('a wildcard under a missing directory, and a missing file, are errors naming the source', async () => {
      const err = await run(s, req(ctx, ['a.txt', 'missing/*.txt'], '/x/')).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_NOT_FOUND', source: 'a.txt', sourceIndex: 0 });
      make(s.ctx, { 'a.txt': 'A' });
      const err2 = await run(s, req(ctx, ['a.txt', 'missing/*.txt'], '/x/')).catch((e: unknown) => e);
      expect(err2).toMatchObject({ code: 'E_NOT_FOUND', source: 'missing/*.txt', sourceIndex: 1 });
      expect((err2 as Error).message).toMatch(/not found in the build context/);
    });
  });

  describe('several sources', () => {
    it('need a directory destination: trailing slash or an existing directory, else an error (nothing written)', async () => {
      make(s.ctx, { 'a.txt': 'A', 'b.txt': 'B', 'd1/x': 'x', 'd2/y': 'y' });
      make(s.root, { usr: { dir: true } });
      const err = await run(s, req(ctx, ['a.txt', 'b.txt'], '/dest')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CopyError);
      expect((err as Error).message).toBe('When using COPY with more than one source file, the destination must be a directory and end with a /');
      expect(info(path.join(s.root, 'dest'))).toBeUndefined();
      const err2 = await run(s, req(ctx, ['*.txt'], '/dest')).catch((e: unknown) => e);
      expect((err2 as Error).message).toMatch(/more than one source file/);
      await run(s, req(ctx, ['a.txt', 'b.txt'], '/usr'));
      expect(tree(path.join(s.root, 'usr'))).toEqual(['a.txt', 'b.txt']);
      // directories merge, as in BuildKit
      await run(s, req(ctx, ['d1', 'd2'], '/merged'));
      expect(tree(path.join(s.root, 'merged'))).toEqual(['x', 'y']);
    });
  });

  describe('the ignore file', () => {
    it('an ignored file does not exist for COPY, and no wildcard matches it', async () => {
      make(s.ctx, { 'keep.txt': 'k', 'secret.txt': 's', 'logs/a.log': 'a', 'logs/keep.log': 'k', 'app/x': 'x', 'toignored': { symlink: 'secret.txt' } });
      const matcher = parseIgnoreFile('secret.txt\nlogs\n!logs/keep.log\n');
      const t = contextSource(s.ctx, matcher, '.dockerignore');
      await run(s, req(t, ['.'], '/all/'));
      expect(tree(path.join(s.root, 'all'))).toEqual(['app/', 'app/x', 'keep.txt', 'logs/', 'logs/keep.log', 'toignored']);
      await run(s, req(t, ['*.txt'], '/txt/'));
      expect(tree(path.join(s.root, 'txt'))).toEqual(['keep.txt']);
      const err = await run(s, req(t, ['secret.txt'], '/s')).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_NOT_FOUND', source: 'secret.txt' });
      expect((err as CopyError).hint).toMatch(/excluded by \.dockerignore/);
      // a symlink to an ignored file dangles, as in BuildKit's transferred context
      await expect(run(s, req(t, ['toignored'], '/ti'))).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    });
  });

  describe('--from another root filesystem', () => {
    it('paths are relative to that root (not WORKDIR), owners are kept, no ignore rules', async () => {
      const stage = path.join(s.dir, 'stage');
      make(stage, { 'app/bin/tool': { content: 'T', mode: 0o755 }, 'app/data/d': 'd' });
      lchownSync(path.join(stage, 'app/bin/tool'), 1000, 1001);
      lchownSync(path.join(stage, 'app/data'), 33, 33);
      await run(s, req(rootfsSource(stage, 'stage builder'), ['app/bin/tool', '/app/data'], '/out/', { workdir: '/elsewhere' }));
      expect(info(path.join(s.root, 'out/tool'))).toMatchObject({ uid: 1000, gid: 1001, mode: 0o755, content: 'T' });
      expect(info(path.join(s.root, 'out/d'))).toMatchObject({ uid: 0, gid: 0 });
      const err = await run(s, req(rootfsSource(stage, 'stage builder'), ['/nope'], '/x')).catch((e: unknown) => e);
      expect((err as Error).message).toBe('"/nope": not found in the stage builder');
    });
  });

  describe('symlinks and hardlinks', () => {
    it('symlinks inside a copied directory are copied as symlinks, not followed', async () => {
      make(s.ctx, { 'dir/target': 't', 'dir/rel': { symlink: 'target' }, 'dir/abs': { symlink: '/etc/passwd' }, 'dir/dangling': { symlink: 'nowhere' } });
      await run(s, req(ctx, ['dir'], '/d/'));
      expect(info(path.join(s.root, 'd/rel'))).toMatchObject({ type: 'symlink', target: 'target' });
      expect(info(path.join(s.root, 'd/abs'))).toMatchObject({ type: 'symlink', target: '/etc/passwd' });
      expect(info(path.join(s.root, 'd/dangling'))).toMatchObject({ type: 'symlink', target: 'nowhere' });
    });

    it('a symlink named as a source (or matched by a wildcard) is followed, inside the context; it keeps its own name', async () => {
      make(s.ctx, { 'real/f': 'F', 'file.txt': 'FT', link: { symlink: 'file.txt' }, dirlink: { symlink: 'real' }, abslink: { symlink: '/file.txt' }, out: { symlink: '../../../etc/passwd' }, escapes: { symlink: '/etc/shadow' } });
      await run(s, req(ctx, ['link'], '/d4/'));
      await run(s, req(ctx, ['link'], '/f5'));
      await run(s, req(ctx, ['dirlink'], '/d6'));
      await run(s, req(ctx, ['abs*'], '/d7/'));
      expect(info(path.join(s.root, 'd4/link'))).toMatchObject({ type: 'file', content: 'FT' });
      expect(info(path.join(s.root, 'f5'))).toMatchObject({ type: 'file', content: 'FT' });
      expect(tree(path.join(s.root, 'd6'))).toEqual(['f']);
      expect(info(path.join(s.root, 'd7/abslink'))).toMatchObject({ type: 'file', content: 'FT' });
      // targets outside the context are looked up inside it: not found, never the host's file
      await expect(run(s, req(ctx, ['out'], '/o'))).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
      await expect(run(s, req(ctx, ['escapes'], '/o'))).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    });

    it('hardlinks within one source stay hardlinks', async () => {
      make(s.ctx, { 'dir/x': 'X', 'dir/sub/z': 'Z' });
      linkSync(path.join(s.ctx, 'dir/x'), path.join(s.ctx, 'dir/hard'));
      linkSync(path.join(s.ctx, 'dir/x'), path.join(s.ctx, 'dir/sub/hard2'));
      const r = await run(s, req(ctx, ['dir'], '/hl/'));
      const ino = info(path.join(s.root, 'hl/x'))?.ino;
      expect(info(path.join(s.root, 'hl/hard'))?.ino).toBe(ino);
      expect(info(path.join(s.root, 'hl/sub/hard2'))?.ino).toBe(ino);
      expect(statSync(path.join(s.root, 'hl/x')).nlink).toBe(3);
      expect(r.summary).toMatchObject({ files: 2, hardlinks: 2 });
    });
  });

  describe('metadata', () => {
    it('modes (setuid, sticky) and mtimes are kept; owners are 0:0 from the context', async () => {
      make(s.ctx, { 'suid': { content: 's', mode: 0o4755, mtime: 1_000_000_000 }, 'dir/sticky': { dir: true, mode: 0o1777, mtime: 1_100_000_000 }, 'dir/f': { content: 'f', mode: 0o600 } });
      lchownSync(path.join(s.ctx, 'suid'), 1234, 5678);
      chmodSync(path.join(s.ctx, 'suid'), 0o4755);
      await run(s, req(ctx, ['suid', 'dir'], '/m/'));
      expect(info(path.join(s.root, 'm/suid'))).toMatchObject({ mode: 0o4755, uid: 0, gid: 0, mtime: 1_000_000_000 });
      expect(info(path.join(s.root, 'm/sticky'))).toMatchObject({ type: 'dir', mode: 0o1777, mtime: 1_100_000_000 });
      expect(info(path.join(s.root, 'm/f'))?.mode).toBe(0o600);
    });

    it('--timestamp (SOURCE_DATE_EPOCH) sets every copied mtime', async () => {
      make(s.ctx, { 'dir/a': { content: 'a', mtime: 5 }, 'dir/s': { dir: true, mtime: 6 } });
      await run(s, req(ctx, ['dir'], '/t/'), { timestamp: 1_700_000_000 });
      expect(info(path.join(s.root, 't/a'))?.mtime).toBe(1_700_000_000);
      expect(info(path.join(s.root, 't/s'))?.mtime).toBe(1_700_000_000);
    });

    it('--chown by name (destination passwd), by number (gid = uid), user:group; created parents get it too', async () => {
      make(s.ctx, { 'a.txt': 'A', 'dir/sub/x': 'x', 'dir/l': { symlink: 'sub' } });
      await run(s, req(ctx, ['a.txt'], '/p/q/r/', { chown: 'app' }));
      for (const p of ['p', 'p/q', 'p/q/r', 'p/q/r/a.txt']) expect(info(path.join(s.root, p)), p).toMatchObject({ uid: 1000, gid: 1000 });
      await run(s, req(ctx, ['dir'], '/own/', { chown: '1234' }));
      for (const p of ['own', 'own/sub', 'own/sub/x', 'own/l']) expect(info(path.join(s.root, p)), p).toMatchObject({ uid: 1234, gid: 1234 });
      await run(s, req(ctx, ['a.txt'], '/u4', { chown: 'app:staff' }));
      expect(info(path.join(s.root, 'u4'))).toMatchObject({ uid: 1000, gid: 50 });
      await run(s, req(ctx, ['a.txt'], '/u5', { chown: ':app' }));
      expect(info(path.join(s.root, 'u5'))).toMatchObject({ uid: 0, gid: 1000 });
    });

    it('--chown with an unknown name is an error, and nothing is written', async () => {
      make(s.ctx, { 'a.txt': 'A' });
      await expect(run(s, req(ctx, ['a.txt'], '/u1', { chown: 'nosuch' }))).rejects.toThrow('unable to find user nosuch: no matching entries in passwd file');
      await expect(run(s, req(ctx, ['a.txt'], '/u1', { chown: '0:nosuchgrp' }))).rejects.toThrow(/unable to find group nosuchgrp/);
      expect(info(path.join(s.root, 'u1'))).toBeUndefined();
    });

    it('--chmod: the exact mode for files and directories (not symlinks); the created destination directory gets it, its parents stay 0755', async () => {
      make(s.ctx, { 'a.txt': { content: 'A', mode: 0o4755 }, 'dir/x': 'x', 'dir/sub/y': 'y', 'dir/l': { symlink: 'x' } });
      await run(s, req(ctx, ['a.txt'], '/m1', { chmod: '0640' }));
      expect(info(path.join(s.root, 'm1'))?.mode).toBe(0o640);
      await run(s, req(ctx, ['dir'], '/top/m2', { chmod: '0700' }));
      expect(info(path.join(s.root, 'top'))?.mode).toBe(0o755);
      expect(info(path.join(s.root, 'top/m2'))?.mode).toBe(0o700);
      for (const p of ['x', 'sub', 'sub/y']) expect(info(path.join(s.root, 'top/m2', p))?.mode, p).toBe(0o700);
      expect(lstatSync(path.join(s.root, 'top/m2/l')).isSymbolicLink()).toBe(true);
      await run(s, req(ctx, ['dir'], '/m2b/', { chmod: '0711' }));
      expect(info(path.join(s.root, 'm2b'))?.mode).toBe(0o711);
      make(s.root, { existing: { dir: true, mode: 0o755 } });
      await run(s, req(ctx, ['dir'], '/existing/', { chmod: '0711' }));
      expect(info(path.join(s.root, 'existing'))?.mode).toBe(0o755);
      await run(s, req(ctx, ['dir'], '/m3', { chmod: 'go-rwx,u+x' }));
      expect(info(path.join(s.root, 'm3/x'))?.mode).toBe(0o700);
      await expect(run(s, req(ctx, ['a.txt'], '/m4', { chmod: '99' }))).rejects.toThrow(/invalid chmod parameter/);
    });

    it('xattrs: security.capability and user.* are copied', async () => {
      make(s.ctx, { 'cap': 'c' });
      const { hostFs } = await import('../../../src/layer/index.js');
      await hostFs.lsetxattr(Buffer.from(path.join(s.ctx, 'cap')), 'user.note', Buffer.from('hello'));
      const capV2 = Buffer.from('0000000200200000000000000000000000000000', 'hex'); // cap_net_raw, effective
      await hostFs.lsetxattr(Buffer.from(path.join(s.ctx, 'cap')), 'security.capability', capV2);
      await run(s, req(ctx, ['cap'], '/cap'));
      const got = await hostFs.lgetxattrs(Buffer.from(path.join(s.root, 'cap')));
      expect(got.map((x) => x.name).sort()).toEqual(['security.capability', 'user.note']);
    });
  });

  describe('--exclude', () => {
    it('leaves out matching paths (relative to the source, .dockerignore syntax, ! re-includes)', async () => {
      make(s.ctx, { 'dir/a.md': 'a', 'dir/b.txt': 'b', 'dir/node_modules/m/x': 'x', 'dir/sub/c.md': 'c', 'dir/keep/k.md': 'k', 'hom.txt': 'h', 'home.md': 'hm' });
      await run(s, req(ctx, ['dir'], '/e1/', { excludes: ['*.md', 'node_modules'] }));
      // `*` stays within one component: only top-level .md files go
      expect(tree(path.join(s.root, 'e1'))).toEqual(['b.txt', 'keep/', 'keep/k.md', 'sub/', 'sub/c.md']);
      await run(s, req(ctx, ['dir'], '/e2/', { excludes: ['**/*.md', '!keep/k.md'] }));
      expect(tree(path.join(s.root, 'e2'))).toEqual(['b.txt', 'keep/', 'keep/k.md', 'node_modules/', 'node_modules/m/', 'node_modules/m/x', 'sub/']);
      // the documented example: wildcard matches are excluded too
      await run(s, req(ctx, ['hom*'], '/e3/', { excludes: ['*.txt'] }));
      expect(tree(path.join(s.root, 'e3'))).toEqual(['home.md']);
    });

    it('an excluded directory with nothing re-included is not created', async () => {
      make(s.ctx, { 'dir/gone/x': 'x', 'dir/f': 'f' });
      await run(s, req(ctx, ['dir'], '/e/', { excludes: ['gone/x'] }));
      expect(tree(path.join(s.root, 'e'))).toEqual(['f', 'gone/']);
      await run(s, req(ctx, ['dir'], '/e4/', { excludes: ['gone'] }));
      expect(tree(path.join(s.root, 'e4'))).toEqual(['f']);
    });
  });

  describe('--parents', () => {
    it('keeps the source path under the destination; "/./" sets the pivot; patterns select', async () => {
      make(s.ctx, { 'x/a.txt': 'a', 'y/b/c.txt': 'c', 'y/d.txt': 'd', 'z/q/r.txt': 'r', 'other/o': 'o' });
      chmodSync(path.join(s.ctx, 'y'), 0o750);
      await run(s, req(ctx, ['x/a.txt', 'y/*'], '/p1/', { parents: true }));
      expect(tree(path.join(s.root, 'p1'))).toEqual(['x/', 'x/a.txt', 'y/', 'y/b/', 'y/b/c.txt', 'y/d.txt']);
      expect(info(path.join(s.root, 'p1/y'))?.mode).toBe(0o750); // created parents copy the source directory
      await run(s, req(ctx, ['z/./q/r.txt'], '/p2', { parents: true }));
      expect(tree(path.join(s.root, 'p2'))).toEqual(['q/', 'q/r.txt']);
      await run(s, req(ctx, ['**/*.txt'], '/p3/', { parents: true, excludes: ['y/b'] }));
      expect(tree(path.join(s.root, 'p3'))).toEqual(['x/', 'x/a.txt', 'y/', 'y/d.txt', 'z/', 'z/q/', 'z/q/r.txt']);
      await expect(run(s, req(ctx, ['x/missing.txt'], '/p4/', { parents: true }))).rejects.toMatchObject({ code: 'E_NOT_FOUND', source: 'x/missing.txt' });
    });
  });

  describe('heredocs', () => {
    it('become a file named after the heredoc, mode 0644, content as given', async () => {
      const r = await run(
        s,
        req(ctx, [{ kind: 'heredoc', name: 'EOF', content: 'hello\n', expand: true }, { kind: 'heredoc', name: 'script.sh', content: '#!/bin/sh\n', expand: false }], '/h/', { chown: 'app' }),
      );
      expect(info(path.join(s.root, 'h/EOF'))).toMatchObject({ content: 'hello\n', mode: 0o644, uid: 1000, gid: 1000 });
      expect(info(path.join(s.root, 'h/script.sh'))).toMatchObject({ content: '#!/bin/sh\n', mode: 0o644 });
      await run(s, req(ctx, [{ kind: 'heredoc', name: 'EOF', content: 'x', expand: true }], '/named', { chmod: '755' }));
      expect(info(path.join(s.root, 'named'))).toMatchObject({ content: 'x', mode: 0o755 });
      expect(r.summary.files).toBe(2);
    });
  });

  it('--link copies the same way', async () => {
    make(s.ctx, { 'a.txt': 'A' });
    await run(s, req(ctx, ['a.txt'], '/l/', { link: true }));
    expect(readFileSync(path.join(s.root, 'l/a.txt'), 'utf8')).toBe('A');
  });

  it('COPY refuses URLs and git repositories', async () => {
    await expect(run(s, req(ctx, ['https://example.com/x'], '/x'))).rejects.toThrow("source can't be a URL for COPY");
    await expect(run(s, req(ctx, ['git@github.com:a/b.git'], '/x'))).rejects.toThrow("source can't be a git ref for COPY");
  });

  it('a fifo and a device in a --from root filesystem are recreated', async () => {
    const stage = path.join(s.dir, 'stage');
    mkdirSync(path.join(stage, 'dev'), { recursive: true });
    const { hostFs } = await import('../../../src/layer/index.js');
    await hostFs.mknod(Buffer.from(path.join(stage, 'dev/fifo')), 'fifo', 0o644, 0, 0);
    await hostFs.mknod(Buffer.from(path.join(stage, 'dev/null')), 'char', 0o666, 1, 3);
    symlinkSync('null', path.join(stage, 'dev/nl'));
    const r = await run(s, req(rootfsSource(stage), ['/dev'], '/dev/'));
    expect(lstatSync(path.join(s.root, 'dev/fifo')).isFIFO()).toBe(true);
    const dev = lstatSync(path.join(s.root, 'dev/null'));
    expect(dev.isCharacterDevice()).toBe(true);
    expect(dev.rdev).toBe(lstatSync('/dev/null').rdev);
    expect(r.summary.others).toBe(2);
  });
});
