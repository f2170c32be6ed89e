/**
 * Values checked after expansion (EXPOSE ports, USER), Go durations and "did you mean".
 */
import { describe, expect, it } from 'vitest';
import { DurationError, ValueError, editDistance, parseExposePort, parseGoDuration, parseUserSpec, suggest } from '../../src/instructions/index.js';

describe('parseExposePort', () => {
  it('port, protocol (default tcp, lowercased) and ranges', () => {
    expect(parseExposePort('80')).toEqual(['80/tcp']);
    expect(parseExposePort('53/UDP')).toEqual(['53/udp']);
    expect(parseExposePort('9000/sctp')).toEqual(['9000/sctp']);
    expect(parseExposePort('8000-8002/tcp')).toEqual(['8000/tcp', '8001/tcp', '8002/tcp']);
    expect(parseExposePort('0')).toEqual(['0/tcp']);
    expect(parseExposePort('65535')).toEqual(['65535/tcp']);
  });
  it('rejects bad ports, protocols, ranges and host parts', () => {
    expect(() => parseExposePort('http')).toThrow('invalid containerPort: http');
    expect(() => parseExposePort('65536')).toThrow('invalid containerPort: 65536');
    expect(() => parseExposePort('80/icmp')).toThrow('invalid proto: icmp');
    expect(() => parseExposePort('90-80')).toThrow('invalid range specified for container port: 90-80');
    expect(() => parseExposePort('/tcp')).toThrow(ValueError);
    expect(() => parseExposePort('127.0.0.1:80:80')).toThrow(/IP or host port/);
  });
});

describe('parseUserSpec', () => {
  it('user and optional group', () => {
    expect(parseUserSpec('app')).toEqual({ user: 'app', group: undefined });
    expect(parseUserSpec('1000:1000')).toEqual({ user: '1000', group: '1000' });
    expect(parseUserSpec('app:')).toEqual({ user: 'app', group: '' });
    expect(() => parseUserSpec(':staff')).toThrow(ValueError);
  });
});

describe('parseGoDuration', () => {
  it('reads what Go reads, in nanoseconds', () => {
    const cases: Array<[string, number]> = [
      ['0', 0],
      ['5s', 5e9],
      ['1m30s', 90e9],
      ['1.5h', 5400e9],
      ['.5s', 5e8],
      ['5.s', 5e9],
      ['300ms', 3e8],
      ['10us', 1e4],
      ['10µs', 1e4],
      ['10μs', 1e4],
      ['7ns', 7],
      ['-2s', -2e9],
      ['+2s', 2e9],
      ['1h2m3s4ms', 3723004e6],
    ];
    for (const [text, ns] of cases) expect(parseGoDuration(text), text).toBe(ns);
  });
  it('rejects what Go rejects, with Go wording', () => {
    expect(() => parseGoDuration('')).toThrow('invalid duration ""');
    expect(() => parseGoDuration('5')).toThrow('missing unit in duration "5"');
    expect(() => parseGoDuration('5d')).toThrow('unknown unit "d" in duration "5d"');
    expect(() => parseGoDuration('.s')).toThrow(DurationError);
    expect(() => parseGoDuration('s')).toThrow(DurationError);
    expect(() => parseGoDuration('1s ')).toThrow(DurationError);
    expect(() => parseGoDuration('3000000h')).toThrow('invalid duration "3000000h"');
  });
});

describe('suggest', () => {
  it('finds the closest option within two edits', () => {
    expect(suggest('frm', ['from', 'chown'])).toBe('from');
    expect(suggest('form', ['from', 'chown'])).toBe('from');
    expect(suggest('COPPY', ['COPY', 'ADD'])).toBe('COPY');
    expect(suggest('wrkdir', ['WORKDIR'])).toBe('WORKDIR');
  });
  it('suggests nothing for exact matches, far values or tiny ones', () => {
    expect(suggest('from', ['from'])).toBeUndefined();
    expect(suggest('zzzzzz', ['from', 'chown'])).toBeUndefined();
    expect(suggest('x', ['a', 'b'])).toBeUndefined();
  });
  it('can be case-sensitive', () => {
    expect(suggest('FROM', ['from'], true)).toBeUndefined();
  });
  it('counts a transposition as one edit', () => {
    expect(editDistance('form', 'from')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});
