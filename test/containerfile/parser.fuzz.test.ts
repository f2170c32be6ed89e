/**
 * Hostile input never crashes or hangs the front end: every input either parses or throws
 * a ContainerfileError. Thousands of generated inputs, plus a few pathological giants.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContainerfileError } from '../../src/errors.js';
import { parseContainerfile } from '../../src/containerfile/parser.js';
import { describeContainerfile } from '../../src/containerfile/describe.js';

function parsesOrThrowsTyped(text: string): void {
  try {
    const parsed = parseContainerfile(text, 'fuzz');
    describeContainerfile(parsed);
  } catch (e) {
    if (!(e instanceof ContainerfileError)) throw e;
    expect(e.location.line).toBeGreaterThanOrEqual(1);
    expect(e.location.column).toBeGreaterThanOrEqual(1);
    e.describe();
  }
}

const keywords = ['FROM', 'RUN', 'COPY', 'ADD', 'ENV', 'ARG', 'LABEL', 'ONBUILD', 'HEALTHCHECK', 'CMD', 'ENTRYPOINT', 'SHELL', 'EXPOSE', 'VOLUME', 'USER', 'WORKDIR', 'STOPSIGNAL', 'MAINTAINER', 'from', 'onbuild', 'BOGUS'];
const pieces = [
  ' ', '\t', '\n', '\r\n', '\\', '`', '\\\n', '"', "'", '[', ']', ',', '=', '--', '--from=', '--mount=type=cache,target=/x', '#', '# escape=`\n', '# syntax=x\n',
  '<<', '<<EOF', '<<-EOF', '<<"EOF"', "<<'E'", '\nEOF\n', '\n\tEOF\n', '$', '${', '}', '${A:-', '${A#', 'a', 'b c', 'NONE', 'CMD', '/bin/sh', '\u00a0', '\ufeff', '한국어', '\0',
];

const token = fc.oneof(fc.constantFrom(...keywords), fc.constantFrom(...pieces), fc.string({ maxLength: 8 }));
const containerfileish = fc.array(token, { maxLength: 60 }).map((parts) => parts.join(''));

describe('parser never crashes or hangs', () => {
  it('on Containerfile-shaped token soup', () => {
    fc.assert(fc.property(containerfileish, parsesOrThrowsTyped), { numRuns: 3000 });
  });

  it('on random unicode text', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), parsesOrThrowsTyped), { numRuns: 1500 });
  });

  it('on random bytes decoded as UTF-8', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => parsesOrThrowsTyped(Buffer.from(bytes).toString('utf8'))),
      { numRuns: 1500 },
    );
  });

  it('on mutations of a real Containerfile', () => {
    const base = 'FROM busybox AS b\nRUN echo a \\\n  b\nCOPY --from=b <<EOF /x\nhi\nEOF\nENV A=1 B="2 3"\nHEALTHCHECK CMD ["true"]\nONBUILD RUN <<E\nx\nE\n';
    const mutation = fc.tuple(fc.nat(base.length), fc.nat(10), fc.constantFrom(...pieces, ...keywords));
    fc.assert(
      fc.property(fc.array(mutation, { maxLength: 8 }), (edits) => {
        let text = base;
        for (const [at, del, ins] of edits) text = text.slice(0, at) + ins + text.slice(at + del);
        parsesOrThrowsTyped(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('on a 10 MB line', () => {
    const started = Date.now();
    parsesOrThrowsTyped(`FROM busybox\nRUN echo ${'x'.repeat(10 * 1024 * 1024)}\n`);
    parsesOrThrowsTyped(`FROM busybox\nENV ${'a=b '.repeat(2 * 1024 * 1024)}\n`);
    parsesOrThrowsTyped(`FROM busybox\nCMD [${'"a",'.repeat(1024 * 1024)}"z"]\n`);
    // Not a timing assertion on speed, only a guard against pathological (quadratic) behaviour.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('on deeply nested quoting and expansion syntax', () => {
    parsesOrThrowsTyped(`FROM busybox\nRUN <<${'"'.repeat(50_000)}EOF\nEOF\n`);
    parsesOrThrowsTyped(`FROM busybox\nRUN cat <<${'${A:-'.repeat(20_000)}x${'}'.repeat(20_000)}\n`);
    parsesOrThrowsTyped(`FROM busybox\nLABEL a="${'\\"'.repeat(100_000)}"\n`);
    parsesOrThrowsTyped(`${'FROM a\\\n'.repeat(50_000)}\n`);
  });

  it('on binary files', () => {
    const bin = Buffer.alloc(64 * 1024);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 2654435761) >>> 24;
    parsesOrThrowsTyped(bin.toString('latin1'));
    parsesOrThrowsTyped(bin.toString('utf8'));
  });
});

describe('keywords that are Object.prototype names', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('%s is just an unknown keyword', (kw) => {
    parsesOrThrowsTyped(`FROM busybox\n${kw} a b\n`);
    parsesOrThrowsTyped(`FROM busybox\nONBUILD ${kw} x\n`);
  });
});
