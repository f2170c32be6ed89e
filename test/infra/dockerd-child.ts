/**
 * Helper process for dockerd.test.ts: starts a private dockerd, imports ROOTFS, starts a long-running
 * container, prints one JSON line {dir, pid} and then waits to be killed (SIGTERM / SIGINT / SIGKILL).
 * usage: node --import tsx test/infra/dockerd-child.ts ROOTFS.tar
 */
import { startDockerd } from '../helpers/dockerd.js';

const rootfs = process.argv[2];
if (!rootfs) throw new Error('usage: dockerd-child.ts ROOTFS.tar');
const d = await startDockerd();
await d.importRootfs(rootfs, 'obox-test/busybox:child');
await d.dockerOk(['run', '-d', '--network', 'none', '--stop-timeout', '1', 'obox-test/busybox:child', 'sleep', '1000']);
process.stdout.write(`${JSON.stringify({ dir: d.dir, pid: d.pid })}\n`);
setInterval(() => undefined, 1_000_000);
