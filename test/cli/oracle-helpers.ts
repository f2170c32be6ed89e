/**
 * Shared by the CLI acceptance tests of the "Images on disk" issue (images-oracle, images-special-files,
 * images-load-errors): the built obox CLI run asynchronously (so a private dockerd's client calls and
 * obox can interleave without blocking the event loop), shell pipelines, tar listings.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { type CmdOptions, type CmdResult, failure, runCmd } from '../helpers/dockerd.js';

export const OBOX_BIN = path.join(repoRoot, 'bin', 'obox.js');

/** `obox --root ROOT ARGS…` (bin/obox.js → dist/). Never throws on a non-zero exit. */
export function obox(root: string, args: string[], opts: CmdOptions = {}): Promise<CmdResult> {
  if (!existsSync(path.join(repoRoot, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  }
  return runCmd(process.execPath, [OBOX_BIN, '--root', root, ...args], { ...process.env, ...opts.env }, { timeoutMs: 120_000, ...opts });
}

/** Like obox(), but throws (with the command, stdout and stderr) on a non-zero exit. */
export async function oboxOk(root: string, args: string[], opts: CmdOptions = {}): Promise<CmdResult> {
  const r = await obox(root, args, opts);
  if (r.code !== 0) throw failure('obox', ['--root', root, ...args], r);
  return r;
}

/** Any command. Never throws on a non-zero exit. */
export function cmd(file: string, args: string[], opts: CmdOptions = {}): Promise<CmdResult> {
  return runCmd(file, args, { ...process.env, ...opts.env }, opts);
}

/** Any command; throws on a non-zero exit. */
export async function cmdOk(file: string, args: string[], opts: CmdOptions = {}): Promise<CmdResult> {
  const r = await cmd(file, args, opts);
  if (r.code !== 0) throw failure(file, args, r);
  return r;
}

/** `bash -c 'set -euo pipefail; SCRIPT'`, for pipelines (obox save | docker load). $OBOX is the CLI. */
export function bash(script: string, opts: CmdOptions = {}): Promise<CmdResult> {
  return cmd('bash', ['-c', `set -euo pipefail\n${script}`], {
    ...opts,
    env: { OBOX: `${process.execPath} ${OBOX_BIN}`, ...opts.env },
  });
}

/** The member names of a tar archive, in order (duplicates kept). */
export async function tarNames(file: string): Promise<string[]> {
  const r = await cmdOk('tar', ['-tf', file]);
  return r.stdout.split('\n').filter(Boolean);
}

/** A Node stack frame or an uncaught-error dump: what a user-facing error must never show. */
export const STACK_TRACE = /^\s+at\s|node:internal\/|\.[cm]?js:\d+:\d+/m;

export interface ImageRow {
  id: string;
  digest: string;
  names: string[];
  layers: number;
  layerDigests: string[];
  config: { rootfs: { diff_ids: string[] } };
}

/** `obox images --format json`, parsed. */
export async function images(root: string): Promise<ImageRow[]> {
  return JSON.parse((await oboxOk(root, ['images', '--format', 'json'])).stdout) as ImageRow[];
}

/** The row of the image named NAME (a full name, docker.io/library/x:latest). */
export async function imageNamed(root: string, name: string): Promise<ImageRow> {
  const row = (await images(root)).find((i) => i.names.includes(name));
  if (!row) throw new Error(`no image named ${name} in ${root}`);
  return row;
}
