/**
 * Tests that need root or a system tool call these at the top of a describe block.
 * On a laptop a missing requirement skips the block; with CI=true it fails the run instead,
 * so CI never passes by silently skipping.
 */
import { execFileSync } from 'node:child_process';

export const inCI = process.env.CI === 'true';

export function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${JSON.stringify(name)}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Returns true when the requirements hold. When they do not: throws under CI, returns false elsewhere
 * (use with `describe.skipIf(!requires(...))`).
 */
export function requires(opts: { root?: boolean; tools?: string[] }): boolean {
  const missing: string[] = [];
  if (opts.root && !isRoot()) missing.push('root');
  for (const t of opts.tools ?? []) if (!hasTool(t)) missing.push(t);
  if (missing.length === 0) return true;
  if (inCI) throw new Error(`CI=true and this test needs: ${missing.join(', ')}`);
  return false;
}
