/** Line splitting and the output tail. */
import { describe, expect, it } from 'vitest';
import { LineSplitter, TailBuffer } from '../../../src/executor/run/index.js';
import { MAX_LINE_CHARS } from '../../../src/executor/run/output.js';

function split(chunks: (string | Buffer)[]): string[] {
  const out: string[] = [];
  const s = new LineSplitter((l) => out.push(l));
  for (const c of chunks) s.write(typeof c === 'string' ? Buffer.from(c) : c);
  s.end();
  return out;
}

describe('LineSplitter', () => {
  it('splits across chunks, drops CR of CRLF, emits a last line without newline', () => {
    expect(split(['a\nb', 'c\r', '\nd'])).toEqual(['a', 'bc', 'd']);
    expect(split(['x\n'])).toEqual(['x']);
    expect(split(['\n\n'])).toEqual(['', '']);
    expect(split([])).toEqual([]);
  });

  it('keeps a UTF-8 character split between chunks', () => {
    const euro = Buffer.from('€\n');
    expect(split([euro.subarray(0, 1), euro.subarray(1, 2), euro.subarray(2)])).toEqual(['€']);
  });

  it('passes on an endless line in pieces', () => {
    const out = split(['y'.repeat(MAX_LINE_CHARS * 2 + 5)]);
    expect(out.map((l) => l.length)).toEqual([MAX_LINE_CHARS, MAX_LINE_CHARS, 5]);
  });
});

describe('TailBuffer', () => {
  it('keeps the last bytes', () => {
    const t = new TailBuffer(10);
    for (const s of ['hello ', 'world ', 'again']) t.write(Buffer.from(s));
    expect(t.text()).toBe('orld again');
    t.write(Buffer.from('0123456789abcdef'));
    expect(t.text()).toBe('6789abcdef');
  });

  it('never starts in the middle of a UTF-8 character', () => {
    const t = new TailBuffer(4);
    t.write(Buffer.from('a€€'));
    expect(t.text()).toBe('€');
  });

  it('a zero limit keeps nothing', () => {
    const t = new TailBuffer(0);
    t.write(Buffer.from('x'));
    expect(t.text()).toBe('');
  });
});
