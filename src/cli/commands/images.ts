/** Commands on images in the store: import, images, inspect, tag, rmi, history. */
import { Option, type Command } from 'commander';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { openStore } from '../store.js';
import { humanAge, humanSize, shortId, table } from '../format.js';

import { sourceDateEpoch } from '../env.js';
import { ErrorCodes, OboxError } from '../../errors.js';

type ReferenceModule = typeof import('../../image/reference.js');

/** REPOSITORY and TAG columns, docker-style (`busybox`, `latest`). */
function splitName(ref: ReferenceModule, name: string | undefined): [string, string] {
  if (name === undefined) return ['<none>', '<none>'];
  const r = ref.parseReference(name);
  return [r.familiarName(), r.tag ?? '<none>'];
}

export function registerImageCommands(program: Command): void {
  program
    .command('import')
    .description('import a root filesystem (tar, tar.gz/xz/zst, or a directory) as a one-layer image, like docker import')
    .argument('<source>', 'a tar archive of a root filesystem, a directory, or - for a tar on standard input')
    .option('-t, --tag <name...>', 'name the image (repeatable)')
    .option('-m, --message <text>', 'history comment (default: "Imported from SOURCE")')
    .action(async (source: string, opts: { tag?: string[]; message?: string }, cmd: Command) => {
      const { importRootfs } = await import('../../cache/import.js');
      const store = await openStore(cmd);
      let src: Parameters<typeof importRootfs>[1]['source'];
      if (source === '-') src = { tar: process.stdin, name: '<stdin>' };
      else {
        const st = await stat(source).catch(() => undefined);
        if (!st) throw new OboxError(ErrorCodes.notFound, `${source}: no such file or directory`);
        src = st.isDirectory() ? { dir: source } : { tar: createReadStream(source), name: source };
      }
      const result = await importRootfs(store, { source: src, names: opts.tag ?? [], message: opts.message, created: sourceDateEpoch() });
      process.stdout.write(`${await result.image.configDigest()}\n`);
    });

  program
    .command('images')
    .description('list images in the store')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('-q, --quiet', 'print image IDs only')
    .action(async (opts: { format: string; quiet?: boolean }, cmd: Command) => {
      const [{ listImageSummaries }, ref] = await Promise.all([import('../../cache/image-info.js'), import('../../image/reference.js')]);
      const images = await listImageSummaries(await openStore(cmd));
      if (opts.format === 'json') {
        process.stdout.write(`${JSON.stringify(images, null, 2)}\n`);
        return;
      }
      if (opts.quiet) {
        process.stdout.write(images.map((i) => `${shortId(i.id)}\n`).join(''));
        return;
      }
      const rows = images.flatMap((i) =>
        (i.names.length > 0 ? i.names : [undefined]).map((n) => [...splitName(ref, n), shortId(i.id), humanAge(i.created), humanSize(i.size)]),
      );
      process.stdout.write(`${table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], rows)}\n`);
    });

  program
    .command('inspect')
    .description('print details of images as JSON: ID, names, digest, config, layers, history')
    .argument('<image...>', 'names, IDs or digests')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const [{ imageDetails }, { parseReference }] = await Promise.all([import('../../cache/image-info.js'), import('../../image/reference.js')]);
      const store = await openStore(cmd);
      const out = [];
      for (const ref of refs) {
        const d = await imageDetails(store, ref);
        out.push({
          Id: d.id,
          RepoTags: d.names.map((n) => parseReference(n).familiarString()),
          Digest: d.digest,
          MediaType: d.mediaType,
          Created: d.created,
          Architecture: d.architecture,
          Os: d.os,
          Variant: d.config.variant,
          Author: d.config.author,
          Config: d.config.config ?? {},
          RootFS: d.config.rootfs,
          History: d.config.history ?? [],
          Layers: d.layerDigests,
          Size: d.size,
        });
      }
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    });

  program
    .command('tag')
    .description('give an image another name')
    .argument('<source>', 'existing name, ID or digest')
    .argument('<target>', 'new name')
    .action(async (source: string, target: string, _opts: unknown, cmd: Command) => {
      const { resolveImage } = await import('../../cache/image-info.js');
      const store = await openStore(cmd);
      await store.tag(await resolveImage(store, source), target);
    });

  program
    .command('rmi')
    .description('remove image names (the data stays until the cache is pruned)')
    .argument('<image...>', 'names to remove')
    .action(async (names: string[], _opts: unknown, cmd: Command) => {
      const store = await openStore(cmd);
      for (const name of names) {
        await store.untag(name);
        process.stdout.write(`Untagged: ${name}\n`);
      }
    });

  program
    .command('history')
    .description("show an image's build steps, newest first")
    .argument('<image>', 'name, ID or digest')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--no-trunc', 'do not truncate the CREATED BY column')
    .action(async (ref: string, opts: { format: string; trunc: boolean }, cmd: Command) => {
      const { imageHistory } = await import('../../cache/image-info.js');
      const rows = await imageHistory(await openStore(cmd), ref);
      if (opts.format === 'json') {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const cut = (s: string): string => (opts.trunc && s.length > 45 ? `${s.slice(0, 44)}…` : s);
      const body = rows.map((r) => [
        r.layer ? shortId(r.layer.digest) : '<missing>',
        humanAge(r.entry.created),
        cut((r.entry.created_by ?? '').replace(/\s+/g, ' ')),
        humanSize(r.layer?.size ?? 0),
        r.entry.comment ?? '',
      ]);
      process.stdout.write(`${table(['LAYER', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], body)}\n`);
    });
}
