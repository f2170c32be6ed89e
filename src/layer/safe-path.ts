/**
 * Archive member names → paths relative to the unpack root, refusing what could point outside
 * it. Pure; the unpacker also checks, on disk, that no parent is a symlink.
 */

export type NameCheck = { ok: true; rel: string; parts: string[] } | { ok: false; reason: string };

const MAX_COMPONENT = 255;

/**
 * "./a//b/" → "a/b"; "" or "./" → "" (the root itself). Refused: absolute names, any ".."
 * component, NUL bytes, components longer than a file name may be.
 */
export function normaliseEntryPath(name: string): NameCheck {
  if (name.includes('\0')) return { ok: false, reason: 'name contains a NUL byte' };
  if (name.startsWith('/')) return { ok: false, reason: 'absolute path' };
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return { ok: false, reason: 'path contains ".."' };
    if (part.length > MAX_COMPONENT) return { ok: false, reason: `a path component is longer than ${MAX_COMPONENT} bytes` };
    parts.push(part);
  }
  return { ok: true, rel: parts.join('/'), parts };
}

export function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i === -1 ? '' : rel.slice(0, i);
}

export function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
