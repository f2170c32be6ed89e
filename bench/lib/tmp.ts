/**
 * A benchmark's scratch directory, owned like the test daemons' dirs (test/helpers/dockerd.ts): it
 * records our pid, is cleaned up (processes referencing it killed, mounts under it unmounted, files
 * deleted) on cleanup(), on SIGINT/SIGTERM/SIGHUP and on exit, and dirs left by a dead benchmark are
 * swept the next time one starts.
 */
import { cleanupTreeSync, makeOwnedTempDir, registerCleanup, sweepStale } from '../../test/helpers/dockerd.js';

export interface BenchDir {
  readonly dir: string;
  cleanup(): void;
}

export function benchTempDir(tag: string): BenchDir {
  const prefix = `obox-bench-${tag}-`;
  sweepStale(prefix, (d) => cleanupTreeSync(d));
  const dir = makeOwnedTempDir(prefix);
  let done = false;
  const cleanupSync = (): void => {
    if (done) return;
    done = true;
    cleanupTreeSync(dir);
  };
  const unregister = registerCleanup(dir, cleanupSync);
  return {
    dir,
    cleanup: () => {
      unregister();
      cleanupSync();
    },
  };
}
