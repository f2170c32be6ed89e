/**
 * Acceptance tests of the "Images on disk" issue, items 5 and 6, through the real CLI:
 *
 *  5. the hostile archive corpus (fixtures/archives/, made by native-scripts/make-hostile-archives.ts,
 *     described by its expected.json) → `obox load -i FILE` (and from stdin): exit 1, stderr names
 *     the archive and the entry, no stack trace; the store unchanged (same `images --format json`,
 *     same blobs) with nothing left in tmp/. The valid archives of the corpus load.
 *  6. progress: nothing extra on stderr when it is not a terminal; a progress line, cleared at the
 *     end, on a pseudo-terminal (util-linux `script`).
 *
 * No daemon here; the real-reader checks are in images-oracle.test.ts.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { requires } from '../helpers/requirements.js';
import { BUSYBOX_ROOTFS_TOOLS, makeBusyboxRootfs } from '../infra/rootfs.js';
import { bash, cmdOk, images, obox, OBOX_BIN, oboxOk, STACK_TRACE } from './oracle-helpers.js';

const ARCHIVES = path.join(repoRoot, 'fixtures', 'archives');

interface Expected {
  file: string;
  ok: boolean;
  entry: string | null;
  reason: string;
}

const corpus = JSON.parse(readFileSync(path.join(ARCHIVES, 'expected.json'), 'utf8')) as Expected[];
const hostile = corpus.filter((c) => !c.ok);
const valid = corpus.filter((c) => c.ok);
/** Through stdin, one archive per kind of failure (reading, docker-archive, OCI, compression, empty). */
const viaStdin = hostile.filter((c) =>
  ['dotdot-entry.tar', 'duplicate-entry.tar', 'docker-diffid-mismatch.tar', 'oci-size-mismatch.tar', 'truncated.tar.gz', 'gzip-garbage.tar.gz', 'empty-archive.tar'].includes(c.file),
);

/** Every file under DIR (relative), sorted: blobs/ and layers-v1/ before and after must be equal. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      out.push(e.isDirectory() ? `${r}/` : `${r} ${statSync(path.join(dir, r)).size}`);
      if (e.isDirectory()) walk(r);
    }
  };
  walk('');
  return out.sort();
}

/** The store as the user can see it: names and images, blobs, unpacked layers, tmp/. */
async function snapshot(root: string): Promise<{ images: string; blobs: string[]; layers: string[]; index: string }> {
  return {
    images: (await oboxOk(root, ['images', '--format', 'json'])).stdout,
    blobs: tree(path.join(root, 'blobs')),
    layers: tree(path.join(root, 'layers-v1')),
    index: readFileSync(path.join(root, 'index.json'), 'utf8'),
  };
}

