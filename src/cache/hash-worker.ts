/**
 * Worker thread entry (directory-hasher.ts): computes layer dirs' diffIDs off the main thread,
 * so the tar-and-sha256 of an intermediate layer runs on another core while the build goes on.
 */
import { parentPort } from 'node:worker_threads';
import { OboxError, type ErrorCode } from '../errors.js';
import type { WriteLayerOptions } from '../layer/index.js';
import { diffIdOfDirectory } from './layers.js';

export interface HashRequest {
  id: number;
  dir: string;
  options: WriteLayerOptions;
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
  diffIdOfDirectory(m.dir, m.options).then(
    (r) => parentPort!.postMessage({ id: m.id, diffId: r.diffId.toString() } satisfies HashReply),
    (e: unknown) => parentPort!.postMessage({ id: m.id, error: toWire(e) } satisfies HashReply),
  );
});
