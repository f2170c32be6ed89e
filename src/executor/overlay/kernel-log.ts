/**
 * Why did an overlay mount fail? mount(2) only says EINVAL/ENOENT/ELOOP; the reason goes to the
 * kernel log ("overlayfs: failed to resolve 'x': -2", "overlayfs: conflicting lowerdir path",
 * "overlay: Bad value for 'redirect_dir'"). util-linux ≥ 2.39 gets it from the new mount API;
 * Debian bookworm's 2.38 does not, so after a failure obox reads the log itself.
 *
 * Best effort only: the log may be unreadable (dmesg_restrict, rootless), and its timestamps are
 * compared with CLOCK_MONOTONIC (both leave out suspended time) with some slack.
 */
import { execFile } from 'node:child_process';

/** A point in time comparable with kernel log timestamps (seconds since boot, no suspend). */
export function kernelClockNow(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1e6;
}

/**
 * Overlay lines the kernel logged at or after `since` (kernelClockNow()), oldest first, without
 * their timestamps. Empty when the log cannot be read.
 */
export async function overlayKernelMessages(since: number, slackSeconds = 1): Promise<string[]> {
  const text = await new Promise<string>((resolve) => {
    execFile('dmesg', [], { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 16 * 1024 * 1024, timeout: 5000 }, (err, stdout) => resolve(err ? '' : stdout));
  });
  return parseOverlayMessages(text, since - slackSeconds);
}

/** Pure part of overlayKernelMessages, on `dmesg` output ("[  875.074538] overlayfs: …"). */
export function parseOverlayMessages(dmesg: string, since: number): string[] {
  const out: string[] = [];
  for (const line of dmesg.split('\n')) {
    const m = /^\[\s*(\d+\.\d+)\]\s(.*)$/.exec(line);
    if (!m || Number(m[1]) < since) continue;
    if (/^(overlayfs|overlay):/.test(m[2]!) && out.at(-1) !== m[2]) out.push(m[2]!);
  }
  return out.slice(-5);
}
