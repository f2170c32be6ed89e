/**
 * The last build of each Containerfile, step by step, for `obox cache why`: every step's key
 * and the inputs that made it, whether it hit, and for a miss the reasons found at build time
 * (what differed from the build before). One JSON file per (Containerfile, context) pair in
 * `cache-v1/builds/<sha256 of the pair>.json`, replaced atomically at the end of each build.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, writeFileAtomic } from './store/atomic.js';
import type { StorePaths } from './store/paths.js';
import type { StepKeyInputs } from './step-key.js';

const FORMAT = 'obox-build-record-v1';
export const BUILD_RECORDS_DIR = 'cache-v1/builds';
/** The launcher's replay records (native/launcher/obox-launch.c, src/cli/replay.ts). */
export const REPLAY_DIR = 'cache-v1/replay';
/** Per-file fingerprints kept per COPY step, at most (beyond that `why` says "sources changed"). */
export const MAX_SOURCE_FILES = 50_000;

/** A copied file as `why` compares it: path → fingerprintOf(record) (explain.ts). */
export type SourceFingerprints = Record<string, string>;

export interface StepRecord {
  stage: string;
  /** 1-based position in its stage (ONBUILD triggers first). */
  step: number;
  line: number;
  text: string;
  key: string;
  inputs: StepKeyInputs;
  hit: boolean;
  /** Why it missed (empty for a hit). */
  reasons: string[];
  /** COPY/ADD from the context: what it copied, when not more than MAX_SOURCE_FILES. */
  sources?: SourceFingerprints;
}

export interface BuildRecord {
  containerfile: string;
  context: string;
  target?: string;
  createdAt: string;
  /** Built with --no-cache: nothing was looked up. */
  noCache: boolean;
  steps: StepRecord[];
}

export function buildRecordId(containerfile: string, context: string): string {
  return createHash('sha256').update(`${containerfile}\0${context}`).digest('hex');
}

/** Where the record of this Containerfile and context is kept. */
export function buildRecordPath(paths: StorePaths, containerfile: string, context: string): string {
  return join(paths.root, BUILD_RECORDS_DIR, `${buildRecordId(containerfile, context)}.json`);
}

export async function readBuildRecord(paths: StorePaths, containerfile: string, context: string): Promise<BuildRecord | undefined> {
  let text: string;
  try {
    text = await readFile(buildRecordPath(paths, containerfile, context), 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const v = JSON.parse(text) as BuildRecord & { format?: unknown };
    if (v.format !== FORMAT || !Array.isArray(v.steps) || v.containerfile !== containerfile) return undefined;
    return v;
  } catch {
    return undefined;
  }
}

export async function writeBuildRecord(paths: StorePaths, record: BuildRecord): Promise<void> {
  await mkdir(join(paths.root, BUILD_RECORDS_DIR), { recursive: true });
  await writeFileAtomic(buildRecordPath(paths, record.containerfile, record.context), `${JSON.stringify({ format: FORMAT, ...record })}\n`, paths.tmp);
}
