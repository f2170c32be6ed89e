/** Tar archives for the ADD tests, written with obox's own tar encoder (any entry, hostile ones too). */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { BLOCK, END_OF_ARCHIVE, encodeHeader, type EntryType, type TarHeader } from '../../../src/layer/tar-format.js';

export interface Member {
  path: string;
  type?: EntryType;
  content?: string;
  linkpath?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  xattrs?: Array<{ name: string; value: Buffer }>;
}

export function tarBytes(members: Member[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const type = m.type ?? 'file';
    const body = Buffer.from(m.content ?? '');
    const h: TarHeader = {
      path: m.path,
      type,
      mode: m.mode ?? (type === 'dir' ? 0o755 : 0o644),
      uid: m.uid ?? 0,
      gid: m.gid ?? 0,
      size: type === 'file' ? body.length : 0,
      mtime: m.mtime ?? 1_600_000_000,
      linkpath: m.linkpath ?? '',
      devMajor: 0,
      devMinor: 0,
      xattrs: m.xattrs ?? [],
    };
    parts.push(encodeHeader(h));
    if (type === 'file') {
      parts.push(body, Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK));
    }
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

/** Writes the archive to file, compressed with an external tool when asked. */
export function writeTar(file: string, members: Member[], compress?: 'gzip' | 'bzip2' | 'xz' | 'zstd'): string {
  const raw = tarBytes(members);
  if (!compress) {
    writeFileSync(file, raw);
    return file;
  }
  const args = compress === 'zstd' ? ['-q', '-c'] : ['-c'];
  writeFileSync(file, execFileSync(compress, args, { input: raw }));
  return file;
}
