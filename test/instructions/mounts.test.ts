/**
 * RUN --mount: field parsing and the typed mounts with BuildKit's per-type defaults.
 */
import { describe, expect, it } from 'vitest';
import { MountError, MountResolveError, parseMountSpec, parseRamSize, resolveMounts, type RunMount } from '../../src/instructions/index.js';
import { splitCsvRecord } from '../../src/instructions/mounts.js';
import { thrown } from './helpers.js';

const mount = (...texts: string[]): RunMount[] => resolveMounts(texts.map(parseMountSpec));

describe('splitCsvRecord', () => {
  it('reads fields as Go encoding/csv does', () => {
    expect(splitCsvRecord('a,b=c,,d')).toEqual(['a', 'b=c', '', 'd']);
    expect(splitCsvRecord('"target=/a,b",ro')).toEqual(['target=/a,b', 'ro']);
    expect(splitCsvRecord('"x ""quoted"""')).toEqual(['x "quoted"']);
  });
  it('rejects stray quotes', () => {
    expect(() => splitCsvRecord('a"b')).toThrow(MountError);
    expect(() => splitCsvRecord('"ab')).toThrow(/extraneous or missing "/);
    expect(() => splitCsvRecord('"ab"c')).toThrow(/extraneous or missing "/);
  });
});

describe('parseMountSpec', () => {
  it('lowercases keys and keeps values as written', () => {
    expect(parseMountSpec('Type=Cache,TARGET=$HOME,RO')).toEqual({
      text: 'Type=Cache,TARGET=$HOME,RO',
      fields: [
        { key: 'type', value: 'Cache' },
        { key: 'target', value: '$HOME' },
        { key: 'ro', value: undefined },
      ],
    });
  });
  it('allows a trailing $ in from= (not a variable), as BuildKit does', () => {
    expect(parseMountSpec('from=stage$').fields[0]).toEqual({ key: 'from', value: 'stage$' });
    expect(() => parseMountSpec('from=${STAGE}')).toThrow(/doesn't support variable expansion/);
  });
});

describe('resolveMounts defaults', () => {
  it('bind (the default type): read-only, source /, the build context', () => {
    expect(mount('target=/src')).toEqual([{ type: 'bind', target: '/src', source: '/', from: undefined, readOnly: true }]);
    expect(mount('type=bind,target=/src,source=app,from=build,rw')).toEqual([{ type: 'bind', target: '/src', source: 'app', from: 'build', readOnly: false }]);
    expect(mount('type=bind,dst=/src,readwrite=true')[0]).toMatchObject({ readOnly: false });
    expect(mount('type=bind,destination=/src,readonly=false')[0]).toMatchObject({ target: '/src', readOnly: false });
  });
  it('cache: id defaults to the target, shared, writable, 0755 root', () => {
    expect(mount('type=cache,target=/root/.cache')).toEqual([
      { type: 'cache', target: '/root/.cache', id: '/root/.cache', sharing: 'shared', from: undefined, source: '/', readOnly: false, mode: 0o755, uid: 0, gid: 0 },
    ]);
    expect(mount('type=cache,target=/c,id=go,sharing=LOCKED,mode=0700,uid=1000,gid=100,ro,from=seed,src=/cache')[0]).toEqual({
      type: 'cache',
      target: '/c',
      id: 'go',
      sharing: 'locked',
      from: 'seed',
      source: '/cache',
      readOnly: true,
      mode: 0o700,
      uid: 1000,
      gid: 100,
    });
  });
  it('tmpfs: a size in bytes when given', () => {
    expect(mount('type=tmpfs,target=/tmp')).toEqual([{ type: 'tmpfs', target: '/tmp', size: undefined }]);
    expect(mount('type=tmpfs,target=/tmp,size=64m')[0]).toMatchObject({ size: 64 * 1024 * 1024 });
  });
  it('secret: id from the target name, target from the id, 0400, env alone mounts no file', () => {
    expect(mount('type=secret,id=npmrc')).toEqual([{ type: 'secret', id: 'npmrc', target: '/run/secrets/npmrc', env: undefined, required: false, mode: 0o400, uid: 0, gid: 0 }]);
    expect(mount('type=secret,target=/root/.aws/credentials,required')[0]).toMatchObject({ id: 'credentials', target: '/root/.aws/credentials', required: true });
    expect(mount('type=secret,source=legacy')[0]).toMatchObject({ id: 'legacy', target: '/run/secrets/legacy' });
    expect(mount('type=secret,id=token,env=TOKEN')[0]).toMatchObject({ id: 'token', target: undefined, env: 'TOKEN' });
    expect(mount('type=secret,id=token,env=TOKEN,target=/t')[0]).toMatchObject({ target: '/t', env: 'TOKEN' });
    expect(mount('type=secret,id=k,required=false,mode=0444,uid=1,gid=2')[0]).toMatchObject({ required: false, mode: 0o444, uid: 1, gid: 2 });
  });
  it('ssh: id default, agent sockets numbered per RUN, 0600', () => {
    expect(mount('type=ssh', 'type=cache,target=/c', 'type=ssh,id=github,required')).toEqual([
      { type: 'ssh', id: 'default', target: '/run/buildkit/ssh_agent.0', required: false, mode: 0o600, uid: 0, gid: 0 },
      expect.objectContaining({ type: 'cache' }),
      { type: 'ssh', id: 'github', target: '/run/buildkit/ssh_agent.1', required: true, mode: 0o600, uid: 0, gid: 0 },
    ]);
    expect(mount('type=ssh,target=/agent.sock')[0]).toMatchObject({ target: '/agent.sock' });
  });
  it('the last type= wins and key order does not matter', () => {
    expect(mount('required,type=secret,id=x')[0]).toMatchObject({ type: 'secret', required: true });
    expect(mount('type=bind,type=tmpfs,target=/t')[0]).toMatchObject({ type: 'tmpfs' });
  });
  it('reports which mount is wrong', () => {
    const e = thrown(() => mount('type=cache,target=/a', 'type=bind'));
    expect(e).toBeInstanceOf(MountResolveError);
    expect((e as MountResolveError).index).toBe(1);
  });
});

describe('parseRamSize', () => {
  it('binary multiples, optional i/b suffixes, plain bytes', () => {
    expect(parseRamSize('1024')).toBe(1024);
    expect(parseRamSize('1k')).toBe(1024);
    expect(parseRamSize('64MiB')).toBe(64 * 1024 ** 2);
    expect(parseRamSize('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseRamSize('2 Gb')).toBe(2 * 1024 ** 3);
    expect(parseRamSize('1T')).toBe(1024 ** 4);
  });
  it('rejects what go-units rejects', () => {
    for (const bad of ['', 'lots', '1.2.3m', '-1m', '1x', '1mm']) expect(() => parseRamSize(bad)).toThrow(MountError);
  });
});
