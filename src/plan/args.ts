/**
 * Build arguments that exist without an ARG line: the proxy variables (handed to RUN, kept out of
 * the cache key and history unless declared) and the automatic platform variables (global scope:
 * usable in FROM lines and meta ARG defaults, and in a stage once declared there with `ARG NAME`).
 */
import { formatPlatform, type Platform } from './platform.js';

/** BuildKit compares these case-insensitively. */
const PROXY_NAMES = new Set(['http_proxy', 'https_proxy', 'ftp_proxy', 'no_proxy', 'all_proxy']);

export function isProxyArg(name: string): boolean {
  return PROXY_NAMES.has(name.toLowerCase());
}

export const PLATFORM_ARG_NAMES: readonly string[] = [
  'BUILDPLATFORM',
  'BUILDOS',
  'BUILDARCH',
  'BUILDVARIANT',
  'TARGETPLATFORM',
  'TARGETOS',
  'TARGETARCH',
  'TARGETVARIANT',
  'TARGETSTAGE',
];

/**
 * The automatic global args for a build. A `--build-arg` of the same name overrides one, as in
 * BuildKit. TARGETSTAGE is the name of the stage being built.
 */
export function platformArgs(build: Platform, target: Platform, targetStage: string, overrides: ReadonlyMap<string, string>): Map<string, string> {
  const values: Array<[string, string]> = [
    ['BUILDPLATFORM', formatPlatform(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant],
    ['TARGETPLATFORM', formatPlatform(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant],
    ['TARGETSTAGE', targetStage],
  ];
  return new Map(values.map(([name, value]) => [name, overrides.get(name) ?? value]));
}
