/** `obox cache why`: the last build of a Containerfile step by step, and what a build would do now. */
import { Option, type Command } from 'commander';
import { keyedBuildInputs, type KeyedBuildFlags } from './build.js';

interface WhyFlags extends KeyedBuildFlags {
  format: 'table' | 'json';
}

interface ShownStep {
  stage: string;
  step: number;
  line: number;
  text: string;
  hit: boolean;
  reasons: string[];
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function stepLines(steps: readonly ShownStep[], onlyMisses: boolean): string[] {
  const out: string[] = [];
  for (const s of steps) {
    if (onlyMisses && s.hit) continue;
    const text = s.text.replace(/\s+/g, ' ');
    out.push(`  ${s.hit ? 'CACHED' : 'MISS  '} [${s.stage} ${s.step}] line ${s.line}: ${text.length > 100 ? `${text.slice(0, 100)}…` : text}`);
    for (const r of s.reasons) out.push(`         - ${r}`);
  }
  return out;
}

const count = (steps: readonly ShownStep[]): string => {
  const hits = steps.filter((s) => s.hit).length;
  return `${steps.length} steps, ${hits} cached, ${steps.length - hits} missed`;
};

export function registerCacheWhy(cache: Command): void {
  cache
    .command('why')
    .description('explain the build cache for a Containerfile: each step of its last build, hit or miss, and for a miss the input that changed; then what a build with these flags would do now')
    .argument('[context]', 'build context directory', '.')
    .option('-f, --file <file>', 'the Containerfile (default: CONTEXT/Containerfile, then CONTEXT/Dockerfile)')
    .option('--build-arg <key=value>', 'a build-time variable, as for build (repeatable)', collect, [])
    .option('--target <stage>', 'build up to this stage, as for build')
    .option('--platform <os/arch>', 'target platform, as for build')
    .addOption(new Option('--network <mode>', 'RUN network, as for build').choices(['host', 'none']).default('host'))
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (context: string, flags: WhyFlags, cmd: Command) => {
      const { explainCache } = await import('../../executor/why.js');
      const keyed = await keyedBuildInputs(flags, context, cmd);
      const source = keyed.containerfile;
      const report = await explainCache(keyed);
      if (flags.format === 'json') {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      const lines: string[] = [];
      if (report.lastBuild) {
        lines.push(`Last build of ${source.display} (${report.lastBuild.at}${report.lastBuild.noCache ? ', --no-cache' : ''}): ${count(report.lastBuild.steps)}`);
        lines.push(...stepLines(report.lastBuild.steps, false));
      } else {
        lines.push(`No build of ${source.display} with context ${report.context} is recorded in this store.`);
      }
      lines.push('');
      const misses = report.now.filter((s) => !s.hit).length;
      if (report.unchanged && misses === 0) lines.push('Now: no input changed since; a build with these flags would be fully cached.');
      else if (misses === 0) lines.push(`Now: a build with these flags would be fully cached (${report.now.length} steps).`);
      else {
        lines.push(`Now: a build with these flags would miss ${misses} of ${report.now.length} steps${report.unchanged ? ' (no input changed, but cache entries are gone)' : ''}:`);
        lines.push(...stepLines(report.now, true));
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
