/**
 * `ADD https://…`: downloads to a private staging file, as BuildKit's http source does
 * (source/http/source.go): GET following redirects; a status outside 200–399 is an error;
 * mode 0600, owner 0:0, mtime from Last-Modified (else the Unix epoch); with `--checksum` the
 * bytes must match or the build fails — and nothing reaches the destination, because the
 * download lands in a staging directory outside it.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { RequestInit, Response } from 'node-fetch';
import { ErrorCodes } from '../../errors.js';
import { CopyError } from './errors.js';
import { urlFileName } from './remote.js';

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

const ALGORITHMS: Record<string, { node: string; hexLength: number }> = {
  sha256: { node: 'sha256', hexLength: 64 },
  sha384: { node: 'sha384', hexLength: 96 },
  sha512: { node: 'sha512', hexLength: 128 },
};

export interface Checksum {
  algorithm: string;
  hex: string;
}

/** `sha256:<hex>` (sha384, sha512 too), as go-digest's Parse accepts it. */
export function parseChecksum(text: string): Checksum {
  const m = /^([a-z0-9]+):([a-f0-9]+)$/.exec(text);
  const algo = m ? ALGORITHMS[m[1] as string] : undefined;
  if (!m || !algo || (m[2] as string).length !== algo.hexLength) {
    throw new CopyError(ErrorCodes.semantic, `invalid checksum digest format: ${JSON.stringify(text)}`, {
      hint: 'write --checksum=sha256:<64 hex digits>',
    });
  }
  return { algorithm: m[1] as string, hex: m[2] as string };
}

export interface Downloaded {
  /** The staged file (inside `dir`). */
  file: string;
  /** The file name ADD gives it. */
  name: string;
  /** Seconds since the epoch: Last-Modified, else 0. */
  mtime: number;
  size: number;
  /** `sha256:…` of the content. */
  digest: string;
}

export interface DownloadOptions {
  /** A fresh private directory to download into. */
  dir: string;
  checksum?: Checksum | undefined;
  fetch?: FetchLike | undefined;
  signal?: AbortSignal | undefined;
}

/** Strips credentials from a URL for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = 'xxxxx';
      u.password = 'xxxxx';
    }
    return u.toString();
  } catch {
    return url;
  }
}

export async function download(url: string, opts: DownloadOptions): Promise<Downloaded> {
  const shown = redactUrl(url);
  // node-fetch (and http/https under it) loads only when a build downloads something.
  const doFetch: FetchLike = opts.fetch ?? (async (u, init) => (await import('node-fetch')).default(u, init));
  let res: Response;
  try {
    res = await doFetch(url, { redirect: 'follow', signal: opts.signal, headers: { 'User-Agent': 'obox' } });
  } catch (cause) {
    throw new CopyError(ErrorCodes.environment, `cannot download ${shown}: ${(cause as Error).message}`, { cause, source: url });
  }
  if (res.status < 200 || res.status >= 400) {
    res.body?.resume();
    throw new CopyError(ErrorCodes.notFound, `cannot download ${shown}: invalid response status ${res.status}`, { source: url });
  }
  const name = urlFileName(url);
  const file = path.join(opts.dir, name);
  const sha256 = createHash('sha256');
  const pinned = opts.checksum ? createHash(ALGORITHMS[opts.checksum.algorithm]?.node ?? 'sha256') : undefined;
  let size = 0;
  const fh = await fsp.open(file, 'wx', 0o600);
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        sha256.update(buf);
        pinned?.update(buf);
        size += buf.length;
        await fh.write(buf);
      }
    }
  } catch (cause) {
    throw new CopyError(ErrorCodes.environment, `cannot download ${shown}: ${(cause as Error).message}`, { cause, source: url });
  } finally {
    await fh.close();
  }
  if (opts.checksum && pinned) {
    const got = pinned.digest('hex');
    if (got !== opts.checksum.hex) {
      await fsp.rm(file, { force: true });
      throw new CopyError(
        ErrorCodes.invalidArchive,
        `digest mismatch for ${shown}: ${opts.checksum.algorithm}:${got} (expected: ${opts.checksum.algorithm}:${opts.checksum.hex})`,
        { source: url, hint: 'the server sent different bytes than --checksum pins; check the URL or update the checksum' },
      );
    }
  }
  const lastModified = res.headers.get('last-modified');
  const parsed = lastModified ? Date.parse(lastModified) : NaN;
  const mtime = Number.isNaN(parsed) ? 0 : Math.floor(parsed / 1000);
  await fsp.chmod(file, 0o600);
  await fsp.utimes(file, mtime, mtime);
  return { file, name, mtime, size, digest: `sha256:${sha256.digest('hex')}` };
}
