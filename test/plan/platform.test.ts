/**
 * Platforms: parse, normalize, format, and the host default.
 */
import { describe, expect, it } from 'vitest';
import { PlatformError, formatPlatform, hostPlatform, parsePlatform } from '../../src/plan/index.js';
import { AMD64, ARM64 } from './helpers.js';

describe('parsePlatform', () => {
  it('os/arch[/variant], normalized as containerd does', () => {
    const cases: Array<[string, string]> = [
      ['linux/amd64', 'linux/amd64'],
      ['linux/x86_64', 'linux/amd64'],
      ['Linux/AMD64', 'linux/amd64'],
      ['linux/amd64/v1', 'linux/amd64'],
      ['linux/amd64/v3', 'linux/amd64/v3'],
      ['linux/aarch64', 'linux/arm64'],
      ['linux/arm64/v8', 'linux/arm64'],
      ['linux/arm64/v9.0', 'linux/arm64/v9'],
      ['linux/arm', 'linux/arm/v7'],
      ['linux/arm/v7', 'linux/arm/v7'],
      ['linux/arm/6', 'linux/arm/v6'],
      ['linux/armhf', 'linux/arm/v7'],
      ['linux/armel', 'linux/arm/v6'],
      ['linux/i386', 'linux/386'],
      ['linux/riscv64', 'linux/riscv64'],
      ['linux/s390x', 'linux/s390x'],
      ['linux/ppc64le', 'linux/ppc64le'],
      ['windows/amd64', 'windows/amd64'],
      ['macos/arm64', 'darwin/arm64'],
    ];
    for (const [text, want] of cases) expect(formatPlatform(parsePlatform(text, AMD64)), text).toBe(want);
  });
  it('a lone OS takes the host architecture; a lone architecture means linux', () => {
    expect(parsePlatform('linux', ARM64)).toEqual(ARM64);
    expect(parsePlatform('arm64', AMD64)).toEqual(ARM64);
    expect(parsePlatform('x86_64', ARM64)).toEqual(AMD64);
    expect(parsePlatform('armhf', AMD64)).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
  });
  it('rejects what is not a platform', () => {
    for (const bad of ['', 'linux/', '/amd64', 'linux/amd64/v8/x', 'toaster', 'linux amd64', 'linux/*']) {
      expect(() => parsePlatform(bad, AMD64), bad).toThrow(PlatformError);
    }
    expect(() => parsePlatform('toaster', AMD64)).toThrow('"toaster": unknown operating system or architecture');
  });
});

describe('formatPlatform', () => {
  it('leaves out an empty variant', () => {
    expect(formatPlatform(AMD64)).toBe('linux/amd64');
    expect(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' })).toBe('linux/arm/v7');
  });
});

describe('hostPlatform', () => {
  it('maps Node architectures to OCI names, always linux', () => {
    expect(hostPlatform('x64')).toEqual(AMD64);
    expect(hostPlatform('arm64')).toEqual(ARM64);
    expect(hostPlatform('arm', '7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(hostPlatform('arm', '6')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(hostPlatform('ia32')).toEqual({ os: 'linux', architecture: '386', variant: '' });
    expect(hostPlatform('ppc64')).toEqual({ os: 'linux', architecture: 'ppc64le', variant: '' });
    expect(hostPlatform('s390x')).toEqual({ os: 'linux', architecture: 's390x', variant: '' });
    expect(hostPlatform('riscv64')).toEqual({ os: 'linux', architecture: 'riscv64', variant: '' });
  });
  it('defaults to this process', () => {
    expect(hostPlatform().os).toBe('linux');
    expect(hostPlatform().architecture).not.toBe('');
  });
});
