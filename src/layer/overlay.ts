/**
 * Overlayfs ⇄ OCI layer conventions, in one place (umoci oci/layer/tar_generate.go and
 * utils_unix.go do the same job).
 *
 * In an overlay upper dir          In an OCI layer tar
 *   char device 0:0 NAME     ⇄       regular empty file .wh.NAME
 *   dir with <ns>.overlay.opaque=y ⇄ the dir, then DIR/.wh..wh..opq
 * where <ns> is `trusted`, or `user` for rootless mounts (`-o userxattr`).
 */
import { OboxError, ErrorCodes } from '../errors.js';
import type { FileInfo, Xattr } from './fs.js';
import { display } from './bytes.js';

export const WHITEOUT_PREFIX = '.wh.';
/** aufs-era metadata names (.wh..wh.plnk, .wh..wh.aufs): never content. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export type OverlayXattrNamespace = 'trusted' | 'user';

export function opaqueXattr(ns: OverlayXattrNamespace): string {
  return `${ns}.overlay.opaque`;
}

/** An overlay whiteout: a character device with device number 0:0. */
export function isWhiteoutDevice(info: FileInfo): boolean {
  return info.type === 'char' && info.devMajor === 0 && info.devMinor === 0;
}

export function isOpaqueDir(xattrs: readonly Xattr[], ns: OverlayXattrNamespace): boolean {
  const name = opaqueXattr(ns);
  return xattrs.some((x) => x.name === name && x.value.length === 1 && x.value[0] === 0x79 /* y */);
}

export type WhiteoutName =
  | { kind: 'opaque' }
  | { kind: 'whiteout'; name: string }
  /** .wh..wh.* other than the opaque marker: metadata of old tools, skipped. */
  | { kind: 'meta' };

/** Classifies the last component of an archive path; undefined for an ordinary name. */
export function parseWhiteout(base: string): WhiteoutName | undefined {
  if (!base.startsWith(WHITEOUT_PREFIX)) return undefined;
  if (base === OPAQUE_MARKER) return { kind: 'opaque' };
  if (base.startsWith(WHITEOUT_META_PREFIX)) return { kind: 'meta' };
  const name = base.slice(WHITEOUT_PREFIX.length);
  return name === '' || name === '.' || name === '..' ? { kind: 'meta' } : { kind: 'whiteout', name };
}

/**
 * An upper dir written with redirect_dir or metacopy on is not a plain diff: a renamed dir or a
 * metadata-only copy-up cannot be expressed in a tar. Refuse rather than write a wrong layer.
 */
export function checkPlainUpper(rel: string, xattrs: readonly Xattr[], ns: OverlayXattrNamespace): void {
  for (const x of xattrs) {
    if (x.name === `${ns}.overlay.redirect` || x.name === `${ns}.overlay.metacopy`) {
      throw new OboxError(ErrorCodes.environment, `overlay upper dir entry ${display(rel)} carries ${x.name}; it cannot be written as a layer`, {
        hint: 'mount the overlay with redirect_dir=off,metacopy=off,index=off',
      });
    }
  }
}

/** A file named .wh.* in an upper dir would read back as a whiteout: refuse to write it. */
export function refuseWhiteoutName(rel: string, base: string): void {
  if (base.startsWith(WHITEOUT_PREFIX)) {
    throw new OboxError(ErrorCodes.invalidArchive, `cannot write ${display(rel)} into a layer: names starting with ".wh." are reserved for whiteouts`);
  }
}
