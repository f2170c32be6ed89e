/**
 * ADD's archive detection and decompression, as BuildKit does it (solver/llbsolver/file
 * isArchivePath, util/archiveutil.DecompressStream): by content, never by name — a regular file
 * is an archive when, after decompression (gzip, bzip2, xz, zstd or none, told by the magic
 * bytes), its first tar header reads. A `.tar.gz` that is not a tar is copied as a file; a tar
 * named `data.bin` is unpacked.
 *
 * gzip (and zstd, on a Node that has it) decompress in-process with node:zlib. bzip2, xz and
 * zstd otherwise go through the `bzip2`, `xz` and `zstd` programs, as BuildKit runs `xz -d -c -q`
 * for xz: Node has no decoder for them and no new npm dependency is worth it.
 */
import { spawn } from 'node:child_process';
import { createReadStream, promises as fsp } from 'node:fs';
import { ErrorCodes, OboxError } from '../../errors.js';
import { decompress, detectCompression, zstdSupported, readTar, type TarEntry } from '../../layer/index.js';
import { errnoOf } from './errors.js';

const TOOLS = {
  bzip2: ['bzip2', ['-d', '-c', '-q']],
  xz: ['xz', ['-d', '-c', '-q']],
  zstd: ['zstd', ['-d', '-c', '-q']],
} as const;

async function head(file: string, n: number): Promise<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Decompresses through an external program, killing it if the reader stops early. */
async function* throughTool(file: string, tool: keyof typeof TOOLS, name: string): AsyncGenerator<Buffer> {
  const [cmd, args] = TOOLS[tool];
  const child = spawn(cmd, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    if (stderr.length < 4096) stderr += b.toString();
  });
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, error }));
    child.on('close', (code) => resolve({ code }));
  });
  const input = createReadStream(file);
  input.on('error', () => child.kill('SIGKILL'));
  child.stdin.on('error', () => undefined); // EPIPE when the tool stops reading early
  input.pipe(child.stdin);
  let finished = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const r = await exited;
    finished = true;
    if (r.error) {
      const missing = errnoOf(r.error) === 'ENOENT';
      throw new OboxError(
        missing ? ErrorCodes.environment : ErrorCodes.invalidArchive,
        missing ? `${name}: unpacking ${tool} data needs the ${cmd} program, which is not installed` : `${name}: ${cmd}: ${r.error.message}`,
        { cause: r.error, hint: missing ? `install ${cmd} (Debian: apt-get install ${tool === 'xz' ? 'xz-utils' : tool})` : undefined },
      );
    }
    if (r.code !== 0) throw new OboxError(ErrorCodes.invalidArchive, `${name}: corrupt ${tool} data: ${stderr.trim() || `${cmd} exited ${r.code}`}`);
  } finally {
    if (!finished) {
      input.destroy();
      child.kill('SIGKILL');
      await exited;
    }
  }
}

/** The decompressed bytes of `file`, whatever its compression (none included). */
export async function* decompressedFile(file: string, name: string): AsyncGenerator<Buffer> {
  const kind = detectCompression(await head(file, 6));
  if (kind === 'bzip2' || kind === 'xz' || (kind === 'zstd' && !zstdSupported())) {
    yield* throughTool(file, kind, name);
    return;
  }
  yield* decompress(createReadStream(file, { highWaterMark: 256 * 1024 }), name);
}

/** The tar entries of a possibly compressed archive file. */
export function archiveEntries(file: string, name: string): AsyncGenerator<TarEntry> {
  return readTar(decompressedFile(file, name), { archiveName: name });
}

/**
 * Whether the regular file `file` is an archive ADD unpacks: its decompressed start reads as a
 * tar header. Anything unreadable as such (plain text, a gzip of a non-tar, a corrupt stream, an
 * empty file, a tar whose first block is the end marker) is not.
 */
export async function isArchive(file: string): Promise<boolean> {
  try {
    for await (const entry of archiveEntries(file, file)) {
      void entry;
      return true;
    }
    return false;
  } catch (e) {
    if (e instanceof OboxError && e.code === ErrorCodes.environment) throw e;
    return false;
  }
}
