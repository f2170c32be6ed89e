/**
 * Which ADD sources are remote, the way BuildKit tells (dockerfile2llb isHTTPSource,
 * dfgitutil.ParseGitRef), and what file name a download gets. Pure.
 */

/**
 * A git repository reference: `git@host:path`, `git://…`, `ssh://…`, or an http(s) URL whose
 * path ends in `.git` (a `#ref:subdir` fragment allowed). Plain http(s) URLs are downloads.
 */
export function isGitSource(src: string): boolean {
  if (/^git@[^:/]+:/.test(src) || src.startsWith('git://') || src.startsWith('ssh://')) return true;
  if (!/^https?:\/\//.test(src)) return false;
  try {
    const u = new URL(src);
    return /\.git\/?$/.test(u.pathname);
  } catch {
    return false;
  }
}

/** An http(s) URL that is not a git repository. */
export function isHttpSource(src: string): boolean {
  return (src.startsWith('http://') || src.startsWith('https://')) && !isGitSource(src);
}

/** BuildKit's pathutil.SafeFileName: one path component, never "", "." or "..". */
function safeFileName(name: string): string {
  const base = name.split('/').filter((c) => c !== '').pop() ?? '';
  return base === '' || base === '.' || base === '..' ? '__unnamed__' : base;
}

/**
 * The file name an ADD of `url` creates: the last component of the URL's (decoded) path, or
 * `__unnamed__` (dockerfile2llb passes this as llb.Filename, so Content-Disposition is ignored).
 */
export function urlFileName(url: string): string {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return '__unnamed__';
  }
  let decoded = pathname;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    // keep it encoded, as Go does for an invalid escape
  }
  return safeFileName(decoded);
}
