import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ContainerfileError } from '../../src/errors.js';
import { describeContainerfile } from '../../src/containerfile/describe.js';
import { parseContainerfile } from '../../src/containerfile/parser.js';
import { expectGolden } from '../helpers/golden.js';

const root = path.resolve(import.meta.dirname, '../../fixtures/parser');
const list = (dir: string): string[] =>
  readdirSync(path.join(root, dir))
    .filter((f) => f.endsWith('.Containerfile'))
    .sort();

describe('parser goldens: valid files', () => {
  it.each(list('ok'))('%s', (name) => {
    const file = path.join(root, 'ok', name);
    const parsed = parseContainerfile(readFileSync(file, 'utf8'), name);
    const json = `${JSON.stringify(describeContainerfile(parsed), null, 2)}\n`;
    expectGolden(json, file.replace(/\.Containerfile$/, '.json'));
  });
});

describe('parser goldens: errors', () => {
  it.each(list('errors'))('%s', (name) => {
    const file = path.join(root, 'errors', name);
    let thrown: unknown;
    try {
      parseContainerfile(readFileSync(file, 'utf8'), name);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ContainerfileError);
    expectGolden(`${(thrown as ContainerfileError).describe()}\n`, file.replace(/\.Containerfile$/, '.err'));
  });
});
