/**
 * The environment of a RUN process. BuildKit starts from containerd's default (PATH only) and
 * overlays the step's env; docker's classic builder also set HOME (runc and crun set HOME from
 * the container's passwd when it is missing; obox sets it itself so every runtime agrees).
 * No HOSTNAME: BuildKit does not export one (shells such as bash and busybox ash set their own).
 */
import { DEFAULT_PATH } from './defaults.js';

function keyOf(entry: string): string {
  const eq = entry.indexOf('=');
  return eq === -1 ? entry : entry.slice(0, eq);
}

/** Later entries replace earlier ones with the same key, keeping the first one's position. */
export function buildEnv(env: readonly string[], options: { home: string }): string[] {
  const byKey = new Map<string, string>();
  for (const entry of env) {
    const key = keyOf(entry);
    if (key === '') continue;
    byKey.set(key, entry.includes('=') ? entry : `${entry}=`);
  }
  if (!byKey.has('PATH')) byKey.set('PATH', `PATH=${DEFAULT_PATH}`);
  if (!byKey.has('HOME')) byKey.set('HOME', `HOME=${options.home}`);
  return [...byKey.values()];
}
