/**
 * Cache listing benchmark (issue 5): `obox cache ls` and `obox cache du` on a store with 10,000
 * build-cache entries must each take < 300 ms end to end (node start-up included), through the
 * built CLI. This reports; it never fails on timing.
 *
 *   npm run bench:cache [-- --entries 10000 --runs 15] [--store DIR]
 *
 * `--store DIR` generates the store into DIR once and keeps it (a later run with the same DIR
 * measures it again without generating), for profiling.
 *
 * The store: chains of 10 steps (one Containerfile each), every step with its own small layer
 * dir (two files) and layer metadata; 20 images of 5 real layers each (committed blobs, entries
 * naming the blobs); 5 cache mounts. The first run of each command measures and remembers sizes
 * (layer metadata, cache-v1/usage-v1.json); it is reported apart. Then `runs` warm runs each,
 * alternating ls and du; medians reported.
 *
 * Output: a markdown table on stdout.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BuildIndex, type BuildCacheEntry } from '../src/cache/build-index.js';
import { adoptLayerDir, commitDirectory } from '../src/cache/layers.js';
import { writeLayerMeta } from '../src/cache/layer-meta.js';
import { computeStepKey, type StepParent } from '../src/cache/step-key.js';
import { Store } from '../src/cache/store/index.js';
import { appendLayer, emptyImage, hostPlatform } from '../src/image/index.js';
import { loadWarning, machineInfo, machineLine } from './lib/machine.js';
import { checkDist, oboxArgv } from './lib/obox.js';
import { fmtMs, fmtSummary, markdownTable, numArg, strArg, summarize } from './lib/stats.js';
import { benchTempDir } from './lib/tmp.js';

const ENTRIES = Math.round(numArg('entries', 10_000));
const RUNS = Math.round(numArg('runs', 15));
const CHAIN = 10;
const IMAGES = 20;
const IMAGE_LAYERS = 5;
const TARGET_MS = 300;

function smallTree(dir: string, n: number): void {
  mkdirSync(path.join(dir, 'etc'), { recursive: true });
  writeFileSync(path.join(dir, 'etc', `step-${n}.conf`), `step ${n}\n`.repeat(20));
  writeFileSync(path.join(dir, `out-${n}.txt`), `output of step ${n}\n`);
}

async function inBatches<T>(items: readonly T[], size: number, fn: (x: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

async function generate(root: string): Promise<void> {
  const store = await Store.open(root);
  const index = await BuildIndex.open(store.paths);
  const platform = { os: 'linux', architecture: 'amd64' };
  const now = Date.now();
  const iso = (ms: number): string => new Date(ms).toISOString();

  // 20 images of 5 real layers each; their entries name the blobs.
  const imageLayers: Array<{ diffId: string; digest: string; size: number }> = [];
  for (let i = 0; i < IMAGES; i++) {
    let image = emptyImage(hostPlatform(), 'oci');
    for (let j = 0; j < IMAGE_LAYERS; j++) {
      const dir = path.join(store.paths.tmp, `gen-${i}-${j}`);
      smallTree(dir, i * 100 + j);
      const c = await commitDirectory(store, dir, { overlay: { xattrs: 'trusted' }, sourceDateEpoch: 0 });
      await adoptLayerDir(store, c.diffId, dir, { origin: 'build', sourceDateEpoch: 0 });
      imageLayers.push({ diffId: c.diffId, digest: c.digest, size: c.size });
      image = appendLayer(image, c.layer, { created_by: `RUN step ${j}` });
    }
    await store.putImage(image, [`bench/app-${i}:latest`]);
  }

  // Entries: chains of CHAIN steps; the first IMAGES*IMAGE_LAYERS are the images' layers.
  const jobs: Array<{ n: number; entry: BuildCacheEntry; dir?: string }> = [];
  let parent: StepParent = { kind: 'scratch' };
  for (let n = 0; n < ENTRIES; n++) {
    if (n % CHAIN === 0) parent = { kind: 'scratch' };
    const text = `RUN make -C /src/module-${n} install && echo built ${n}`;
    const { key, inputs } = computeStepKey({ parent, instruction: JSON.stringify({ type: 'run', command: text, n }), args: { VERSION: '1.2.3' }, platform });
    parent = { kind: 'step', key };
    const used = now - (ENTRIES - n) * 60_000;
    const fromImage = imageLayers[n];
    const diffId = fromImage?.diffId ?? `sha256:${createHash('sha256').update(`layer ${n}`).digest('hex')}`;
    const entry: BuildCacheEntry = {
      key,
      inputs,
      layer: fromImage ? { diffId, digest: fromImage.digest, size: fromImage.size } : { diffId },
      createdAt: iso(used - 3_600_000),
      lastUsedAt: iso(used),
      containerfile: `/work/project-${Math.floor(n / CHAIN)}/Containerfile`,
      line: (n % CHAIN) + 2,
      text,
      stage: n % CHAIN < 5 ? 'build' : 'final',
      ...(n % 50 === 0 ? { cacheMounts: [`apt-${n % 5}`] } : {}),
    };
    jobs.push({ n, entry, ...(fromImage ? {} : { dir: store.paths.layer(diffId as never) }) });
  }
  mkdirSync(path.join(store.paths.layers, 'sha256'), { recursive: true });
  await inBatches(jobs, 64, async ({ n, entry, dir }) => {
    if (dir !== undefined && entry.layer) {
      smallTree(dir, n);
      await writeLayerMeta(store.paths, { diffId: entry.layer.diffId, origin: 'build', createdAt: entry.createdAt });
    }
    await index.record(entry.key, entry);
  });
  for (let m = 0; m < 5; m++) {
    const dir = path.join(root, 'cache-mounts-v1', encodeURIComponent(`apt-${m}`));
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 20; f++) writeFileSync(path.join(dir, `pkg-${f}.deb`), Buffer.alloc(10_000, f));
  }
}

/**
 * Wall time from spawn to exit, the output read from a pipe as a pager or `| grep` would (bytes
 * counted and kept, nothing split into lines: a 3 MB JSON line would cost the harness more than obox).
 */
