/** The local store: an OCI image layout with obox's layer directories, temp and locks beside it. */
export { createFileExclusive, fsyncDir, fsyncTree, installDir, tempDirIn, writeFileAtomic, type InstallDirOptions } from './atomic.js';
export { BlobStore, type BlobInfo, type BlobSource, type ExpectedBlob, type PutResult } from './blobs.js';
export { readIndex, updateIndex } from './index-file.js';
export { holderGone, holderRecord, parseHolder, withLock, type HolderRecord, type LockOptions } from './lock.js';
export { storeName } from './names.js';
export { LAYERS_DIR, StorePaths } from './paths.js';
export { resolveStoreRoot, SYSTEM_ROOT, type ResolveRootOptions, type RootEnv } from './root.js';
export { CONFIG_LIMIT, IMAGE_LAYOUT_VERSION, MANIFEST_LIMIT, Store, type StoredImage, type StoreOptions } from './store.js';
