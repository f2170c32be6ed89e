import { execFile } from 'node:child_process';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { computeStepKey, encodeInputs, STEP_KEY_VERSION, type StepKeyRequest } from '../../src/cache/step-key.js';
import { contextSource, copyRequestFrom, digestCopySources } from '../../src/executor/copy/index.js';
import { canonicalInstruction, canonicalText } from '../../src/instructions/canonical.js';
import type { CopyInstruction } from '../../src/instructions/index.js';
import { one } from '../instructions/helpers.js';
import { tempDir } from './helpers.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;

function base(): StepKeyRequest {
  return {
    parent: { kind: 'image', digest: D1 },
    instruction: canonicalInstruction(one('RUN echo hi')),
    args: new Map([['B', '2'], ['A', '1']]),
    platform: { os: 'linux', architecture: 'amd64' },
  };
}

describe('canonical instruction text', () => {
  it('ignores object key order', () => {
    expect(canonicalText({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'x' } })).toBe(canonicalText({ a: { c: 'x', d: [1, { x: 1, y: 2 }] }, b: 1 }));
    expect(canonicalText({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });

  it('drops location, original text, keyword case, line numbers and undefined fields', () => {
    const a = one('RUN echo hi');
    const b = one('\n\n# a comment\nrun   \\\n  echo hi');
    expect(a.location).not.toEqual(b.location);
    expect(canonicalInstruction(a)).toBe(canonicalInstruction(b));
    expect(canonicalInstruction(a)).not.toMatch(/location|original|keyword|Line|Pos/);
    expect(canonicalText({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it('drops heredoc line numbers but keeps their bodies', () => {
    const a = one('RUN <<EOF\necho hi\nEOF');
    const b = one('\n\nRUN <<EOF\necho hi\nEOF');
    const c = one('RUN <<EOF\necho bye\nEOF');
    expect(canonicalInstruction(a)).toBe(canonicalInstruction(b));
    expect(canonicalInstruction(a)).not.toBe(canonicalInstruction(c));
  });

  it('differs when the meaning differs', () => {
    expect(canonicalInstruction(one('RUN echo hi'))).not.toBe(canonicalInstruction(one('RUN ["echo", "hi"]')));
    expect(canonicalInstruction(one('COPY a /b'))).not.toBe(canonicalInstruction(one('COPY --chown=1 a /b')));
  });

  it('rejects values that have no stable JSON form', () => {
    expect(() => canonicalText({ a: new Map() })).toThrow(TypeError);
    expect(() => canonicalText({ a: Number.NaN })).toThrow(TypeError);
  });
});

describe('computeStepKey', () => {
  it('is sha256 over a versioned encoding and returns its normalised inputs', () => {
    const { key, inputs } = computeStepKey(base());
    expect(key).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(encodeInputs(inputs).startsWith(`["${STEP_KEY_VERSION}"`)).toBe(true);
    expect(inputs).toEqual({
      parent: { kind: 'image', digest: D1 },
      instruction: base().instruction,
      args: { A: '1', B: '2' },
      platform: { os: 'linux', architecture: 'amd64' },
    });
    expect(Object.keys(inputs.args)).toEqual(['A', 'B']);
  });

  it('is stable: same inputs in any order, as a map or a record, give the same key', () => {
    const a = computeStepKey(base()).key;
    expect(computeStepKey({ ...base(), args: { A: '1', B: '2' } }).key).toBe(a);
    expect(computeStepKey({ ...base(), args: new Map([['A', '1'], ['B', '2']]) }).key).toBe(a);
    expect(computeStepKey({ ...base(), platform: { os: 'linux', architecture: 'amd64', variant: '' } }).key).toBe(a);
    const withFrom = (m: Record<string, string>) => computeStepKey({ ...base(), fromStages: m, mounts: m }).key;
    expect(withFrom({ b: D2, a: D3 })).toBe(withFrom({ a: D3, b: D2 }));
    // integer-like names must not reorder the encoding
    const ints = (m: Map<string, string>) => computeStepKey({ ...base(), args: m }).key;
    expect(ints(new Map([['10', 'x'], ['2', 'y']]))).toBe(ints(new Map([['2', 'y'], ['10', 'x']])));
  });

  it('is the same in another process', async () => {
    const request = base();
    const here = computeStepKey(request).key;
    const module = fileURLToPath(new URL('../../src/cache/step-key.ts', import.meta.url));
    const code = `
      const { computeStepKey } = await import(${JSON.stringify(module)});
      const r = JSON.parse(process.argv[1]);
      r.args = new Map(Object.entries(r.args).reverse());
      process.stdout.write(computeStepKey(r).key);`;
    const json = JSON.stringify({ ...request, args: Object.fromEntries(request.args as Map<string, string>) });
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, json]);
    expect(stdout).toBe(here);
  });

  it('changes with every input', () => {
    const k = (r: Partial<StepKeyRequest>) => computeStepKey({ ...base(), ...r }).key;
    const keys = [
      k({}),
      k({ parent: { kind: 'image', digest: D2 } }),
      k({ parent: { kind: 'step', key: D1 } }),
      k({ parent: { kind: 'scratch' } }),
      k({ instruction: canonicalInstruction(one('RUN echo bye')) }),
      k({ args: new Map([['A', '1']]) }),
      k({ args: new Map([['A', '1'], ['B', '3']]) }),
      k({ args: new Map([['A', '1'], ['C', '2']]) }),
      k({ platform: { os: 'linux', architecture: 'arm64' } }),
      k({ platform: { os: 'linux', architecture: 'amd64', variant: 'v2' } }),
      k({ platform: { os: 'windows', architecture: 'amd64' } }),
      k({ sources: D1 }),
      k({ sources: D2 }),
      k({ fromStages: { build: D1 } }),
      k({ fromStages: { build: D2 } }),
      k({ fromStages: { other: D1 } }),
      k({ fromStages: {} }),
      k({ mounts: { '/src': D1 } }),
      k({ mounts: { '/src': D2 } }),
      k({ mounts: { '/other': D1 } }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('keeps fields apart: a value moved between fields changes the key', () => {
    const a = computeStepKey({ ...base(), args: new Map([['A', 'B=1']]) }).key;
    const b = computeStepKey({ ...base(), args: new Map([['A=B', '1']]) }).key;
    expect(a).not.toBe(b);
    expect(computeStepKey({ ...base(), fromStages: { x: D1 } }).key).not.toBe(computeStepKey({ ...base(), mounts: { x: D1 } }).key);
  });

  it('ignores where the instruction sits in the file', () => {
    const at = (text: string) => computeStepKey({ ...base(), instruction: canonicalInstruction(one(text)) }).key;
    expect(at('COPY a /b')).toBe(at('\n\n\ncopy  a /b'));
  });

  it('rejects malformed keys and digests', () => {
    expect(() => computeStepKey({ ...base(), parent: { kind: 'step', key: 'abc' } })).toThrow(TypeError);
    expect(() => computeStepKey({ ...base(), parent: { kind: 'image', digest: 'sha256:xyz' } })).toThrow(TypeError);
    expect(() => computeStepKey({ ...base(), sources: 'nope' })).toThrow(TypeError);
    expect(() => computeStepKey({ ...base(), instruction: '' })).toThrow(TypeError);
  });
});

describe('COPY sources in the key', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('obox-stepkey-');
    await mkdir(join(dir.path, 'ctx'));
    await mkdir(join(dir.path, 'tmp'));
    await writeFile(join(dir.path, 'ctx', 'a.txt'), 'hello');
  });
  afterEach(() => dir.cleanup());

  const keyOf = async (): Promise<string> => {
    const ins = one('COPY a.txt /b/') as CopyInstruction;
    const req = copyRequestFrom(ins, { tree: contextSource(join(dir.path, 'ctx')) });
    const sources = (await digestCopySources(req, { tempDir: join(dir.path, 'tmp') })).digest;
    return computeStepKey({ ...base(), instruction: canonicalInstruction(ins), sources }).key;
  };

  it('follows content, not mtimes', async () => {
    const first = await keyOf();
    await utimes(join(dir.path, 'ctx', 'a.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    expect(await keyOf()).toBe(first);
    await writeFile(join(dir.path, 'ctx', 'a.txt'), 'hellO');
    expect(await keyOf()).not.toBe(first);
  });
});
