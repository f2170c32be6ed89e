/**
 * Running a measured command: wall time (from spawn to exit, in the parent), optional peak RSS of
 * the command, and each output line with the time it arrived (for step timings from progress
 * output). Peak RSS comes from GNU time (`/usr/bin/time -f %M`, the child's ru_maxrss as wait4
 * reports it: the largest single process among it and its waited-for children, not their sum);
 * without GNU time (Debian package `time`, never installed from here), from sampling
 * /proc/PID/status VmHWM every 20 ms (a high-water mark, so a late sample still sees the peak; only
 * the direct child is seen). The summed memory of a whole process tree: mem.ts, through onSpawn.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';

export interface TimedLine {
  /** Milliseconds after spawn. */
  t: number;
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface RunResult {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
  /** Peak resident set size in bytes (when measured). */
  peakRss: number | undefined;
  lines: TimedLine[];
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill and throw after this long. Default 15 min. */
  timeoutMs?: number;
  /** Measure peak RSS (needs `scratch` for GNU time's output file). */
  rss?: boolean;
  /** Directory for GNU time's output file. */
  scratch?: string;
  /** Return non-zero exits instead of throwing. */
  allowFail?: boolean;
  /** Called with the child's pid right after spawn (e.g. to start sampling its process tree). */
  onSpawn?: (pid: number) => void;
}

const GNU_TIME = '/usr/bin/time';
let rssMethod: 'time' | 'sample' | undefined;

function isGnuTime(): boolean {
  if (!existsSync(GNU_TIME)) return false;
  const r = spawnSync(GNU_TIME, ['-f', '%M', 'true'], { encoding: 'utf8' });
  return r.status === 0 && /^\d+\s*$/.test(r.stderr.trim().split('\n').at(-1) ?? '');
}

/**
 * How peak RSS is measured: GNU time when present, else /proc sampling. Installs nothing: without
 * /usr/bin/time, `apt-get install time` (or native-scripts/install-deps.sh) gives the better method.
 */
export function peakRssMethod(): 'time' | 'sample' {
  rssMethod ??= isGnuTime() ? 'time' : 'sample';
  return rssMethod;
}

function vmHwmBytes(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

let seq = 0;

export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const method = opts.rss ? peakRssMethod() : undefined;
  let cmd = file;
  let argv = [...args];
  let timeFile: string | undefined;
  if (method === 'time') {
    if (!opts.scratch) throw new Error('run: rss needs a scratch directory');
    timeFile = path.join(opts.scratch, `.rss-${process.pid}-${++seq}`);
    cmd = GNU_TIME;
    argv = ['-f', '%M', '-o', timeFile, file, ...args];
  }
  const timeoutMs = opts.timeoutMs ?? 15 * 60_000;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const lines: TimedLine[] = [];
    // The unfinished last line of each stream, in pieces: joined only once its newline comes, so a
    // long line arriving in many chunks costs linear time, not quadratic.
    const partial: Record<'stdout' | 'stderr', string[]> = { stdout: [], stderr: [] };
    // A UTF-8 character split across two chunks is decoded whole.
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    const onData = (stream: 'stdout' | 'stderr', buf: Buffer, sink: Buffer[]): void => {
      const t = performance.now() - t0;
      sink.push(buf);
      const chunk = decoders[stream].write(buf);
      if (!chunk.includes('\n')) {
        partial[stream].push(chunk);
        return;
      }
      const parts = (partial[stream].join('') + chunk).split('\n');
      partial[stream] = [parts.pop() ?? ''];
      for (const text of parts) lines.push({ t, stream, text });
    };
    child.stdout.on('data', (b: Buffer) => onData('stdout', b, out));
    child.stderr.on('data', (b: Buffer) => onData('stderr', b, err));
    let sampled: number | undefined;
    const sampler =
      method === 'sample' && child.pid !== undefined
        ? setInterval(() => {
            const v = vmHwmBytes(child.pid!);
            if (v !== undefined) sampled = Math.max(sampled ?? 0, v);
          }, 20)
        : undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      if (sampler) clearInterval(sampler);
      reject(e);
    });
    child.on('exit', () => {
      // The last VmHWM sample possible: the process is a zombie now, /proc/PID/status may be gone.
      if (sampler) clearInterval(sampler);
    });
    child.on('close', (code, sig) => {
      const ms = performance.now() - t0;
      clearTimeout(timer);
      if (sampler) clearInterval(sampler);
      const t = performance.now() - t0;
      for (const stream of ['stdout', 'stderr'] as const) {
        const rest = partial[stream].join('');
        if (rest !== '') lines.push({ t, stream, text: rest });
      }
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      let peakRss = sampled;
      if (timeFile) {
        try {
          const last = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1) ?? '';
          if (/^\d+$/.test(last)) peakRss = Number(last) * 1024;
        } catch {
          // GNU time could not write its file: leave peakRss undefined
        }
        rmSync(timeFile, { force: true });
      }
      const result: RunResult = { ms, code: code ?? (sig ? 128 : -1), stdout, stderr, peakRss, lines };
      if (timedOut) {
        reject(new Error(`timed out after ${timeoutMs} ms: ${file} ${args.join(' ')}\n${tail(stderr)}`));
      } else if (result.code !== 0 && !opts.allowFail) {
        reject(new Error(`${file} ${args.join(' ')} exited ${result.code}\n--- stdout\n${tail(stdout)}\n--- stderr\n${tail(stderr)}`));
      } else {
        resolve(result);
      }
    });
  });
}

function tail(s: string, n = 40): string {
  return s.split('\n').slice(-n).join('\n');
}

/** Synchronous helper for set-up commands (not measured); throws with stderr on failure. */
export function sh(file: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync(file, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: opts.timeoutMs ?? 30 * 60_000,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status ?? r.signal}\n${tail(r.stderr)}`);
  return r.stdout;
}

/** `sync` (everything), so dirty pages from earlier runs are not written back during the next one. */
export function syncAll(): void {
  spawnSync('sync', [], { stdio: 'ignore', timeout: 300_000 });
}
