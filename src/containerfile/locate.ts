/**
 * Finding and reading the Containerfile: `-f FILE`, `-f -` for standard input, or by default
 * `Containerfile` then `Dockerfile` in the context directory.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, OboxError } from '../errors.js';

export const DEFAULT_NAMES = ['Containerfile', 'Dockerfile'] as const;

export interface ContainerfileSource {
  /** Absolute path, or undefined for standard input. */
  path: string | undefined;
  /** The name used in messages: the path as the user gave it, or `<stdin>`. */
  display: string;
  text: string;
}

export interface LocateOptions {
  /** What the user passed to -f, if anything. `-` means standard input. */
  file?: string;
  contextDir: string;
  /** Reads standard input; supplied by the caller so the library does not touch process.stdin. */
  readStdin?: () => Promise<string>;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

export async function readContainerfile(options: LocateOptions): Promise<ContainerfileSource> {
  const { file, contextDir } = options;
  if (file === '-') {
    if (!options.readStdin) throw new OboxError(ErrorCodes.usage, 'reading the Containerfile from standard input is not available here');
    return { path: undefined, display: '<stdin>', text: await options.readStdin() };
  }
  if (file !== undefined) {
    const abs = path.resolve(file);
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new OboxError(ErrorCodes.notFound, `Containerfile not found: ${file}`, { hint: 'check the path given to -f' });
      if (code === 'EISDIR') throw new OboxError(ErrorCodes.notFound, `${file} is a directory, not a Containerfile`, { hint: 'give -f the file itself' });
      throw new OboxError(ErrorCodes.notFound, `cannot read ${file}: ${(e as Error).message}`);
    }
    return { path: abs, display: file, text };
  }
  for (const name of DEFAULT_NAMES) {
    const candidate = path.join(contextDir, name);
    if (await isFile(candidate)) {
      return { path: path.resolve(candidate), display: path.relative(process.cwd(), candidate) || name, text: await readFile(candidate, 'utf8') };
    }
  }
  throw new OboxError(ErrorCodes.notFound, `no Containerfile or Dockerfile in ${contextDir}`, {
    hint: 'name the file with -f FILE, or use -f - to read it from standard input',
  });
}