describe.skipIf(!requires({ tools: [...BUSYBOX_ROOTFS_TOOLS] }))('obox load and save from the command line: bad archives, progress', () => {
  let tmp: string;
  let root: string;
  let archive: string;
  const file = (name: string): string => path.join(tmp, name);

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'obox-images-load-'));
    root = file('store');
    const rootfs = await makeBusyboxRootfs(file('busybox.tar'));
    await oboxOk(root, ['import', rootfs, '-t', 'busybox']);
    // A store with a loaded image too, so "unchanged" covers loaded blobs and names.
    await oboxOk(root, ['load', '-i', path.join(ARCHIVES, 'valid-docker-legacy.tar')]);
    archive = file('busybox.docker.tar');
    await oboxOk(root, ['save', '-o', archive, 'busybox']);
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('5. the hostile archive corpus', () => {
    /** The store before any hostile load; after each one it must be exactly this. */
    let baseline: Awaited<ReturnType<typeof snapshot>>;
    beforeAll(async () => {
      baseline = await snapshot(root);
      expect(JSON.parse(baseline.images)).toHaveLength(2);
    });

    it('the corpus is there and has both kinds', () => {
      expect(hostile.length).toBeGreaterThan(20);
      expect(valid.length).toBeGreaterThanOrEqual(4);
      expect(viaStdin).toHaveLength(7);
      for (const c of corpus) expect(statSync(path.join(ARCHIVES, c.file)).isFile(), c.file).toBe(true);
    });

    it.each(hostile.map((c) => [c.file, c] as const))('obox load -i %s: exit 1, archive and entry named, no stack trace, store unchanged', async (_name, c) => {
      const r = await obox(root, ['load', '-i', path.join(ARCHIVES, c.file)]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error: /);
      expect(r.stderr).toContain(c.file);
      if (c.entry !== null) expect(r.stderr).toContain(c.entry);
      expect(r.stderr).toMatch(new RegExp(c.reason));
      expect(r.stderr).not.toMatch(STACK_TRACE);
      // One error line, perhaps a hint: not a dump.
      expect(r.stderr.trimEnd().split('\n').length).toBeLessThanOrEqual(2);
      expect(await snapshot(root)).toEqual(baseline);
      expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
    });

    it.each(viaStdin.map((c) => [c.file, c] as const))('obox load < %s (stdin): exit 1, <stdin> and entry named, store unchanged', async (_name, c) => {
      const r = await obox(root, ['load'], { input: readFileSync(path.join(ARCHIVES, c.file)) });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: <stdin>/);
      if (c.entry !== null) expect(r.stderr).toContain(c.entry);
      expect(r.stderr).toMatch(new RegExp(c.reason));
      expect(r.stderr).not.toMatch(STACK_TRACE);
      expect(await snapshot(root)).toEqual(baseline);
      expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
    });

    it('a missing file, a directory and an empty file are errors naming them, with nothing stored', async () => {
      for (const [input, message] of [
        [file('no-such.tar'), /no such file/],
        [tmp, /EISDIR|directory/],
        ['/dev/null', /empty archive/],
      ] as const) {
        const r = await obox(root, ['load', '-i', input]);
        expect(r.code, input).toBe(1);
        expect(r.stderr, input).toContain(input);
        expect(r.stderr, input).toMatch(message);
        expect(r.stderr, input).not.toMatch(STACK_TRACE);
      }
      expect(await snapshot(root)).toEqual(baseline);
      expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
    });

    it.each(valid.map((c) => [c.file] as const))('the valid %s loads (exit 0, "Loaded image" lines only)', async (name) => {
      const store = mkdtempSync(path.join(tmp, 'valid-'));
      const r = await obox(store, ['load', '-i', path.join(ARCHIVES, name)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout.split('\n').filter(Boolean);
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(l).toMatch(/^Loaded image( ID)?: /);
      expect((await images(store)).length).toBeGreaterThan(0);
      expect(readdirSync(path.join(store, 'tmp'))).toEqual([]);
    });
  });

  describe('save: where the archive goes, and which images', () => {
    const noBug = (stderr: string): void => {
      expect(stderr).not.toContain('internal error');
      expect(stderr).not.toContain('this is a bug');
      expect(stderr).not.toMatch(STACK_TRACE);
    };

    it('-o into a missing directory: exit 1 naming the path, no temp file left', async () => {
      const out = path.join(tmp, 'missing-dir', 'x.tar');
      const r = await obox(root, ['save', '-o', out, 'busybox']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: cannot write ${out}: no such directory ${path.dirname(out)}\n`);
      noBug(r.stderr);
    });

    it('-o naming a directory: usage error (exit 2), the directory untouched', async () => {
      const dir = mkdtempSync(path.join(tmp, 'out-dir-'));
      const r = await obox(root, ['save', '-o', dir, 'busybox']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`cannot write ${dir}: it is a directory`);
      noBug(r.stderr);
      expect(readdirSync(dir)).toEqual([]);
    });

    it('to a full device or a closed pipe: an environment error (exit 3), not a bug', async () => {
      const full = await bash('$OBOX --root "$ROOT" save busybox > /dev/full', { env: { ROOT: root } });
      expect(full.code).toBe(3);
      expect(full.stderr).toContain('no space left on device');
      noBug(full.stderr);
      // `head` exits after 100 bytes of a ~2 MB archive: obox's next writes fail with EPIPE.
      const pipe = await bash('set +e; $OBOX --root "$ROOT" save busybox | head -c 100 > /dev/null; echo "obox exit ${PIPESTATUS[0]}"', { env: { ROOT: root } });
      expect(pipe.stdout).toBe('obox exit 3\n');
      expect(pipe.stderr).toContain('broken pipe');
      noBug(pipe.stderr);
    });

    it('the same image given several times (name, full name, ID) is written once, with its name once', async () => {
      const rows = await images(root);
      const bb = rows.find((i) => i.names.includes('docker.io/library/busybox:latest'))!;
      const out = file('same-thrice.tar');
      const r = await obox(root, ['save', '-o', out, 'busybox', 'busybox', 'docker.io/library/busybox:latest', bb.id.slice(7, 19)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const manifest = JSON.parse((await cmdOk('tar', ['-xOf', out, 'manifest.json'])).stdout) as Array<{ RepoTags: string[] }>;
      expect(manifest).toHaveLength(1);
      expect(manifest[0]!.RepoTags).toEqual(['docker.io/library/busybox:latest']);
      const oci = await obox(root, ['save', '--format', 'oci', '-o', file('same-twice.oci.tar'), 'busybox', 'busybox:latest']);
      expect(oci.code).toBe(0);
      const index = JSON.parse((await cmdOk('tar', ['-xOf', file('same-twice.oci.tar'), 'index.json'])).stdout) as { manifests: unknown[] };
      expect(index.manifests).toHaveLength(1);
    });
  });

  describe('6. progress output', () => {
    it('load and save print nothing on stderr when it is not a terminal', async () => {
      const store = file('quiet-store');
      const load = await obox(store, ['load', '-i', archive]);
      expect(load.code).toBe(0);
      expect(load.stderr).toBe('');
      expect(load.stdout).toBe('Loaded image: docker.io/library/busybox:latest\n');

      const fromStdin = await obox(file('quiet-store-2'), ['load'], { input: readFileSync(archive) });
      expect(fromStdin.stderr).toBe('');
      expect(fromStdin.stdout).toBe('Loaded image: docker.io/library/busybox:latest\n');

      const quiet = await obox(file('quiet-store-3'), ['load', '-q', '-i', archive]);
      expect(quiet.code).toBe(0);
      expect(quiet.stdout + quiet.stderr).toBe('');

      for (const format of ['docker', 'oci']) {
        const save = await obox(store, ['save', '--format', format, '-o', file(`quiet.${format}.tar`), 'busybox']);
        expect(save.code).toBe(0);
        expect(save.stdout + save.stderr).toBe('');
      }
      // To a pipe: the archive on stdout, nothing on stderr.
      const piped = await bash('$OBOX --root "$ROOT" save busybox 2>"$ERR" | tar -tf - >/dev/null; cat "$ERR"', {
        env: { ROOT: store, ERR: file('save.stderr') },
      });
      expect(piped.code).toBe(0);
      expect(piped.stdout + piped.stderr).toBe('');
    });

    describe.skipIf(!requires({ tools: ['script'] }))('on a pseudo-terminal (script)', () => {
      /** Runs obox under `script`, which gives it a pty as stdin, stdout and stderr; returns the pty's output. */
      const onPty = async (args: string[]): Promise<{ code: number; out: string }> => {
        const argv = [process.execPath, OBOX_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
        const r = await bash(`script -qefc "$ARGV" /dev/null`, { env: { ARGV: argv, NO_COLOR: '1' } });
        return { code: r.code, out: r.stdout };
      };

      it('load -i shows a "loading … / total  N%" line, then clears it before "Loaded image"', async () => {
        const r = await onPty(['--root', file('tty-store'), 'load', '-i', archive]);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/\r\x1b\[2Kloading [\d.]+ ?[kMG]?B \/ [\d.]+ ?[kMG]?B \d+%/);
        expect(r.out).toMatch(/\r\x1b\[2KLoaded image: docker\.io\/library\/busybox:latest\r?\n$/);
        expect(r.out).not.toMatch(STACK_TRACE);
      });

      it('save -o shows a "saving …" line and clears it; the archive is the same as without a terminal', async () => {
        const out = file('tty-save.tar');
        const r = await onPty(['--root', root, 'save', '-o', out, 'busybox']);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^\r\x1b\[2Ksaving [\d.]+ ?[kMG]?B/);
        expect(r.out).toMatch(/\r\x1b\[2K$/);
        const plain = file('plain-save.tar');
        await oboxOk(root, ['save', '-o', plain, 'busybox']);
        expect((await cmdOk('cmp', [out, plain])).code).toBe(0);
      });

      it('save without -o refuses to write the archive to the terminal (usage error, exit 2)', async () => {
        const r = await onPty(['--root', root, 'save', 'busybox']);
        expect(r.code).toBe(2);
        expect(r.out).toContain('refusing to write an archive to a terminal');
        expect(r.out.length).toBeLessThan(500);
      });

      it('load with a terminal on stdin and no -i is a usage error (exit 2)', async () => {
        const r = await onPty(['--root', root, 'load']);
        expect(r.code).toBe(2);
        expect(r.out).toContain('no archive on standard input');
      });
    });
  });
});
