/**
 * Golden: a Containerfile using every instruction and every flag, typed. Regenerate with
 * UPDATE_GOLDEN=1 and review the diff.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { expectGolden } from '../helpers/golden.js';
import { parse } from './helpers.js';

const dir = fileURLToPath(new URL('../../fixtures/containerfiles/', import.meta.url));

describe('instructions golden', () => {
  it('types every instruction and flag of every-instruction.Containerfile', () => {
    const text = readFileSync(`${dir}every-instruction.Containerfile`, 'utf8');
    const { source, ...rest } = parse(text, 'every-instruction.Containerfile');
    const view = { file: source.file, escape: source.escape, ...rest };
    expectGolden(`${JSON.stringify(view, null, 2)}\n`, `${dir}every-instruction.instructions.json`);
  });
});
