/**
 * Which ignore file a build uses, with real temp directories:
 * `<Containerfile>.containerignore` > `<Containerfile>.dockerignore` > `<context>/.containerignore`
 * > `<context>/.dockerignore`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, OboxError } from '../../src/errors.js';
import { IgnoreFileError, ignoreFileCandidates, loadIgnoreRules } from '../../src/context/ignore.js';

let tmp: string;
let ctx: string;

beforeEach(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'obox-ignore-'));
  ctx = path.join(tmp, 'ctx');
  mkdirSync(path.join(ctx, 'build'), { recursive: true });
});

afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Each ignore file excludes one path named after itself, so the winner is visible. */
function write(rel: string, marker: string): string {
  const p = path.join(tmp, rel);
  writeFileSync(p, `# ${rel}\n${marker}\n`);
  return p;
}

async function winner(containerfilePath?: string): Promise<{ source: string | undefined; excludes: string[] }> {
  const { source, matcher } = await loadIgnoreRules({ contextDir: ctx, containerfilePath });
  const markers = ['cf-containerignore', 'cf-dockerignore', 'root-containerignore', 'root-dockerignore'];
  return { source, excludes: markers.filter((m) => matcher.matches(m)) };
}

describe('loadIgnoreRules', () => {
  it('returns an empty matcher and no source when there is no ignore file', async () => {
    const cf = path.join(ctx, 'Containerfile');
    writeFileSync(cf, 'FROM scratch\n');
    const { source, matcher } = await loadIgnoreRules({ contextDir: ctx, containerfilePath: cf });
    expect(source).toBeUndefined();
    expect(matcher.rules).toEqual([]);
    expect(matcher.matches('anything')).toBe(false);
  });

  it('uses the context root .dockerignore', async () => {
    const p = write('ctx/.dockerignore', 'root-dockerignore');
    expect(await winner(path.join(ctx, 'Containerfile'))).toEqual({ source: p, excludes: ['root-dockerignore'] });
  });

  it('prefers .containerignore over .dockerignore at the context root', async () => {
    write('ctx/.dockerignore', 'root-dockerignore');
    const p = write('ctx/.containerignore', 'root-containerignore');
    expect(await winner(path.join(ctx, 'Containerfile'))).toEqual({ source: p, excludes: ['root-containerignore'] });
  });

  it('prefers <Containerfile>.dockerignore beside the Containerfile over both root files', async () => {
    write('ctx/.dockerignore', 'root-dockerignore');
    write('ctx/.containerignore', 'root-containerignore');
    const p = write('ctx/build/app.Containerfile.dockerignore', 'cf-dockerignore');
    expect(await winner(path.join(ctx, 'build/app.Containerfile'))).toEqual({ source: p, excludes: ['cf-dockerignore'] });
  });

  it('prefers <Containerfile>.containerignore over <Containerfile>.dockerignore', async () => {
    write('ctx/.dockerignore', 'root-dockerignore');
    write('ctx/build/app.Containerfile.dockerignore', 'cf-dockerignore');
    const p = write('ctx/build/app.Containerfile.containerignore', 'cf-containerignore');
    expect(await winner(path.join(ctx, 'build/app.Containerfile'))).toEqual({ source: p, excludes: ['cf-containerignore'] });
  });

  it('finds the Containerfile-specific file for a Containerfile outside the context', async () => {
    write('ctx/.dockerignore', 'root-dockerignore');
    const p = write('Dockerfile.dockerignore', 'cf-dockerignore');
    expect(await winner(path.join(tmp, 'Dockerfile'))).toEqual({ source: p, excludes: ['cf-dockerignore'] });
  });

  it('ignores a Containerfile-specific file for a different Containerfile name', async () => {
    write('ctx/build/other.Containerfile.dockerignore', 'cf-dockerignore');
    const p = write('ctx/.dockerignore', 'root-dockerignore');
    expect(await winner(path.join(ctx, 'build/app.Containerfile'))).toEqual({ source: p, excludes: ['root-dockerignore'] });
  });

  it('without a Containerfile path, only the context root is searched', async () => {
    write('ctx/Containerfile.dockerignore', 'cf-dockerignore');
    const p = write('ctx/.dockerignore', 'root-dockerignore');
    expect(await winner()).toEqual({ source: p, excludes: ['root-dockerignore'] });
    expect(await winner('-')).toEqual({ source: p, excludes: ['root-dockerignore'] });
  });

  it('resolves relative paths against the working directory', () => {
    expect(ignoreFileCandidates({ contextDir: 'c', containerfilePath: 'd/Containerfile' })).toEqual([
      path.resolve('d/Containerfile.containerignore'),
      path.resolve('d/Containerfile.dockerignore'),
      path.resolve('c/.containerignore'),
      path.resolve('c/.dockerignore'),
    ]);
  });

  it('throws an IgnoreFileError naming the file and line for a bad pattern', async () => {
    const p = path.join(ctx, '.dockerignore');
    writeFileSync(p, 'node_modules\n\n*.[ch\n');
    const err = await loadIgnoreRules({ contextDir: ctx }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IgnoreFileError);
    const e = err as IgnoreFileError;
    expect(e.code).toBe(ErrorCodes.syntax);
    expect(e.file).toBe(p);
    expect(e.line).toBe(3);
    expect(e.message).toBe(`${p}:3: invalid pattern "*.[ch": unterminated character class: missing "]"`);
  });

  it('refuses an ignore "file" that is a directory', async () => {
    mkdirSync(path.join(ctx, '.dockerignore'));
    const err = await loadIgnoreRules({ contextDir: ctx }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OboxError);
    expect((err as OboxError).code).toBe(ErrorCodes.environment);
    expect((err as OboxError).message).toMatch(/cannot read ignore file .*\.dockerignore: is a directory/);
  });

  it('reads the file as UTF-8 with CRLF and BOM', async () => {
    writeFileSync(path.join(ctx, '.dockerignore'), '\uFEFFdonnées\r\n!données/garder\r\n');
    const { matcher } = await loadIgnoreRules({ contextDir: ctx });
    expect(matcher.matches('données/x')).toBe(true);
    expect(matcher.matches('données/garder')).toBe(false);
  });
});
