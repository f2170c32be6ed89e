import { describe, expect, it } from 'vitest';
import { OboxError } from '../../src/errors.js';
import { resolveStoreRoot } from '../../src/cache/store/root.js';

describe('store root resolution', () => {
  const base = { cwd: '/work', uid: 1000, env: {} };

  it.each<[string, Parameters<typeof resolveStoreRoot>[0], string]>([
    ['--root wins over everything', { ...base, root: '/x', env: { OBOX_ROOT: '/y', HOME: '/home/u' }, uid: 0 }, '/x'],
    ['a relative --root is taken from cwd', { ...base, root: 'store' }, '/work/store'],
    ['OBOX_ROOT next', { ...base, env: { OBOX_ROOT: '/y', XDG_DATA_HOME: '/xdg' }, uid: 0 }, '/y'],
    ['empty OBOX_ROOT is ignored', { ...base, env: { OBOX_ROOT: '', HOME: '/home/u' } }, '/home/u/.local/share/obox'],
    ['root uses /var/lib/obox', { ...base, uid: 0, env: { HOME: '/root', XDG_DATA_HOME: '/xdg' } }, '/var/lib/obox'],
    ['users use XDG_DATA_HOME', { ...base, env: { XDG_DATA_HOME: '/xdg', HOME: '/home/u' } }, '/xdg/obox'],
    ['a relative XDG_DATA_HOME is ignored', { ...base, env: { XDG_DATA_HOME: 'rel', HOME: '/home/u' } }, '/home/u/.local/share/obox'],
    ['else ~/.local/share/obox', { ...base, env: { HOME: '/home/u' } }, '/home/u/.local/share/obox'],
    ['the passwd home when HOME is unset', { ...base, homedir: '/home/pw' }, '/home/pw/.local/share/obox'],
  ])('%s', (_name, options, expected) => {
    expect(resolveStoreRoot(options)).toBe(expected);
  });

  it('fails with a hint when there is no home at all', () => {
    expect(() => resolveStoreRoot(base)).toThrow(OboxError);
    expect(() => resolveStoreRoot(base)).toThrow(/no home directory/);
  });
});
