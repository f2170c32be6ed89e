/**
 * `obox import`: a root filesystem (a tar, plain or compressed, or a directory) becomes a
 * one-layer image, like `docker import`. A tar is unpacked safely first (hostile entries are
 * refused) and re-packed by our own writer, so the layer is canonical and its unpacked dir is
 * ready to be an overlay lower dir.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { appendLayer, emptyImage, hostPlatform, setCreated, updateConfig, type ContainerConfig, type Image } from '../image/index.js';
import { unpackLayer, type LayerSource } from '../layer/index.js';
import { adoptLayerDir, commitDirectory } from './layers.js';
import { tempDirIn, type Store } from './store/index.js';

export interface ImportOptions {
  /** A directory to import as is, or a tar (path or byte stream). */
  source: { dir: string } | { tar: LayerSource; name: string };
  /** Names to give the image. */
  names?: readonly string[];
  /** History comment; docker writes "Imported from -" or the source. */
  message?: string;
  /** Creation time in seconds since the epoch (SOURCE_DATE_EPOCH); default now. */
  created?: number;
  /** Container config to start from (from `--change` instructions). */
  containerConfig?: ContainerConfig;
}

export interface ImportResult {
  image: Image;
  diffId: string;
  size: number;
}

export async function importRootfs(store: Store, options: ImportOptions): Promise<ImportResult> {
  const createdAt = new Date((options.created ?? Date.now() / 1000) * 1000);
  createdAt.setMilliseconds(0);
  const created = createdAt.toISOString().replace('.000Z', 'Z');
  let dir: string;
  let scratchDir: string | undefined;
  if ('dir' in options.source) dir = options.source.dir;
  else {
    scratchDir = await tempDirIn(store.paths.tmp, 'import');
    dir = path.join(scratchDir, 'rootfs');
  }
  try {
    if (!('dir' in options.source)) {
      await unpackLayer(options.source.tar, dir, { archiveName: options.source.name, whiteouts: 'overlay' });
    }
    const committed = await commitDirectory(store, dir, { sourceDateEpoch: options.created });
    if (scratchDir) await adoptLayerDir(store, committed.diffId, dir, { origin: 'import', sourceDateEpoch: options.created });
    const comment = options.message ?? `Imported from ${'dir' in options.source ? options.source.dir : options.source.name}`;
    let image = appendLayer(emptyImage(hostPlatform(), 'oci'), committed.layer, { created, created_by: 'obox import', comment });
    if (options.containerConfig) image = updateConfig(image, (c) => ({ ...c, config: options.containerConfig! }));
    image = setCreated(image, created);
    await store.putImage(image, options.names ?? []);
    return { image, diffId: committed.diffId, size: committed.size };
  } finally {
    if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
  }
}
