/** Overlay mounts for build steps: see mount.ts for the entry point. */
export { mountOverlay, topmostOccurrences, type OverlayMount, type OverlayMountOptions, type UnmountOptions } from './mount.js';
export { kernelMounter, type MountRequest, type OverlayMounter, type UnmountResult } from './mounter.js';
export { unmountAllUnder, detach, BUSY_RETRY_DELAYS_MS, type UnmountAllOptions, type UnmountReport } from './unmount.js';
export { findMountsUnder, isMountPoint, parseMountInfo, readMountInfo, unescapeMountField, type MountInfo } from './mountinfo.js';
export { layoutMount, type LayoutInput, type LinkMode, type MountLayout } from './layout.js';
export { ensureLink, ensureLinks, linkId, LINK_ID_LENGTH } from './links.js';
export {
  buildMountData,
  checkLowerCount,
  checkMountDataFits,
  fitsMountData,
  isPlainOptionPath,
  mountDataBytes,
  MAX_LOWER_DIRS,
  MAX_MOUNT_DATA_BYTES,
  PLAIN_DIFF_OPTIONS,
  type MountDataParts,
} from './options.js';
export { removeTree, makeTraversable } from './remove-tree.js';
export { overlayKernelMessages, parseOverlayMessages } from './kernel-log.js';
