/** A container's cleanup is shared by its own ending, an abort and the CLI's runCleanups: it runs once. */
import { describe, expect, it } from 'vitest';
import { pendingCleanups, registerCleanup, runCleanups } from '../../../src/executor/cleanup.js';
import { once } from '../../../src/executor/run/once.js';

describe('once', () => {
  it('runs the function once and gives every caller the same promise', async () => {
    let runs = 0;
    const cleanup = once(async () => {
      runs++;
    });
    const unregister = registerCleanup(cleanup);
    await Promise.all([cleanup(), runCleanups(), cleanup()]);
    unregister();
    expect(runs).toBe(1);
    expect(pendingCleanups()).toBe(0);
  });

  it('a failure reaches every caller', async () => {
    const cleanup = once(() => {
      throw new Error('boom');
    });
    await expect(cleanup()).rejects.toThrow('boom');
    await expect(cleanup()).rejects.toThrow('boom');
  });
});
