/**
 * ADD: local archives unpacked (detected by content), other files copied, URLs downloaded from a
 * local HTTP server started here (127.0.0.1 only), git sources refused for now.
 */
import { createHash } from 'node:crypto';
import { writeFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { contextSource, CopyError, isArchive, type CopyRequest, type SourceTree } from '../../../src/executor/copy/index.js';
import { hostFs } from '../../../src/layer/index.js';
import { requires } from '../../helpers/requirements.js';
import { info, make, run, sandbox, tree, type Sandbox } from './helpers.js';
import { tarBytes, writeTar, type Member } from './tar.js';

function add(t: SourceTree, sources: string[], dest: string, extra: Partial<CopyRequest> = {}): CopyRequest {
  return { kind: 'add', sources: sources.map((p) => ({ kind: 'path' as const, path: p })), dest, tree: t, ...extra };
}

const members: Member[] = [
  { path: './', type: 'dir', mode: 0o700, uid: 9, gid: 9 },
  { path: './top', content: 'top', uid: 1234, gid: 4321, mode: 0o640, mtime: 1_500_000_000 },
  { path: './sub/', type: 'dir', mode: 0o750, mtime: 1_400_000_000 },
  { path: './sub/x', content: 'x', mode: 0o4755 },
  { path: './sub/link', type: 'symlink', linkpath: 'x' },
  { path: './sub/hard', type: 'hardlink', linkpath: 'sub/x', mode: 0o4755 },
];

describe.skipIf(!requires({ root: true, tools: ['gzip', 'bzip2', 'xz', 'zstd'] }))('ADD', () => {
  let s: Sandbox;
  let ctx: SourceTree;
  beforeEach(() => {
    s = sandbox();
    ctx = contextSource(s.ctx);
  });
  afterEach(() => s.cleanup());

  describe('local archives', () => {
    for (const compress of [undefined, 'gzip', 'bzip2', 'xz', 'zstd'] as const) {
      it(`unpacks a ${compress ?? 'plain'} tar into the destination, merging with what is there`, async () => {
        writeTar(path.join(s.ctx, 'a.archive'), members, compress);
        make(s.root, { 'merge/old': 'old', 'merge/sub/keep': 'k' });
        const r = await run(s, add(ctx, ['a.archive'], '/merge'));
        expect(tree(path.join(s.root, 'merge'))).toEqual(['old', 'sub/', 'sub/hard', 'sub/keep', 'sub/link', 'sub/x', 'top']);
        expect(info(path.join(s.root, 'merge/top'))).toMatchObject({ content: 'top', uid: 1234, gid: 4321, mode: 0o640, mtime: 1_500_000_000 });
        expect(info(path.join(s.root, 'merge/sub'))).toMatchObject({ mode: 0o750, mtime: 1_400_000_000 });
        expect(info(path.join(s.root, 'merge/sub/x'))?.mode).toBe(0o4755);
        expect(info(path.join(s.root, 'merge/sub/link'))).toMatchObject({ type: 'symlink', target: 'x' });
        expect(info(path.join(s.root, 'merge/sub/hard'))?.ino).toBe(info(path.join(s.root, 'merge/sub/x'))?.ino);
        // the "./" entry is skipped: the destination keeps its own metadata
        expect(info(path.join(s.root, 'merge'))).toMatchObject({ mode: 0o755, uid: 0 });
        expect(r.summary).toMatchObject({ archives: 1, files: 2, symlinks: 1, hardlinks: 1 });
      });
    }

    it('is detected by content, not by name', async () => {
      writeFileSync(path.join(s.ctx, 'data.bin'), tarBytes([{ path: 'inside', content: 'i' }]));
      writeFileSync(path.join(s.ctx, 'fake.tar.gz'), 'not an archive at all');
      writeTar(path.join(s.ctx, 'empty.tar'), []);
      writeFileSync(path.join(s.ctx, 'plain.gz'), gzipSync('just text\n'));
      expect(await isArchive(path.join(s.ctx, 'data.bin'))).toBe(true);
      expect(await isArchive(path.join(s.ctx, 'fake.tar.gz'))).toBe(false);
      expect(await isArchive(path.join(s.ctx, 'empty.tar'))).toBe(false); // only an end marker
      expect(await isArchive(path.join(s.ctx, 'plain.gz'))).toBe(false);
      await run(s, add(ctx, ['data.bin', 'fake.tar.gz', 'plain.gz'], '/d/'));
      expect(tree(path.join(s.root, 'd'))).toEqual(['fake.tar.gz', 'inside', 'plain.gz']);
      expect(info(path.join(s.root, 'd/fake.tar.gz'))?.content).toBe('not an archive at all');
    });

    it('the destination always becomes a directory; a symlinked archive is followed; --unpack=false copies it', async () => {
      writeTar(path.join(s.ctx, 'a.tar.gz'), [{ path: 'f', content: 'F' }], 'gzip');
      make(s.ctx, { 'ln.tgz': { symlink: 'a.tar.gz' } });
      await run(s, add(ctx, ['a.tar.gz'], '/nodir'));
      await run(s, add(ctx, ['ln.tgz'], '/lnt/'));
      await run(s, add(ctx, ['a.tar.gz'], '/kept/', { unpack: false }));
      expect(tree(path.join(s.root, 'nodir'))).toEqual(['f']);
      expect(tree(path.join(s.root, 'lnt'))).toEqual(['f']);
      expect(tree(path.join(s.root, 'kept'))).toEqual(['a.tar.gz']);
    });

    it('--chown overrides the archive\'s owners (BuildKit ≥ 0.24); parents the archive implies are 0:0 0755', async () => {
      writeTar(path.join(s.ctx, 'a.tar'), [{ path: 'deep/er/f', content: 'F', uid: 5, gid: 5 }]);
      await run(s, add(ctx, ['a.tar'], '/own/', { chown: '7:8' }));
      expect(info(path.join(s.root, 'own/deep/er/f'))).toMatchObject({ uid: 7, gid: 8 });
      expect(info(path.join(s.root, 'own/deep'))).toMatchObject({ uid: 0, gid: 0, mode: 0o755 });
      expect(info(path.join(s.root, 'own'))).toMatchObject({ uid: 7, gid: 8 });
    });

    it('restores security.capability and user.* xattrs', async () => {
      const cap = Buffer.from('0000000200200000000000000000000000000000', 'hex');
      writeTar(path.join(s.ctx, 'x.tar'), [{ path: 'ping', content: 'p', xattrs: [{ name: 'security.capability', value: cap }, { name: 'trusted.overlay.opaque', value: Buffer.from('y') }] }]);
      await run(s, add(ctx, ['x.tar'], '/x/'));
      const got = await hostFs.lgetxattrs(Buffer.from(path.join(s.root, 'x/ping')));
      expect(got.map((x) => x.name)).toEqual(['security.capability']);
    });

    it('a non-archive is copied like COPY does', async () => {
      make(s.ctx, { 'notes.txt': { content: 'n', mode: 0o600 }, 'dir/a': 'a' });
      await run(s, add(ctx, ['notes.txt', 'dir'], '/plain/'));
      expect(tree(path.join(s.root, 'plain'))).toEqual(['a', 'notes.txt']);
      expect(info(path.join(s.root, 'plain/notes.txt'))).toMatchObject({ mode: 0o600, uid: 0 });
    });
  });

  describe('hostile archives stay inside the destination', () => {
    function hostile(name: string, m: Member[]): string {
      return writeTar(path.join(s.ctx, name), m);
    }

    it('absolute member names land under the destination; ".." members are refused', async () => {
      hostile('abs.tar', [{ path: '/etc/evil', content: 'e' }]);
      await run(s, add(ctx, ['abs.tar'], '/x/'));
      expect(info(path.join(s.root, 'x/etc/evil'))?.content).toBe('e');
      hostile('up.tar', [{ path: 'ok', content: 'ok' }, { path: '../../../outside/evil', content: 'e' }]);
      await expect(run(s, add(ctx, ['up.tar'], '/y/'))).rejects.toThrow(/outside the extraction directory/);
    });

    it('symlinks planted by earlier members are followed only inside the destination', async () => {
      hostile('abslink.tar', [
        { path: 'evil', type: 'symlink', linkpath: '/' },
        { path: 'evil/passwd', content: 'pwned' },
      ]);
      await run(s, add(ctx, ['abslink.tar'], '/d1/'));
      // "/" is the extraction directory: the file lands in /d1/passwd, not the rootfs's /passwd nor the host's
      expect(info(path.join(s.root, 'd1/passwd'))?.content).toBe('pwned');
      hostile('rellink.tar', [
        { path: 'up', type: 'symlink', linkpath: '../../..' },
        { path: 'up/outside/evil', content: 'e' },
      ]);
      await expect(run(s, add(ctx, ['rellink.tar'], '/d2/'))).rejects.toThrow(/points outside the extraction directory/);
      hostile('hard.tar', [{ path: 'h', type: 'hardlink', linkpath: '../../../outside/secret' }]);
      await expect(run(s, add(ctx, ['hard.tar'], '/d3/'))).rejects.toThrow(/outside the extraction directory/);
      hostile('hostlink.tar', [
        { path: 'l', type: 'symlink', linkpath: s.outside },
        { path: 'l/evil', content: 'e' },
      ]);
      await run(s, add(ctx, ['hostlink.tar'], '/d4/'));
      expect(info(path.join(s.root, 'd4', s.outside, 'evil'))?.content).toBe('e');
      expect(readdirSync(s.outside)).toEqual([]);
    });

    it('a symlink already in the image at the destination is resolved inside the rootfs', async () => {
      make(s.root, { etc: { dir: true }, app: { symlink: '/etc' } });
      hostile('a.tar', [{ path: 'conf', content: 'c' }]);
      await run(s, add(ctx, ['a.tar'], '/app'));
      expect(info(path.join(s.root, 'etc/conf'))?.content).toBe('c');
      expect(readdirSync(s.outside)).toEqual([]);
    });

    it('a member replaces a symlink at its own path instead of writing through it', async () => {
      make(s.root, { 'x/target': 'keep', 'x/link': { symlink: 'target' } });
      hostile('r.tar', [{ path: 'link', content: 'new' }]);
      await run(s, add(ctx, ['r.tar'], '/x/'));
      expect(info(path.join(s.root, 'x/link'))).toMatchObject({ type: 'file', content: 'new' });
      expect(info(path.join(s.root, 'x/target'))?.content).toBe('keep');
    });
  });

  describe('URLs', () => {
    let server: http.Server;
    let base = '';
    const body = 'downloaded content\n';
    const sha = createHash('sha256').update(body).digest('hex');
    const archive = tarBytes([{ path: 'fromurl', content: 'u' }]);

    beforeAll(async () => {
      server = http.createServer((rq, rs) => {
        if (rq.url === '/files/tool.txt') {
          rs.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT', 'Content-Type': 'text/plain' });
          rs.end(body);
        } else if (rq.url === '/redirect') {
          rs.writeHead(302, { Location: '/files/tool.txt' });
          rs.end();
        } else if (rq.url === '/a.tar') {
          rs.writeHead(200);
          rs.end(archive);
        } else if (rq.url === '/') {
          rs.writeHead(200);
          rs.end('index');
        } else {
          rs.writeHead(404);
          rs.end('nope');
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('downloads: named after the URL path, mode 0600, owner 0:0, mtime from Last-Modified', async () => {
      const r = await run(s, add(ctx, [`${base}/files/tool.txt`], '/dl/'));
      expect(info(path.join(s.root, 'dl/tool.txt'))).toMatchObject({ content: body, mode: 0o600, uid: 0, gid: 0, mtime: 1_445_412_480 });
      expect(r.summary).toMatchObject({ files: 1, bytes: body.length });
      await run(s, add(ctx, [`${base}/`], '/dl/'));
      expect(info(path.join(s.root, 'dl/__unnamed__'))).toMatchObject({ content: 'index', mtime: 0 });
      await run(s, add(ctx, [`${base}/redirect`], '/named', { chmod: '755', chown: '1:2' }));
      expect(info(path.join(s.root, 'named'))).toMatchObject({ content: body, mode: 0o755, uid: 1, gid: 2 });
    });

    it('--checksum: a match is written, a mismatch fails and writes nothing', async () => {
      await run(s, add(ctx, [`${base}/files/tool.txt`], '/ok/', { checksum: `sha256:${sha}` }));
      expect(info(path.join(s.root, 'ok/tool.txt'))?.content).toBe(body);
      const wrong = 'sha256:' + '0'.repeat(64);
      const err = await run(s, add(ctx, [`${base}/files/tool.txt`], '/bad/', { checksum: wrong })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CopyError);
      expect((err as Error).message).toBe(`digest mismatch for ${base}/files/tool.txt: sha256:${sha} (expected: ${wrong})`);
      expect(info(path.join(s.root, 'bad'))).toBeUndefined();
      await expect(run(s, add(ctx, [`${base}/files/tool.txt`], '/x', { checksum: 'md5:abc' }))).rejects.toThrow(/invalid checksum digest format/);
      await expect(run(s, add(ctx, ['local.txt'], '/x', { checksum: wrong }))).rejects.toThrow('checksum requires HTTP(S) or Git sources');
    });

    it('a failing status is an error; remote archives are not unpacked unless --unpack', async () => {
      await expect(run(s, add(ctx, [`${base}/missing`], '/m'))).rejects.toThrow(/invalid response status 404/);
      await run(s, add(ctx, [`${base}/a.tar`], '/ra/'));
      expect(tree(path.join(s.root, 'ra'))).toEqual(['a.tar']);
      await run(s, add(ctx, [`${base}/a.tar`], '/ru/', { unpack: true }));
      expect(tree(path.join(s.root, 'ru'))).toEqual(['fromurl']);
    });
  });

  it('git sources are not supported yet', async () => {
    const err = await run(s, add(ctx, ['https://github.com/moby/buildkit.git'], '/src')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopyError);
    expect((err as Error).message).toMatch(/ADD of a git repository is not supported yet/);
    expect(err).toMatchObject({ source: 'https://github.com/moby/buildkit.git', sourceIndex: 0 });
  });
});
