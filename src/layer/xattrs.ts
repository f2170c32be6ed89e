/**
 * Which extended attributes travel in layers. Kept: `security.capability` (file capabilities,
 * e.g. ping's cap_net_raw) and `user.*`. Dropped: `security.selinux` (the host's labels, not the
 * image's) and everything else. Never written nor restored, whatever a filter says: overlayfs's
 * own `trusted.overlay.*` and `user.overlay.*` — in an archive they could forge opaque dirs or
 * redirects in a lower dir.
 */
import type { Xattr } from './fs.js';

export type XattrFilter = (name: string) => boolean;

export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

export const defaultXattrFilter: XattrFilter = (name) => name === 'security.capability' || name.startsWith('user.');

/** The attributes to keep, overlay ones always removed, sorted by name (deterministic output). */
export function selectXattrs(all: readonly Xattr[], filter: XattrFilter = defaultXattrFilter): Xattr[] {
  return all
    .filter((x) => !isOverlayXattr(x.name) && filter(x.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
