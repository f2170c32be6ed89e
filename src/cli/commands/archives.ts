/** `obox load` and `obox save`: images in and out of the store as archives. */
import { Option, type Command } from 'commander';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ErrorCodes, OboxError } from '../../errors.js';
import { humanSize } from '../format.js';
import { openStore } from '../store.js';
import { sourceDateEpoch } from '../env.js';

/** A one-line progress bar on a TTY; nothing otherwise. */
function progressBar(label: string): { update(bytes: number, total?: number): void; done(): void } {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    update(bytes, total) {
      if (!tty || Date.now() - last < 100) return;
      last = Date.now();
      const pct = total ? ` ${Math.floor((bytes / total) * 100)}%` : '';
      process.stderr.write(`\r\x1b[2K${label} ${humanSize(bytes)}${total ? ` / ${humanSize(total)}` : ''}${pct}`);
    },
    done() {
      if (tty && last > 0) process.stderr.write('\r\x1b[2K');
    },
  };
}


export function registerArchiveCommands(program: Command): void {
  program
    .command('load')
    .description('load images from a docker-archive or OCI archive (plain or gzipped; all tags kept)')
    .option('-i, --input <file>', 'read from this file instead of standard input')
    .option('-q, --quiet', 'print nothing but errors')
    .action(async (opts: { input?: string; quiet?: boolean }, cmd: Command) => {
      const { load } = await import('../../writers/index.js');
      const store = await openStore(cmd);
      const bar = progressBar('loading');
      let source: NodeJS.ReadableStream = process.stdin;
      let totalBytes: number | undefined;
      let archiveName = '<stdin>';
      if (opts.input) {
        const st = await stat(opts.input).catch(() => undefined);
        if (!st) throw new OboxError(ErrorCodes.notFound, `${opts.input}: no such file`);
        source = createReadStream(opts.input);
        totalBytes = st.size;
        archiveName = opts.input;
      } else if (process.stdin.isTTY) {
        throw new OboxError(ErrorCodes.usage, 'no archive on standard input', { hint: 'give the archive with -i FILE, or pipe it in' });
      }
      const result = await load(store, source as AsyncIterable<Uint8Array>, {
        archiveName,
        ...(totalBytes !== undefined ? { totalBytes } : {}),
        onProgress: (p) => bar.update(p.bytes, p.total),
      });
      bar.done();
      if (opts.quiet) return;
      for (const image of result.images) {
        if (image.names.length === 0) process.stdout.write(`Loaded image ID: ${image.configDigest}\n`);
        for (const name of image.names) process.stdout.write(`Loaded image: ${name}\n`);
      }
    });

  program
    .command('save')
    .description('write images to one archive (layers shared), for docker load or air-gapped hosts')
    .argument('<image...>', 'names, IDs or digests')
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .addOption(new Option('--format <format>', 'archive format').choices(['docker', 'oci']).default('docker'))
    .option('--uncompressed', "write layers as plain tars (docker save's own form) instead of the stored gzip blobs")
    .action(async (refs: string[], opts: { output?: string; format: 'docker' | 'oci'; uncompressed?: boolean }, cmd: Command) => {
      const [{ writeDockerArchive, writeOciArchive }, { resolveImage }] = await Promise.all([import('../../writers/index.js'), import('../../cache/image-info.js')]);
      const store = await openStore(cmd);
      if (!opts.output && process.stdout.isTTY) {
        throw new OboxError(ErrorCodes.usage, 'refusing to write an archive to a terminal', { hint: 'use -o FILE or redirect standard output' });
      }
      // One entry per image, however many times or under how many names it is given (`save a a`,
      // `save a docker.io/library/a:latest`, `save a ID`): as docker save does.
      const byDigest = new Map<string, { image: Awaited<ReturnType<typeof store.image>>; names: string[] }>();
      for (const ref of refs) {
        const digest = await resolveImage(store, ref);
        let entry = byDigest.get(digest);
        if (entry === undefined) {
          entry = { image: await store.image(digest), names: [] };
          byDigest.set(digest, entry);
        }
        // Save under the name the user gave (docker keeps the given tags); IDs and digests save unnamed.
        const isName = !/^(sha256:)?[0-9a-f]{4,64}$/.test(ref) && !ref.includes('@');
        if (isName) entry.names.push(ref);
      }
      const images = [...byDigest.values()];
      const bar = progressBar('saving');
      const sde = sourceDateEpoch();
      const writeOpts = {
        // Stored blobs are copied as they are (near disk speed; docker and podman load gzip layers).
        layers: opts.uncompressed ? ('uncompressed' as const) : ('as-stored' as const),
        ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
        onProgress: (p: { bytes: number; total?: number }) => bar.update(p.bytes, p.total) };
      const out = opts.output ?? process.stdout;
      if (opts.format === 'oci') await writeOciArchive(images, out, writeOpts);
      else await writeDockerArchive(images, out, writeOpts);
      bar.done();
    });
}
