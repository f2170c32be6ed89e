/** src/image is the bottom of the import graph: no file system, no other obox module but errors. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../src/image/', import.meta.url).pathname;

describe('src/image imports', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  it.each(files)('%s imports only node streams/crypto/zlib, errors and its siblings', (file) => {
    const src = readFileSync(join(dir, file), 'utf8');
    const specifiers = [...src.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
    for (const s of specifiers) {
      const ok = /^\.\/[\w-]+\.js$/.test(s!) || s === '../errors.js' || ['node:crypto', 'node:stream', 'node:stream/promises', 'node:zlib'].includes(s!);
      expect(ok, `${file} imports ${s}`).toBe(true);
    }
  });
});
