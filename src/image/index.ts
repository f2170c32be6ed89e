/**
 * The OCI image model: validated values, canonical serialisation, the Layer and Image
 * interfaces, mutation, references. Pure: no file system, no other obox module but errors.
 */
export * from './canonical-json.js';
export * from './config.js';
export * from './descriptor.js';
export * from './digest.js';
export * from './docker-archive.js';
export * from './empty.js';
export * from './image.js';
export * from './layer.js';
export * from './manifest.js';
export * from './media-type.js';
export * from './mutate.js';
export * from './oci-index.js';
export * from './platform.js';
export * from './reference.js';
export * from './streams.js';
