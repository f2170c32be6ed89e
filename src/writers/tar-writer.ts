/**
 * The outer archive (docker-archive, OCI archive) as a tar stream, on obox's own header encoder
 * (src/layer). Deterministic: entries in the order given (callers sort them), owner 0:0 with no
 * names, mode 0644 for files and 0755 for directories, one fixed mtime. Streaming: one blob at a
 * time flows through; nothing but headers and small JSON files is held in memory.
 */
import { Readable } from 'node:stream';
import { encodeHeader, type TarHeader } from '../layer/index.js';
import { entrySize, openVerified, type LayoutEntry } from './entries.js';

const BLOCK = 512;
const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

function padding(size: number): Buffer {
  const r = size % BLOCK;
  return Buffer.alloc(r === 0 ? 0 : BLOCK - r);
}

function header(e: LayoutEntry, mtime: number): Buffer {
  const h: TarHeader = {
    path: e.path,
    type: e.kind === 'dir' ? 'dir' : 'file',
    mode: e.kind === 'dir' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    size: entrySize(e),
    mtime,
    linkpath: '',
    devMajor: 0,
    devMinor: 0,
    xattrs: [],
  };
  return encodeHeader(h);
}

export interface TarPlan {
  readonly entries: readonly LayoutEntry[];
  readonly headers: readonly Buffer[];
  /** The exact size of the archive in bytes. */
  readonly size: number;
}

/** Encode every header now, so the archive's size is known before the first byte is written. */
export function planTar(entries: readonly LayoutEntry[], mtime: number): TarPlan {
  const headers = entries.map((e) => header(e, mtime));
  let size = END_OF_ARCHIVE.byteLength;
  entries.forEach((e, i) => {
    const n = entrySize(e);
    size += (headers[i] as Buffer).byteLength + n + padding(n).byteLength;
  });
  return { entries, headers, size };
}

async function* tarChunks(plan: TarPlan, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  for (const [i, e] of plan.entries.entries()) {
    const h = plan.headers[i] as Buffer;
    yield h;
    onBytes(h.byteLength);
    if (e.kind === 'bytes') {
      const data = Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
      yield data;
      onBytes(data.byteLength);
    } else if (e.kind === 'blob') {
      const stream = await openVerified(e);
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          yield chunk;
          onBytes(chunk.byteLength);
        }
      } finally {
        stream.destroy();
      }
    }
    const pad = padding(entrySize(e));
    if (pad.byteLength > 0) {
      yield pad;
      onBytes(pad.byteLength);
    }
  }
  yield END_OF_ARCHIVE;
  onBytes(END_OF_ARCHIVE.byteLength);
}

/** The archive as a byte stream; a blob that fails verification fails the stream. */
export function tarStream(plan: TarPlan, onBytes: (n: number) => void = () => undefined): Readable {
  return Readable.from(tarChunks(plan, onBytes), { objectMode: false });
}
