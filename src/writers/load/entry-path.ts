/**
 * Names inside an archive being loaded. Nothing is ever written by these names (entries are
 * staged by content), but a name that is absolute or climbs out with `..` only comes from a
 * hostile or broken writer, so the whole archive is refused.
 */

export type PathCheck = { ok: true; path: string } | { ok: false; reason: string };

/** `./a//b/` → `a/b`; `` and `./` → `` (the archive root). Refuses absolute names, `..`, NUL. */
export function normaliseArchivePath(name: string): PathCheck {
  if (name.includes('\0')) return { ok: false, reason: 'the name contains a NUL byte' };
  if (name.startsWith('/')) return { ok: false, reason: 'the name is absolute' };
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return { ok: false, reason: 'the name climbs out of the archive with ".."' };
    parts.push(part);
  }
  return { ok: true, path: parts.join('/') };
}

/**
 * Where a symlink at `from` pointing at `target` leads, as an archive path; undefined when it
 * is absolute or climbs above the archive root. (docker 1.10–24 write `layer.tar` symlinks to
 * another layer directory's `layer.tar` when two images share a layer.)
 */
export function resolveSymlink(from: string, target: string): string | undefined {
  if (target.startsWith('/') || target.includes('\0')) return undefined;
  const parts = from.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.join('/');
}

/** An archive path (UTF-8 text, as manifest.json holds it) as the tar reader's byte string. */
export function toByteString(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** A tar byte-string name as readable, quoted text for messages. */
export function quoteEntry(name: string): string {
  return JSON.stringify(Buffer.from(name, 'latin1').toString('utf8'));
}
