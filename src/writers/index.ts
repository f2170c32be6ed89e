/**
 * writers/: images out of obox (docker-archive, OCI archive, OCI layout directory) and, in load/,
 * archives back into the store. Every writer takes the same `Image`s.
 */
export {
  prepareDockerArchive,
  prepareOciArchive,
  writeDockerArchive,
  writeOciArchive,
  writeOciLayout,
  type PreparedArchive,
} from './write.js';
export type {
  ExportProgress,
  ImagesInput,
  LayerExportMode,
  NamedImage,
  ProgressCallback,
  WriteOptions,
  WriteResult,
  WrittenImage,
} from './types.js';
export { load, loadFile, type LoadOptions, type LoadResult, type LoadedImage, type LoadSource } from './load/index.js';
