/**
 * Imports flow down DESIGN.md's data flow only. Each area of src/ lists the areas it may import;
 * a new area must be added here deliberately. Only src/cli may import commander.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../src');

/** area → areas it may import (besides itself). `errors` is the shared leaf. */
const allowed: Record<string, string[]> = {
  errors: [],
  util: ['errors'],
  image: ['errors'],
  containerfile: ['errors', 'util'],
  context: ['errors', 'util'],
  instructions: ['containerfile', 'errors', 'util'],
  plan: ['instructions', 'containerfile', 'context', 'image', 'errors', 'util'],
  layer: ['image', 'errors', 'util'],
  cache: ['layer', 'image', 'errors', 'util'],
  writers: ['cache', 'layer', 'image', 'errors', 'util'],
  executor: ['plan', 'instructions', 'containerfile', 'context', 'layer', 'cache', 'image', 'writers', 'errors', 'util'],
  cli: ['*'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function areaOf(file: string): string {
  const rel = path.relative(src, file).split(path.sep);
  return rel.length === 1 ? rel[0]!.replace(/\.(ts|js)$/, '') : rel[0]!;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

describe('architecture', () => {
  const all = files(src);

  it('every area of src/ is known', () => {
    const unknown = [...new Set(all.map(areaOf))].filter((a) => !(a in allowed));
    expect(unknown, 'add the new area to `allowed` with the areas it may import').toEqual([]);
  });

  it('imports flow down the data flow only', () => {
    const violations: string[] = [];
    for (const file of all) {
      const from = areaOf(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[1] ?? m[2]!;
        if (spec === 'commander' && from !== 'cli') violations.push(`${path.relative(src, file)} imports commander`);
        if (!spec.startsWith('.')) continue;
        const to = areaOf(path.resolve(path.dirname(file), spec));
        if (to === from || allowed[from]?.includes('*') || allowed[from]?.includes(to)) continue;
        violations.push(`${path.relative(src, file)} (${from}) imports ${spec} (${to})`);
      }
    }
    expect(violations).toEqual([]);
  });
});
