/**
 * Test images for the benchmarks: the busybox rootfs (native-scripts/make-rootfs-busybox.sh) plus
 * generated files of mixed compressibility — some random bytes (incompressible), some text-like
 * (word salad, compresses about 3–4× with gzip) — with sizes spread log-uniformly and scaled to an
 * exact total. Sizes and kinds come from a seeded PRNG, so the same options give the same layout.
 */
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../test/helpers/cli.js';
import { sh } from './proc.js';

export interface MixedFilesOptions {
  totalBytes: number;
  files: number;
  /** Share of the files (by count) filled with random bytes; the rest is text-like. */
  randomFraction: number;
  minBytes: number;
  maxBytes: number;
  seed?: number;
  /** Files per subdirectory. Default 200. */
  perDir?: number;
}

export interface MixedFilesResult {
  files: number;
  bytes: number;
  randomBytes: number;
}

/** mulberry32: small, seeded, good enough for picking sizes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she there ' +
  'layer image blob digest manifest config archive docker podman overlay runc commit build step store index tar gzip export import ' +
  'kernel memory process thread socket buffer stream file directory mount namespace cgroup container registry token header ' +
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'
).split(' ');

function textCorpus(bytes: number, rand: () => number): Buffer {
  const parts: string[] = [];
  let len = 0;
  let line = 0;
  while (len < bytes) {
    const n = 6 + Math.floor(rand() * 10);
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(rand() * WORDS.length)]!);
    const s = `${++line}: ${words.join(' ')} ${Math.floor(rand() * 1e6)}\n`;
    parts.push(s);
    len += s.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

/** Writes OPTS.files files under DIR (in subdirectories of perDir files). */
export function writeMixedFiles(dir: string, opts: MixedFilesOptions): MixedFilesResult {
  const rand = prng(opts.seed ?? 42);
  const logMin = Math.log(opts.minBytes);
  const logMax = Math.log(opts.maxBytes);
  const raw = Array.from({ length: opts.files }, () => Math.exp(logMin + rand() * (logMax - logMin)));
  const scale = opts.totalBytes / raw.reduce((a, b) => a + b, 0);
  const sizes = raw.map((x) => Math.max(1, Math.round(x * scale)));
  sizes[sizes.length - 1]! += opts.totalBytes - sizes.reduce((a, b) => a + b, 0);
  if (sizes[sizes.length - 1]! < 1) sizes[sizes.length - 1] = 1;

  const corpus = textCorpus(4 * 1024 * 1024, rand);
  const chunk = Buffer.allocUnsafe(1024 * 1024);
  const perDir = opts.perDir ?? 200;
  let bytes = 0;
  let randomBytes = 0;
  for (const [i, size] of sizes.entries()) {
    const sub = path.join(dir, `d${String(Math.floor(i / perDir)).padStart(3, '0')}`);
    if (i % perDir === 0) mkdirSync(sub, { recursive: true });
    const isRandom = rand() < opts.randomFraction;
    const fd = openSync(path.join(sub, `f${String(i).padStart(5, '0')}.${isRandom ? 'bin' : 'txt'}`), 'w', 0o644);
    try {
      let left = size;
      let off = Math.floor(rand() * corpus.length);
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        if (isRandom) {
          randomFillSync(chunk, 0, n);
          writeSync(fd, chunk, 0, n);
        } else {
          const m = Math.min(n, corpus.length - off);
          writeSync(fd, corpus, off, m);
          off = (off + m) % corpus.length;
          left -= m;
          continue;
        }
        left -= n;
      }
    } finally {
      closeSync(fd);
    }
    bytes += size;
    if (isRandom) randomBytes += size;
  }
  return { files: sizes.length, bytes, randomBytes };
}

/** The busybox rootfs tarball (built once per scratch dir). */
export function busyboxTar(scratch: string): string {
  const out = path.join(scratch, 'busybox-rootfs.tar');
  sh('bash', [path.join(repoRoot, 'native-scripts', 'make-rootfs-busybox.sh'), out]);
  return out;
}

/**
 * A rootfs tarball: the busybox rootfs plus generated files under /data. Built in a directory
 * (deleted afterwards) and packed with GNU tar, numeric owner root.
 */
export function makeRootfsTar(scratch: string, name: string, busybox: string, files: MixedFilesOptions): { tar: string } & MixedFilesResult {
  const root = path.join(scratch, `${name}-rootfs`);
  mkdirSync(root);
  sh('tar', ['-xf', busybox, '-C', root]);
  const r = writeMixedFiles(path.join(root, 'data'), files);
  const tar = path.join(scratch, `${name}.tar`);
  sh('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-cf', tar, '.']);
  sh('rm', ['-rf', root]);
  return { tar, ...r };
}
