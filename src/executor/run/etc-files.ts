/**
 * The /etc/hosts and /etc/resolv.conf a RUN container sees (bind-mounted read-only, as BuildKit
 * does, so the image's own files are never changed by a build step).
 */
import { promises as fsp } from 'node:fs';
import type { NetworkMode } from './types.js';

/** BuildKit's hosts file (executor/oci/hosts.go): localhost and the sandbox hostname. */
export function hostsFileContent(hostname: string): string {
  return `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`;
}

/** With no network there is nothing to resolve against: a file without nameservers. */
export const NO_NETWORK_RESOLV_CONF = '# obox: --network none, no DNS servers\n';

/**
 * resolv.conf for the container: the host's for `--network host` (its nameservers are reachable
 * from the host's network namespace, loopback ones included), a minimal one for `none`.
 */
export async function resolvConfContent(network: NetworkMode, hostResolvConf = '/etc/resolv.conf'): Promise<string> {
  if (network === 'none') return NO_NETWORK_RESOLV_CONF;
  try {
    return await fsp.readFile(hostResolvConf, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}
