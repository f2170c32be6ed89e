/**
 * `FROM scratch`: no layers, a config with just the platform. (The Containerfile front end adds
 * BuildKit's defaults — `PATH` and WorkingDir `/` — itself; the empty image does not.)
 */
import type { ImageConfig } from './config.js';
import type { Image } from './image.js';
import type { ImageFormat } from './media-type.js';
import { composeImage } from './mutate.js';
import { hostPlatform, type Platform } from './platform.js';

export function emptyConfig(platform: Platform): ImageConfig {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform['os.version'] ? { 'os.version': platform['os.version'] } : {}),
    ...(platform['os.features']?.length ? { 'os.features': platform['os.features'] } : {}),
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
  };
}

/** An image with no layers for `platform`. */
export function emptyImage(platform: Platform = hostPlatform(), format: ImageFormat = 'oci'): Image {
  return composeImage({ format, config: emptyConfig(platform), layers: [] });
}

/** The one empty image: linux on this machine's architecture, OCI media types. */
export const scratch: Image = emptyImage();
