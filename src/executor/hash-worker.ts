/**
 * Worker thread entry (directory-hasher.ts): flushes and hashes layer dirs off the main thread,
 * so the syncfs and tar-and-sha256 of an intermediate layer run on another core while the build
 * goes on.
 */
import { parentPort } from 'node:worker_threads';
import { OboxError, ErrorCodes, type ErrorCode } from '../errors.js';
import type { WriteLayerOptions } from '../layer/index.js';
import { diffIdOfDirectory } from '../cache/layers.js';
import { syncFileSystemOf } from './overlay/mounter.js';

export interface HashRequest {
  id: number;
  dir: string;
  options: WriteLayerOptions;
  /** Flush the dir's filesystem to disk first (an overlay upper dir unmounted without it). */
  sync: boolean;
}

/** syncfs of dir's filesystem, then its diffID: what a deferred layer needs before it is adopted. */
export async function syncAndHash(dir: string, options: WriteLayerOptions, sync: boolean): Promise<string> {
  if (sync) {
    await syncFileSystemOf(dir).catch((e: unknown) => {
      throw new OboxError(ErrorCodes.environment, `writing ${dir} to disk failed: ${(e as Error).message}`, { hint: 'check free space and the kernel log', cause: e });
    });
  }
  return (await diffIdOfDirectory(dir, options)).diffId.toString();
}

/** An error as it crosses the thread: an OboxError keeps its code and hint, a system error its errno code. */
export interface WireError {
  message: string;
  obox?: { code: ErrorCode; hint?: string };
  code?: string;
  syscall?: string;
  path?: string;
}

export type HashReply = { id: number; diffId: string } | { id: number; error: WireError };

export function toWire(e: unknown): WireError {
  if (e instanceof OboxError) return { message: e.message, obox: { code: e.code, ...(e.hint !== undefined ? { hint: e.hint } : {}) } };
  const err = e as { message?: unknown; code?: unknown; syscall?: unknown; path?: unknown } | undefined;
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const code = str(err?.code);
  const syscall = str(err?.syscall);
  const p = str(err?.path);
  return { message: String(err?.message ?? e), ...(code ? { code } : {}), ...(syscall ? { syscall } : {}), ...(p ? { path: p } : {}) };
}

export function fromWire(w: WireError): Error {
  if (w.obox) return new OboxError(w.obox.code, w.message, w.obox.hint !== undefined ? { hint: w.obox.hint } : {});
  return Object.assign(new Error(w.message), { ...(w.code ? { code: w.code } : {}), ...(w.syscall ? { syscall: w.syscall } : {}), ...(w.path ? { path: w.path } : {}) });
}

parentPort?.on('message', (m: HashRequest) => {
  syncAndHash(m.dir, m.options, m.sync).then(
    (diffId) => parentPort!.postMessage({ id: m.id, diffId } satisfies HashReply),
    (e: unknown) => parentPort!.postMessage({ id: m.id, error: toWire(e) } satisfies HashReply),
  );
});
