/** Loading docker-archive and OCI archives into the store: the inverse of the writers. */
export { load, loadFile, type LoadOptions, type LoadResult, type LoadedImage, type LoadSource } from './load.js';
export { selectPlatform } from './platform-select.js';
