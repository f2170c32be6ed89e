import { describe, expect, it } from 'vitest';
import { parentFromStat, treeMembers, treeRssNow } from '../../bench/lib/mem.js';

describe('bench process-tree memory', () => {
  it('collects every descendant of the roots, and nothing else', () => {
    // 1 ─ 10 ─ 11 ─ 12     1 ─ 20 ─ 21     30 (a root) ─ 31
    const parents = new Map([
      [10, 1],
      [11, 10],
      [12, 11],
      [20, 1],
      [21, 20],
      [30, 1],
      [31, 30],
    ]);
    expect([...treeMembers([10], parents)].sort((a, b) => a - b)).toEqual([10, 11, 12]);
    expect([...treeMembers([11, 30], parents)].sort((a, b) => a - b)).toEqual([11, 12, 30, 31]);
    expect([...treeMembers([99], parents)]).toEqual([99]);
    expect([...treeMembers([0], parents)]).toEqual([]);
  });

  it('does not loop on a cycle (a recycled pid)', () => {
    expect([...treeMembers([1], new Map([[1, 2], [2, 1]]))].sort()).toEqual([1, 2]);
  });

  it('reads the parent from /proc/PID/stat, whatever the command name holds', () => {
    expect(parentFromStat('1234 (node) S 77 1234 1234 0 -1')).toBe(77);
    expect(parentFromStat('1234 (a b) (c) R 5 1 1 0')).toBe(5);
    expect(parentFromStat('garbage')).toBeUndefined();
  });

  it('measures this process (a live tree has a size)', () => {
    expect(treeRssNow([process.pid])).toBeGreaterThan(10 * 1024 * 1024);
  });
});
