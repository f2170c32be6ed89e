import { describe, expect, it } from 'vitest';
import { run } from '../../bench/lib/proc.js';

describe('bench run()', () => {
  it('splits output into lines, keeps the last unterminated one, and a long line arriving in chunks whole', async () => {
    const script = `process.stdout.write('a\\nb'); process.stdout.write('c\\n'); process.stdout.write('é'.repeat(300000)); process.stderr.write('tail')`;
    const r = await run(process.execPath, ['-e', script]);
    const out = r.lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
    expect(out.slice(0, 2)).toEqual(['a', 'bc']);
    expect(out[2]).toBe('é'.repeat(300000));
    expect(r.lines.filter((l) => l.stream === 'stderr').map((l) => l.text)).toEqual(['tail']);
  });

  it('calls onSpawn with the pid, and reports a failing exit', async () => {
    let pid = 0;
    const r = await run('sh', ['-c', 'exit 3'], { allowFail: true, onSpawn: (p) => (pid = p) });
    expect(pid).toBeGreaterThan(0);
    expect(r.code).toBe(3);
    await expect(run('sh', ['-c', 'echo no >&2; exit 4'])).rejects.toThrow(/exited 4[\s\S]*no/);
  });
});
