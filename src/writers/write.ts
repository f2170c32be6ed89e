/**
 * The writers: docker-archive, OCI archive and OCI layout directory, all from the same `Image`s.
 *
 *  1. prepare: normalise names; export each image (layers as stored, or as plain tars, measured
 *     first), so every entry's size is known before the first byte;
 *  2. lay out: every blob once, index.json, oci-layout (+ manifest.json, repositories for docker),
 *     sorted by path;
 *  3. stream: headers, then each blob straight from its source through a digest and size check.
 *
 * Same images and options give the same bytes. Nothing but JSON and tar headers is held in memory.
 */
import type { Readable, Writable } from 'node:stream';
import { ErrorCodes, OboxError } from '../errors.js';
import { dockerArchiveExtraEntries } from './docker-archive.js';
import { completeAndSort, entrySize, type LayoutEntry } from './entries.js';
import { exportImage, type ExportedImage } from './export-image.js';
import { LayerExporter } from './export-layer.js';
import { writeStreamTo, writeStreamToFile } from './file-output.js';
import { prepareInputs } from './inputs.js';
import { writeLayoutDir } from './layout-dir.js';
import { ociLayoutEntries } from './oci-layout.js';
import { planTar, tarStream } from './tar-writer.js';
import type { ImagesInput, LayerExportMode, ProgressCallback, WriteOptions, WriteResult, WrittenImage } from './types.js';

export interface PreparedArchive {
  readonly images: readonly WrittenImage[];
  /** The archive's exact size in bytes. */
  readonly size: number;
  /** The archive's bytes (call once); `write` progress is reported as they are read. */
  stream(): Readable;
}

type Format = 'docker-archive' | 'oci';

function mtimeOf(opts: WriteOptions): number {
  const t = opts.sourceDateEpoch ?? 0;
  if (!Number.isSafeInteger(t) || t < 0) {
    throw new OboxError(ErrorCodes.usage, `invalid SOURCE_DATE_EPOCH ${String(t)}: expected whole seconds since 1970, not negative`);
  }
  return t;
}

/** Progress reporter for one phase: running byte count, total when known. */
function reporter(cb: ProgressCallback | undefined, phase: 'measure' | 'write', total?: number): (n: number) => void {
  if (cb === undefined) return () => undefined;
  let bytes = 0;
  return (n) => {
    bytes += n;
    cb(total === undefined ? { phase, bytes } : { phase, bytes, total });
  };
}

async function layOut(input: ImagesInput, format: Format, opts: WriteOptions): Promise<{ images: ExportedImage[]; entries: LayoutEntry[] }> {
  const prepared = prepareInputs(input);
  const mode: LayerExportMode = opts.layers ?? (format === 'docker-archive' ? 'uncompressed' : 'as-stored');
  const exporter = new LayerExporter(mode, reporter(opts.onProgress, 'measure'));
  const images: ExportedImage[] = [];
  for (const [i, p] of prepared.entries()) images.push(await exportImage(p, i, exporter));
  const files = ociLayoutEntries(images);
  if (format === 'docker-archive') files.push(...dockerArchiveExtraEntries(images));
  return { images, entries: completeAndSort(files) };
}

function written(images: readonly ExportedImage[]): WrittenImage[] {
  return images.map((img) => ({
    names: img.names.map((n) => n.toString()),
    manifestDigest: img.manifestDigest,
    configDigest: img.configDigest,
  }));
}

async function prepareArchive(input: ImagesInput, format: Format, opts: WriteOptions): Promise<PreparedArchive> {
  const mtime = mtimeOf(opts);
  const { images, entries } = await layOut(input, format, opts);
  const plan = planTar(entries, mtime);
  let opened = false;
  return {
    images: written(images),
    size: plan.size,
    stream: () => {
      if (opened) throw new Error('PreparedArchive.stream() called twice');
      opened = true;
      return tarStream(plan, reporter(opts.onProgress, 'write', plan.size));
    },
  };
}

/**
 * A docker-archive (what `docker load` reads), in docker ≥ 25's layout, which docker 20.10 loads
 * too: an OCI layout plus manifest.json and repositories. Layers are plain tars by default (see
 * `LayerExportMode`), each written once however many images share it.
 */
export function prepareDockerArchive(input: ImagesInput, opts: WriteOptions = {}): Promise<PreparedArchive> {
  return prepareArchive(input, 'docker-archive', opts);
}

/** An OCI archive: a tar of an OCI image layout (`oci-archive:FILE`). Blobs as stored by default. */
export function prepareOciArchive(input: ImagesInput, opts: WriteOptions = {}): Promise<PreparedArchive> {
  return prepareArchive(input, 'oci', opts);
}

async function output(archive: PreparedArchive, out: string | Writable): Promise<WriteResult> {
  if (typeof out === 'string') await writeStreamToFile(archive.stream(), out);
  else await writeStreamTo(archive.stream(), out);
  return { images: archive.images, bytes: archive.size };
}

/** Write a docker-archive to a file (replaced atomically) or into a stream (ended when done). */
export async function writeDockerArchive(input: ImagesInput, out: string | Writable, opts: WriteOptions = {}): Promise<WriteResult> {
  return output(await prepareDockerArchive(input, opts), out);
}

/** Write an OCI archive to a file (replaced atomically) or into a stream (ended when done). */
export async function writeOciArchive(input: ImagesInput, out: string | Writable, opts: WriteOptions = {}): Promise<WriteResult> {
  return output(await prepareOciArchive(input, opts), out);
}

/** Write an OCI image layout directory (`oci:DIR`); `dir` must not exist or be empty. */
export async function writeOciLayout(input: ImagesInput, dir: string, opts: WriteOptions = {}): Promise<WriteResult> {
  const mtime = mtimeOf(opts);
  const { images, entries } = await layOut(input, 'oci', opts);
  const total = entries.reduce((n, e) => n + entrySize(e), 0);
  await writeLayoutDir(entries, dir, mtime, reporter(opts.onProgress, 'write', total));
  return { images: written(images), bytes: total };
}
