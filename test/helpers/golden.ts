/**
 * Golden files: compare against a checked-in expected file; UPDATE_GOLDEN=1 rewrites them
 * (then review the diff before committing).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';

export function expectGolden(actual: string, goldenPath: string): void {
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(goldenPath, actual);
    return;
  }
  if (!existsSync(goldenPath)) throw new Error(`missing golden file ${goldenPath}: run with UPDATE_GOLDEN=1 and review it`);
  expect(actual).toBe(readFileSync(goldenPath, 'utf8'));
}
