/** Build contexts for end-to-end tests: a Containerfile and files, written under a parent dir. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Writes `parent/name/Containerfile` and `files` (relative path → text); returns the context dir. */
export function writeContext(parent: string, name: string, containerfile: string, files: Record<string, string> = {}): string {
  const dir = path.join(parent, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'Containerfile'), containerfile);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), text);
  }
  return dir;
}
