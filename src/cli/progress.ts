/**
 * Build progress like BuildKit's: `plain` prints one line per event (RUN output prefixed by its
 * step); `tty` keeps finished steps as lines and redraws one live line for the running step.
 * `NO_COLOR` turns colours off.
 */
import type { BuildEvent } from '../executor/events.js';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'quiet';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export function createProgress(mode: ProgressMode, out: NodeJS.WriteStream = process.stderr): (e: BuildEvent) => void {
  const resolved = mode === 'auto' ? (out.isTTY ? 'tty' : 'plain') : mode;
  if (resolved === 'quiet') return () => undefined;
  const color = out.isTTY && !process.env.NO_COLOR;
  const dim = (s: string): string => (color ? `\x1b[2m${s}\x1b[0m` : s);
  const blue = (s: string): string => (color ? `\x1b[34m${s}\x1b[0m` : s);
  const started = new Map<number, { at: number; title: string; last: string }>();
  let live = false;
  let timer: NodeJS.Timeout | undefined;

  const clearLive = (): void => {
    if (live) out.write('\r\x1b[2K');
    live = false;
  };
  const drawLive = (): void => {
    if (resolved !== 'tty') return;
    const current = [...started.values()].at(-1);
    if (!current) return;
    const width = Math.max(20, (out.columns ?? 100) - 1);
    const text = `${current.title} ${dim(seconds(Date.now() - current.at))}${current.last ? dim(` ${current.last}`) : ''}`;
    clearLive();
    out.write(text.length > width + 20 ? text.slice(0, width + 8) : text);
    live = true;
  };

  return (e: BuildEvent): void => {
    switch (e.type) {
      case 'stage':
        clearLive();
        out.write(`${blue(`[stage ${e.index}/${e.total}]`)} ${e.stage} ${dim(`from ${e.base}`)}\n`);
        break;
      case 'step-start': {
        const title = `#${e.id} [${e.stage} ${e.step}/${e.steps}] ${e.text.replace(/\s+/g, ' ').slice(0, 200)}`;
        started.set(e.id, { at: Date.now(), title, last: '' });
        if (resolved === 'plain') out.write(`${title}\n`);
        else {
          drawLive();
          timer ??= setInterval(drawLive, 250).unref();
        }
        break;
      }
      case 'step-output': {
        const s = started.get(e.id);
        if (resolved === 'plain') {
          const at = s ? ((Date.now() - s.at) / 1000).toFixed(3) : '';
          out.write(`#${e.id} ${at} ${e.line}\n`);
        } else if (s) {
          s.last = e.line.slice(0, 120);
          drawLive();
        }
        break;
      }
      case 'step-done': {
        const s = started.get(e.id);
        started.delete(e.id);
        const status = e.cached ? 'CACHED' : `DONE ${seconds(e.durationMs)}`;
        if (resolved === 'plain') out.write(`#${e.id} ${status}\n`);
        else {
          clearLive();
          out.write(`${s?.title ?? `#${e.id}`} ${dim(status)}\n`);
          if (started.size === 0 && timer) {
            clearInterval(timer);
            timer = undefined;
          }
        }
        break;
      }
      case 'export':
        clearLive();
        out.write(`=> ${e.what}\n`);
        break;
      case 'warning':
        clearLive();
        out.write(`warning: ${e.message}\n`);
        break;
    }
  };
}
