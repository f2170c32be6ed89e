/**
 * Front-end benchmark: parse a generated 5,000-line Containerfile (every instruction kind,
 * continuations, heredocs, flags) and report the median time. Target on the 2-core CI machine:
 * < 30 ms. This reports; it never fails on timing.
 *
 *   npm run bench:parse [-- --lines 5000 --runs 50]
 */
import { performance } from 'node:perf_hooks';
import { parseContainerfile } from '../src/containerfile/parser.js';
import { frontEnd } from './front-end.js';
import { generateContainerfile } from './generate.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const lines = arg('lines', 5000);
const runs = arg('runs', 50);
const text = generateContainerfile(lines);
// The first call includes JIT warm-up: what a single `obox build` of such a file pays.
let t0 = performance.now();
frontEnd(text);
const coldMs = performance.now() - t0;
for (let i = 0; i < 5; i++) frontEnd(text);

const parseTimes: number[] = [];
const fullTimes: number[] = [];
for (let i = 0; i < runs; i++) {
  t0 = performance.now();
  let t = t0;
  parseContainerfile(text, 'bench.Containerfile');
  parseTimes.push(performance.now() - t);
  t = performance.now();
  frontEnd(text);
  fullTimes.push(performance.now() - t);
}
const fmt = (x: number): string => `${x.toFixed(2)} ms`;
process.stdout.write(
  `| front end, ${lines}-line Containerfile (${runs} runs) | median | min | max |\n|---|---|---|---|\n` +
    `| text → node tree | ${fmt(median(parseTimes))} | ${fmt(Math.min(...parseTimes))} | ${fmt(Math.max(...parseTimes))} |\n` +
    `| text → nodes → instructions → stages | ${fmt(median(fullTimes))} | ${fmt(Math.min(...fullTimes))} | ${fmt(Math.max(...fullTimes))} |\n` +
    `first call (cold JIT, whole front end): ${fmt(coldMs)}\n` +
    `target: < 30 ms for the whole front end (${process.version}, ${process.arch}, load average ${(await import('node:os')).loadavg()[0]!.toFixed(2)})\n`,
);
