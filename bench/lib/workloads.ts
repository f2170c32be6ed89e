/**
 * The harness's workloads: each a Containerfile under bench/workloads/NAME/ (with any committed
 * context), plus what the harness adds at run time — generated context files (deterministic, so
 * the repository stays small), the one file the one-file rebuild changes, the line the built image
 * must print, and how many cold builds a full run makes.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../test/helpers/cli.js';
import { writeMixedFiles } from './gen.js';

export type BaseKey = 'busybox' | 'debian';

/** Image names the bases are imported under, in every tool. */
export const BASE_IMAGES: Record<BaseKey, string> = {
  busybox: 'bench-busybox:latest',
  debian: 'debian-minbase:bookworm',
};

export interface Workload {
  name: string;
  /** One line for the report. */
  summary: string;
  base: BaseKey;
  /** Context path of the file the one-file rebuild changes (a line is appended each time). */
  touched: string;
  /** Cold builds in a full run (after one warm-up); --quick makes one, without warm-up. */
  coldRuns: number;
  /** Build arguments for the main build. */
  buildArgs: Record<string, string>;
  /** The "one-file step on top over a small vs a big base" comparison (big-layer only). */
  onTop?: { arg: string; small: string; big: string; label: (v: string) => string };
  /** Adds the generated files to a copy of bench/workloads/NAME. */
  generate(dir: string): void;
  /** What `docker run IMAGE` must print, given the context as built and the build arguments. */
  expected(dir: string, args: Record<string, string>): string;
}

export const WORKLOAD_DIR = path.join(repoRoot, 'bench', 'workloads');

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

function countNewlines(file: string): number {
  const b = readFileSync(file);
  let n = 0;
  for (let i = 0; i < b.length; i++) if (b[i] === 10) n++;
  return n;
}

const stampLines = (dir: string): number => countNewlines(path.join(dir, 'stamp.txt'));

const writeStamp = (dir: string): void => writeFileSync(path.join(dir, 'stamp.txt'), 'stamp 0\n');

const small: Workload = {
  name: 'small',
  summary: 'busybox base, 3 RUN + 3 COPY steps, a context of 322 files (1.5 MiB), 321 of them generated',
  base: 'busybox',
  touched: 'src/d000/f00000.txt',
  coldRuns: 3,
  buildArgs: {},
  generate: (dir) => {
    writeMixedFiles(path.join(dir, 'src'), { totalBytes: 1536 * 1024, files: 300, randomFraction: 0, minBytes: 256, maxBytes: 32 * 1024, seed: 7, perDir: 100 });
    mkdirSync(path.join(dir, 'etc'), { recursive: true });
    for (let i = 0; i < 20; i++) writeFileSync(path.join(dir, 'etc', `${String(i).padStart(2, '0')}.conf`), `key${i} = value ${i * 7}\nenabled = ${i % 2 === 0}\n`);
    writeFileSync(path.join(dir, 'VERSION'), '1.0\n');
  },
  expected: (dir) => {
    const files = listFiles(path.join(dir, 'src'));
    const lines = files.reduce((a, f) => a + countNewlines(f), 0);
    return `small: ${files.length} files, ${lines} lines, version 1.0`;
  },
};

const debianC: Workload = {
  name: 'debian-c',
  summary: 'Debian minbase, apt-get install gcc, compile C, check 300 test vectors, binary into scratch; a context of 309 files',
  base: 'debian',
  touched: 'src/main.c',
  coldRuns: 3,
  buildArgs: {},
  generate: (dir) => {
    const vectors = path.join(dir, 'tests', 'vectors');
    writeMixedFiles(vectors, { totalBytes: 1024 * 1024, files: 300, randomFraction: 0, minBytes: 64, maxBytes: 16 * 1024, seed: 11, perDir: 100 });
    // The order `for f in tests/vectors/*/*.txt` gives: byte order (C collation; names are ASCII).
    const lines = listFiles(vectors).map((f) => `${createHash('sha256').update(readFileSync(f)).digest('hex')}  -\n`);
    writeFileSync(path.join(dir, 'tests', 'expected.txt'), lines.join(''));
  },
  expected: () => `sha256("obox") = ${createHash('sha256').update('obox').digest('hex')}`,
};

const manyFiles: Workload = {
  name: 'many-files',
  summary: 'busybox base, one RUN creating 100,000 small files, a one-file COPY on top',
  base: 'busybox',
  touched: 'stamp.txt',
  coldRuns: 2,
  buildArgs: {},
  generate: writeStamp,
  expected: (dir) => `many-files: 100000 files, stamp ${stampLines(dir)} lines`,
};

const BIG_MB = '500';
const bigLayer: Workload = {
  name: 'big-layer',
  summary: `busybox base, one RUN writing ${BIG_MB} MiB (half random, half text), a one-file COPY on top`,
  base: 'busybox',
  touched: 'stamp.txt',
  coldRuns: 2,
  buildArgs: { MB: BIG_MB },
  onTop: { arg: 'MB', small: '10', big: BIG_MB, label: (v) => `${v} MiB` },
  generate: writeStamp,
  expected: (dir, args) => `big-layer: ${Number(args.MB ?? BIG_MB) * 1048576} bytes, stamp ${stampLines(dir)} lines`,
};

const layers: Workload = {
  name: 'layers',
  summary: 'busybox base, 120 small RUN steps (a COPY after the 100th)',
  base: 'busybox',
  touched: 'stamp.txt',
  coldRuns: 2,
  buildArgs: {},
  generate: writeStamp,
  expected: (dir) => `layers: 120 files, stamp ${stampLines(dir)} lines`,
};

export const WORKLOADS: readonly Workload[] = [small, debianC, manyFiles, bigLayer, layers];

export function workloadByName(name: string): Workload {
  const w = WORKLOADS.find((x) => x.name === name);
  if (!w) throw new Error(`unknown workload ${name}`);
  return w;
}

/** A fresh build context for W in DIR: the committed files plus the generated ones. */
export function makeContext(w: Workload, dir: string): void {
  cpSync(path.join(WORKLOAD_DIR, w.name), dir, { recursive: true });
  w.generate(dir);
}

/** The one-file change: appends a line that no earlier build has seen. */
export function touch(w: Workload, dir: string, n: number): void {
  const f = path.join(dir, w.touched);
  const line = w.touched.endsWith('.c') ? `/* bench: one-file change ${n} */\n` : `bench: one-file change ${n}\n`;
  appendFileSync(f, line);
}
