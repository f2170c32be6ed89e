/**
 * layer/: obox's own tar writer and reader for OCI layers.
 *
 *   writeLayer(dir, out, opts)      directory (or overlay upper dir) → compressed layer + digests
 *   packDirectory / tarStream       directory → uncompressed tar stream
 *   unpackLayer(src, target, opts)  layer → new directory, atomic, hostile-input safe
 *   applyLayer / flattenLayers      layers → an existing / a new directory, whiteouts applied
 *   readTar                         streaming tar reader
 */
export { writeLayer, tarStream, type WriteLayerOptions, type LayerWriteResult } from './write-layer.js';
export { packDirectory, planDirectory, type PackOptions, type OwnerMap } from './pack.js';
export {
  unpackLayer,
  applyLayer,
  flattenLayers,
  type UnpackOptions,
  type UnpackResult,
  type LayerSource,
  type WhiteoutMode,
} from './unpack.js';
export { readTar, type TarEntry, type ReadTarOptions } from './tar-reader.js';
export { encodeHeader, type TarHeader, type EntryType } from './tar-format.js';
export {
  createCompressor,
  decompress,
  detectCompression,
  zstdSupported,
  layerMediaTypes,
  type Compression,
  type CompressOptions,
} from './compress.js';
export { HashCounter, type Sha256Digest } from './digest.js';
export { hostFs, type LayerFs, type FileInfo, type FileType, type Xattr, type ReadHandle, type WriteHandle } from './fs.js';
export { defaultXattrFilter, type XattrFilter } from './xattrs.js';
export { OPAQUE_MARKER, WHITEOUT_PREFIX, opaqueXattr, type OverlayXattrNamespace } from './overlay.js';
export { pruneUnchangedDirs } from './prune-upper.js';
