/**
 * Symlinks planted in the destination image can never redirect a COPY outside the root
 * filesystem: every destination path is resolved inside it, as the container would see it.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contextSource, type SourceTree } from '../../../src/executor/copy/index.js';
import { requires } from '../../helpers/requirements.js';
import { info, make, req, run, sandbox, tree, type Sandbox } from './helpers.js';

describe.skipIf(!requires({ root: true }))('COPY destinations stay inside the root filesystem', () => {
  let s: Sandbox;
  let ctx: SourceTree;
  let before: string[];
  beforeEach(() => {
    s = sandbox();
    ctx = contextSource(s.ctx);
    make(s.ctx, { 'a.txt': 'A', 'dir/x': 'X', 'dir/sub/y': 'Y' });
    writeFileSync(path.join(s.outside, 'secret'), 'host secret');
    before = tree(s.outside);
  });
  afterEach(() => {
    // nothing was written, replaced or created outside the root
    expect(tree(s.outside)).toEqual(before);
    expect(info(path.join(s.outside, 'secret'))?.content).toBe('host secret');
    expect(readdirSync(s.dir).sort()).toEqual(['ctx', 'outside', 'root']);
    s.cleanup();
  });

  it('/app -> /etc: the image\'s /etc, never the host\'s', async () => {
    make(s.root, { etc: { dir: true }, app: { symlink: '/etc' } });
    await run(s, req(ctx, ['a.txt'], '/app/'));
    await run(s, req(ctx, ['dir'], '/app/d'));
    expect(info(path.join(s.root, 'etc/a.txt'))?.content).toBe('A');
    expect(tree(path.join(s.root, 'etc/d'))).toEqual(['sub/', 'sub/y', 'x']);
  });

  it('/app -> ../../.. stops at the root', async () => {
    make(s.root, { app: { symlink: '../../..' } });
    await run(s, req(ctx, ['a.txt'], '/app/upfile'));
    await run(s, req(ctx, ['a.txt'], '/app/../../../../esc'));
    expect(info(path.join(s.root, 'upfile'))?.content).toBe('A');
    expect(info(path.join(s.root, 'esc'))?.content).toBe('A');
  });

  it('a symlink to a host path is a path inside the root', async () => {
    make(s.root, { app: { symlink: s.outside }, file: { symlink: path.join(s.outside, 'secret') } });
    await run(s, req(ctx, ['a.txt'], '/app/'));
    await run(s, req(ctx, ['a.txt'], '/file'));
    expect(info(path.join(s.root, s.outside, 'a.txt'))?.content).toBe('A');
    expect(info(path.join(s.root, s.outside, 'secret'))?.content).toBe('A');
  });

  it('relative symlink chains and a symlinked parent of a missing destination', async () => {
    make(s.root, { a: { symlink: 'b/../c' }, b: { dir: true }, c: { symlink: '../../x/..' }, deep: { symlink: 'a/new/../../../../' } });
    await run(s, req(ctx, ['a.txt'], '/a/chain.txt'));
    expect(info(path.join(s.root, 'chain.txt'))?.content).toBe('A');
    await run(s, req(ctx, ['dir'], '/deep/made/here/', { chown: '1:1' }));
    expect(tree(path.join(s.root, 'made'))).toEqual(['here/', 'here/sub/', 'here/sub/y', 'here/x']);
    expect(info(path.join(s.root, 'made'))).toMatchObject({ uid: 1, gid: 1 });
  });

  it('inside a copied directory, a symlink in the way is replaced (files) or refused (directories), never followed', async () => {
    make(s.root, { 'd/x': { symlink: path.join(s.outside, 'secret') }, 'e/sub': { symlink: s.outside } });
    await run(s, req(ctx, ['dir'], '/d/'));
    expect(info(path.join(s.root, 'd/x'))).toMatchObject({ type: 'file', content: 'X' });
    await expect(run(s, req(ctx, ['dir'], '/e/'))).rejects.toThrow(/cannot copy to non-directory: \/e\/sub/);
  });

  it('a symlink loop is an error', async () => {
    make(s.root, { l1: { symlink: 'l2' }, l2: { symlink: 'l1' } });
    await expect(run(s, req(ctx, ['a.txt'], '/l1/x'))).rejects.toThrow(/too many levels of symbolic links/);
  });

  it('heredocs follow the same rules', async () => {
    make(s.root, { app: { symlink: '../..' } });
    await run(s, req(ctx, [{ kind: 'heredoc', name: 'EOF', content: 'h', expand: false }], '/app/h.txt'));
    expect(info(path.join(s.root, 'h.txt'))?.content).toBe('h');
  });
});
