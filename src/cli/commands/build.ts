/** `obox build`: parse flags, run the executor, write outputs, print a summary. */
import { Option, type Command } from 'commander';
import { ErrorCodes, OboxError } from '../../errors.js';
import { humanSize } from '../format.js';
import { createProgress, type ProgressMode } from '../progress.js';
import { interruptSignal } from '../signals.js';
import { readStdin } from '../stdin.js';
import { openStore } from '../store.js';
import { sourceDateEpoch } from '../env.js';
import { ReplayRecorder, SECONDS_MARK } from '../replay.js';
import type { GlobalOptions } from '../main.js';

/** The flags that take part in a build's cache keys, as `build` and `cache why` both read them. */
export interface KeyedBuildFlags {
  file?: string;
  buildArg: string[];
  target?: string;
  platform?: string;
  network: 'host' | 'none';
}

interface BuildFlags extends KeyedBuildFlags {
  tag: string[];
  cache: boolean;
  /** `--no-cache-filter` (commander names it after the option without its `no-`). */
  cacheFilter: string[];
  label: string[];
  iidfile?: string;
  output: string[];
  quiet?: boolean;
  progress: ProgressMode;
  secret: string[];
  runtime?: string;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];
const collectList = (v: string, prev: string[]): string[] => [...prev, ...v.split(',').filter((x) => x !== '')];

export function keyValue(items: string[], what: string, allowBare: boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq === -1) {
      if (!allowBare) throw new OboxError(ErrorCodes.usage, `${what} ${JSON.stringify(item)} must be KEY=VALUE`);
      const fromEnv = process.env[item];
      if (fromEnv !== undefined) out.set(item, fromEnv); // docker: --build-arg NAME takes NAME from the environment
      continue;
    }
    out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

function secrets(items: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of items) {
    const fields = new Map(item.split(',').map((f) => [f.slice(0, f.indexOf('=') === -1 ? f.length : f.indexOf('=')), f.slice(f.indexOf('=') + 1)]));
    const id = fields.get('id');
    const src = fields.get('src') ?? fields.get('source');
    if (!id || !src) throw new OboxError(ErrorCodes.usage, `--secret ${JSON.stringify(item)} must be id=ID,src=FILE`);
    out.set(id, src);
  }
  return out;
}

/**
 * The Containerfile, store and key-deciding options of a build: one reading for `build` and
 * `cache why`, so why's dry run computes exactly the keys the build would.
 */
export async function keyedBuildInputs(flags: KeyedBuildFlags, context: string, cmd: Command) {
  const { readContainerfile } = await import('../../containerfile/locate.js');
  const source = await readContainerfile({ file: flags.file, contextDir: context, readStdin });
  const store = await openStore(cmd);
  const sde = sourceDateEpoch();
  return {
    store,
    containerfile: { text: source.text, display: source.display, path: source.path },
    contextDir: context,
    buildArgs: keyValue(flags.buildArg, '--build-arg', true),
    ...(flags.target !== undefined ? { target: flags.target } : {}),
    ...(flags.platform ? { platform: flags.platform } : {}),
    network: flags.network,
    ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
  };
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build an image from a Containerfile, with overlayfs and runc, no daemon')
    .argument('[context]', 'build context directory', '.')
    .option('-f, --file <file>', 'the Containerfile (default: CONTEXT/Containerfile, then CONTEXT/Dockerfile; - reads stdin)')
    .option('-t, --tag <name>', 'name the image (repeatable)', collect, [])
    .option('--build-arg <key=value>', 'set a build-time variable (repeatable)', collect, [])
    .option('--target <stage>', 'build up to this stage')
    .addOption(new Option('--network <mode>', 'network for RUN steps').choices(['host', 'none']).default('host'))
    .option('--platform <os/arch>', 'target platform (default: this machine)')
    .option('--no-cache', 'do not use the build cache (steps still fill it)')
    .option('--no-cache-filter <stage>', 'do not use the build cache for this stage (name or index; repeatable, or comma-separated)', collectList, [])
    .option('--label <key=value>', 'add a label to the image (repeatable)', collect, [])
    .option('--iidfile <file>', 'write the image ID to this file')
    .option('-o, --output <spec>', 'also write the image: FILE.tar, type=docker|oci,dest=F[,tar=false], type=local,dest=DIR (repeatable)', collect, [])
    .option('--secret <id=ID,src=FILE>', 'a secret for RUN --mount=type=secret (repeatable)', collect, [])
    .option('--runtime <runc|crun|path>', 'OCI runtime for RUN steps', undefined)
    .option('-q, --quiet', 'print only the image ID')
    .addOption(new Option('--progress <mode>', 'progress output').choices(['auto', 'tty', 'plain']).default('auto'))
    .action(async (context: string, flags: BuildFlags, cmd: Command) => {
      const recorder = ReplayRecorder.fromEnvironment();
      recorder?.begin({ context, file: flags.file });
      try {
        await runBuild(context, flags, cmd, recorder);
      } finally {
        recorder?.abandon();
      }
    });
}

async function runBuild(context: string, flags: BuildFlags, cmd: Command, recorder: ReplayRecorder | undefined): Promise<void> {
  const [{ build }, { writeOutputs, parseOutputSpec }] = await Promise.all([import('../../executor/build.js'), import('../outputs.js')]);
  const outputs = flags.output.map(parseOutputSpec);
  const keyed = await keyedBuildInputs(flags, context, cmd);
  const sde = keyed.sourceDateEpoch;
  const onEvent = createProgress(flags.quiet ? 'quiet' : flags.progress);
  const result = await build({
    ...keyed,
    labels: Object.fromEntries(keyValue(flags.label, '--label', false)),
    tags: flags.tag,
    secrets: secrets(flags.secret),
    ...(flags.runtime ? { runtime: flags.runtime } : {}),
    signal: interruptSignal,
    onEvent,
    noCache: !flags.cache,
    noCacheStages: flags.cacheFilter,
  });
  await writeOutputs(result.image, result.names, outputs, onEvent, sde);
  if (flags.iidfile) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(flags.iidfile, result.id);
  }
  const tags = result.names.length > 0 ? ` ${result.names.join(', ')}` : '';
  const summary = (seconds: string): string =>
    `=> built ${result.id.slice(0, 19)}${tags}: ${result.layers} layers, ${humanSize(result.newBytes)} new, ` +
    `${result.cache.hits} cached/${result.cache.hits + result.cache.misses} steps, ${seconds}s\n`;
  const printed = flags.quiet ? '' : summary((result.durationMs / 1000).toFixed(1));
  process.stderr.write(printed);
  process.stdout.write(`${result.id}\n`);
  const globals = cmd.optsWithGlobals<GlobalOptions>();
  await recorder?.finish({
    store: keyed.store,
    dependsOn: result.dependsOn,
    // What a replay cannot repeat: files written elsewhere, standard input, a live terminal display.
    // Diagnostics (--debug, --log-level info) are this run's, not to be replayed.
    replayable:
      outputs.length === 0 &&
      !flags.iidfile &&
      flags.file !== '-' &&
      !process.stdout.isTTY &&
      !process.stderr.isTTY &&
      !globals.debug &&
      (globals.logLevel === 'warn' || globals.logLevel === 'error'),
    allHits: result.cache.misses === 0 && result.cache.hits > 0,
    summary: { printed, template: flags.quiet ? '' : summary(SECONDS_MARK) },
  });
}
