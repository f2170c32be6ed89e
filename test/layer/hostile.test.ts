/**
 * The hostile-archive corpus (fixtures/hostile/, made by generate.mjs there): each archive is
 * refused with an OboxError naming the archive and the entry, nothing lands outside the target,
 * and nothing is left behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OboxError, ErrorCodes } from '../../src/errors.js';
import { applyLayer, unpackLayer } from '../../src/layer/index.js';
import { requires } from '../helpers/requirements.js';
import { listing, repoRoot, snapshot, useScratch } from './helpers.js';

const fixtures = join(repoRoot, 'fixtures/hostile');
const cases = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8')) as Array<{ file: string; entry: string; reason: string }>;
/** Places the corpus aims at, beside the temp dirs and at absolute paths. */
const ABSOLUTE_TARGETS = ['/tmp/obox-hostile-absolute.txt', '/tmp/obox-hostile-escape'];

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('hostile corpus fixtures', () => {
  const scratch = useScratch();
  it('are what generate.mjs makes', async () => {
    const out = await scratch.dir('hostile-gen');
    execFileSync(process.execPath, [join(fixtures, 'generate.mjs'), out]);
    const made = (await listing(out)).filter((f) => f.endsWith('.tar') || f.endsWith('.json'));
    expect(made).toEqual((await listing(fixtures)).filter((f) => f.endsWith('.tar') || f.endsWith('.json')));
    for (const f of made) expect(readFileSync(join(out, f)).equals(readFileSync(join(fixtures, f))), f).toBe(true);
  });
});

describe.skipIf(!requires({ root: true }))('hostile archives', () => {
  const scratch = useScratch();

  async function arena(): Promise<{ base: string; target: string; outside: string; before: string[] }> {
    const base = await scratch.dir('hostile');
    const outside = join(base, 'outside');
    await fsp.mkdir(outside);
    await fsp.writeFile(join(outside, 'secret'), 'do not touch\n');
    return { base, target: join(base, 'target'), outside, before: await listing(base) };
  }

  async function expectNothingChanged(a: { base: string; outside: string; before: string[] }): Promise<void> {
    expect(await listing(a.base)).toEqual(a.before); // no target, no temp dir left, no escapee
    expect(await snapshot(a.outside, { dirMtimes: false })).toMatchObject([{ path: 'secret', sha256: expect.any(String), size: 13 }]);
    expect((await fsp.stat(join(a.outside, 'secret'))).nlink).toBe(1);
    for (const p of ABSOLUTE_TARGETS) expect(existsSync(p), p).toBe(false);
  }

  for (const c of cases) {
    it(`refuses ${c.file}`, async () => {
      const a = await arena();
      const archive = join(fixtures, c.file);
      const err = await unpackLayer(archive, a.target).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OboxError);
      const e = err as OboxError;
      expect(e.code).toBe(ErrorCodes.invalidArchive);
      expect(e.message).toContain(archive);
      expect(e.message).toMatch(new RegExp(escapeRe(JSON.stringify(c.entry))));
      expect(e.message).toContain(c.reason);
      await expectNothingChanged(a);
    });

    it(`refuses ${c.file} gzip-compressed, and when applied onto an existing dir`, async () => {
      const a = await arena();
      const gz = join(a.base, 'x.tar.gz');
      await pipeline(Readable.from([readFileSync(join(fixtures, c.file))]), createGzip(), createWriteStream(gz));
      await expect(unpackLayer(gz, a.target, { archiveName: c.file })).rejects.toThrow(c.reason);
      await fsp.rm(gz);
      await expectNothingChanged(a);

      // applyLayer is not atomic, but nothing may escape the directory it works in.
      await fsp.mkdir(a.target);
      await expect(applyLayer(join(fixtures, c.file), a.target)).rejects.toBeInstanceOf(OboxError);
      await fsp.rm(a.target, { recursive: true });
      await expectNothingChanged(a);
    });
  }

  it('refuses corrupt gzip data and unsupported compression', async () => {
    const a = await arena();
    const gz = join(a.base, 'bad.tar.gz');
    const good: Buffer[] = [];
    const z = createGzip();
    z.end(readFileSync(join(fixtures, 'dotdot.tar')));
    for await (const chunk of z) good.push(chunk as Buffer);
    const whole = Buffer.concat(good);
    await fsp.writeFile(gz, whole.subarray(0, whole.length - 20));
    const err = await unpackLayer(gz, a.target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OboxError);
    expect((err as OboxError).message).toMatch(/bad\.tar\.gz: .*(truncated|unexpected end|corrupt)/);
    await fsp.writeFile(gz, Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(64)]));
    await expect(unpackLayer(gz, a.target)).rejects.toThrow(/xz-compressed layers are not supported/);
    await fsp.rm(gz);
    await expectNothingChanged(a);
  });

  it('never restores overlay xattrs from an archive (no forged opaque dirs or redirects)', async () => {
    const a = await arena();
    const { encodeHeader } = await import('../../src/layer/index.js');
    const { END_OF_ARCHIVE } = await import('../../src/layer/tar-format.js');
    const { native } = await import('../../src/layer/native.js');
    const y = Buffer.from('y');
    const xattrs = [
      { name: 'trusted.overlay.opaque', value: y },
      { name: 'user.overlay.opaque', value: y },
      { name: 'trusted.overlay.redirect', value: Buffer.from('/etc') },
      { name: 'user.kept', value: y },
    ];
    const tar = Buffer.concat([
      encodeHeader({ path: 'd/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, linkpath: '', devMajor: 0, devMinor: 0, xattrs }),
      END_OF_ARCHIVE,
    ]);
    const file = join(a.base, 'forged.tar');
    await fsp.writeFile(file, tar);
    await unpackLayer(file, a.target);
    const names = native().lgetxattrs(join(a.target, 'd')).filter((_, i) => i % 2 === 0);
    expect(names).toEqual(['user.kept']);
    await fsp.rm(a.target, { recursive: true });
    await fsp.rm(file);
    await expectNothingChanged(a);
  });

  it('contains what is merely odd: a symlink replaced by a dir, a file replaced by a symlink', async () => {
    // Not refused, but handled without ever writing through the symlink.
    const a = await arena();
    const { encodeHeader } = await import('../../src/layer/index.js');
    const { END_OF_ARCHIVE } = await import('../../src/layer/tar-format.js');
    const h = (path: string, type: 'dir' | 'file' | 'symlink', linkpath = '') =>
      encodeHeader({ path, type, mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, linkpath, devMajor: 0, devMinor: 0, xattrs: [] });
    const tar = Buffer.concat([
      h('d', 'symlink', '../outside'),
      h('d/', 'dir'),
      h('d/f', 'file'),
      h('s', 'file'),
      h('s', 'symlink', '../outside/secret'),
      END_OF_ARCHIVE,
    ]);
    const file = join(a.base, 'odd.tar');
    await fsp.writeFile(file, tar);
    await unpackLayer(file, a.target);
    expect((await fsp.lstat(join(a.target, 'd'))).isDirectory()).toBe(true);
    expect(existsSync(join(a.target, 'd/f'))).toBe(true);
    expect(await fsp.readlink(join(a.target, 's'))).toBe('../outside/secret');
    await fsp.rm(a.target, { recursive: true });
    await fsp.rm(file);
    await expectNothingChanged(a);
  });
});