function timeCli(root: string, args: string[]): Promise<{ ms: number; out: string }> {
  const [node, argv] = oboxArgv(root, args);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(node, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`obox ${args.join(' ')} exited ${code}`));
      else resolve({ ms, out: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

const stale = checkDist();
const kept = strArg('store', '');
const scratch = kept === '' ? benchTempDir('cache-ls') : undefined;
try {
  const root = kept === '' ? path.join(scratch!.dir, 'store') : path.resolve(kept);
  if (!existsSync(path.join(root, 'index.json'))) {
    const t0 = Date.now();
    await generate(root);
    process.stderr.write(`generated ${ENTRIES} entries in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    await sleep(1500); // let the store's directories age past the racy-mtime margin, as a real store has
  }

  const firstLs = await timeCli(root, ['cache', 'ls']);
  const firstDu = await timeCli(root, ['cache', 'du']);
  const rows = firstLs.out.trim().split('\n').length - 1;
  const ls: number[] = [];
  const lsJson: number[] = [];
  const du: number[] = [];
  await sleep(1500);
  for (let i = 0; i < RUNS; i++) {
    ls.push((await timeCli(root, ['cache', 'ls'])).ms);
    du.push((await timeCli(root, ['cache', 'du'])).ms);
    lsJson.push((await timeCli(root, ['cache', 'ls', '--format', 'json'])).ms);
  }
  const help: number[] = [];
  for (let i = 0; i < 5; i++) help.push((await timeCli(root, ['--version'])).ms);
  const verdict = (ms: number): string => (ms < TARGET_MS ? `yes (< ${TARGET_MS} ms)` : `no (≥ ${TARGET_MS} ms)`);
  const sLs = summarize(ls);
  const sDu = summarize(du);
  const sJson = summarize(lsJson);
  process.stdout.write(
    `### obox cache ls / du, ${ENTRIES} entries (${rows} rows listed), ${RUNS} warm runs each\n\n` +
      markdownTable(
        ['command', 'first run (measures sizes)', 'warm: median (min–max)', 'target met'],
        [
          ['obox cache ls', fmtMs(firstLs.ms), fmtSummary(sLs), verdict(sLs.median)],
          ['obox cache ls --format json', '–', fmtSummary(sJson), verdict(sJson.median)],
          ['obox cache du', fmtMs(firstDu.ms), fmtSummary(sDu), verdict(sDu.median)],
          ['obox --version (node start-up, for scale)', '–', fmtSummary(summarize(help)), '–'],
        ],
      ) +
      `\n${machineLine(machineInfo({}))}\n` +
      (loadWarning() ? `${loadWarning()}\n` : '') +
      (stale ? `warning: ${stale}\n` : ''),
  );
} finally {
  scratch?.cleanup();
}
