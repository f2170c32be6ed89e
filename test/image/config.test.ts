import { describe, expect, it } from 'vitest';
import { ErrorCodes, OboxError } from '../../src/errors.js';
import { isRfc3339, parseImageConfig, parseImageConfigBytes, serializeImageConfig, type ImageConfig } from '../../src/image/config.js';
import { Digest } from '../../src/image/digest.js';
import { expectGolden } from '../helpers/golden.js';
import { BUILDKIT_CONFIG, DIFF1, DIFF2 } from './fixtures.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const golden = (name: string): string => new URL(`golden/${name}`, import.meta.url).pathname;

/** The config `docker build` (classic builder) writes: extra fields, nulls everywhere. */
const CLASSIC_DOCKER_CONFIG = {
  architecture: 'amd64',
  config: {
    Hostname: '',
    Domainname: '',
    User: '',
    AttachStdin: false,
    Tty: false,
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    Cmd: ['sh'],
    Image: 'sha256:abc',
    Volumes: null,
    WorkingDir: '',
    Entrypoint: null,
    OnBuild: null,
    Labels: null,
  },
  container: '8f2c2f0c',
  container_config: { Hostname: '8f2c2f0c', Cmd: ['/bin/sh', '-c', '#(nop) ', 'CMD ["sh"]'] },
  created: '2023-05-19T20:19:21.231354384Z',
  docker_version: '20.10.23',
  history: [
    { created: '2023-05-19T20:19:20.985424543Z', created_by: '/bin/sh -c #(nop) ADD file:abc in / ' },
    { created: '2023-05-19T20:19:21.231354384Z', created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
  ],
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [DIFF1] },
};

function rejects(json: unknown, message: RegExp): void {
  let caught: unknown;
  try {
    parseImageConfig(json);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(OboxError);
  expect((caught as OboxError).code).toBe(ErrorCodes.invalidArchive);
  expect((caught as OboxError).message).toMatch(message);
}

describe('image config', () => {
  it('round-trips BuildKit config bytes exactly, so the image ID is stable', () => {
    const c = parseImageConfigBytes(BUILDKIT_CONFIG);
    expect(c.rootfs.diff_ids).toEqual([DIFF1, DIFF2]);
    expect(c.history?.[1]).toEqual({ created: '2023-07-18T23:19:33.655005962Z', created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true });
    expect(text(serializeImageConfig(c))).toBe(BUILDKIT_CONFIG);
    expect(Digest.of(serializeImageConfig(c))).toBe(Digest.of(BUILDKIT_CONFIG));
  });

  it('reads a classic docker config, dropping docker-only fields and nulls', () => {
    const c = parseImageConfig(CLASSIC_DOCKER_CONFIG);
    expect(c.config).toEqual({ User: '', Env: CLASSIC_DOCKER_CONFIG.config.Env, Cmd: ['sh'], WorkingDir: '' });
    expect(c).not.toHaveProperty('container_config');
    expect(text(serializeImageConfig(c))).toBe(
      '{"architecture":"amd64","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},' +
        '"created":"2023-05-19T20:19:21.231354384Z","history":[{"created":"2023-05-19T20:19:20.985424543Z","created_by":"/bin/sh -c #(nop) ADD file:abc in / "},' +
        '{"created":"2023-05-19T20:19:21.231354384Z","created_by":"/bin/sh -c #(nop)  CMD [\\"sh\\"]","empty_layer":true}],' +
        `"os":"linux","rootfs":{"type":"layers","diff_ids":["${DIFF1}"]}}`,
    );
  });

  it('writes every field in BuildKit order (golden)', () => {
    const c: ImageConfig = {
      created: '2024-02-29T12:00:00Z',
      author: 'someone <a@b>',
      architecture: 'arm64',
      os: 'linux',
      'os.version': '1.0',
      'os.features': ['f1'],
      variant: 'v8',
      config: {
        Shell: ['/bin/bash', '-c'],
        OnBuild: ['RUN echo hi'],
        Healthcheck: { Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], Interval: 30_000_000_000, Retries: 3, Timeout: 0 },
        ArgsEscaped: true,
        StopSignal: 'SIGTERM',
        Labels: { 'org.example.b': '2', 'org.example.a': '1' },
        WorkingDir: '/app',
        Volumes: { '/data': {} },
        Cmd: ['serve'],
        Entrypoint: ['/app/bin'],
        Env: ['A=1', 'B=<&>'],
        ExposedPorts: { '8080/tcp': {}, '443/tcp': {}, '53/udp': {} },
        User: '1000:1000',
      },
      rootfs: { type: 'layers', diff_ids: [DIFF1] },
      history: [{ empty_layer: false, comment: 'c', author: 'a', created_by: 'RUN x', created: '2024-02-29T12:00:00Z' }],
    };
    const bytes = serializeImageConfig(c);
    expectGolden(text(bytes), golden('config-full.json'));
    const again = parseImageConfigBytes(bytes);
    expect(text(serializeImageConfig(again))).toBe(text(bytes));
  });

  it('writes an empty config section and diff_ids even when empty', () => {
    expect(text(serializeImageConfig({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }))).toBe(
      '{"architecture":"amd64","config":{},"os":"linux","rootfs":{"type":"layers","diff_ids":[]}}',
    );
  });

  it('reads diff_ids: null (Go nil slice) as no layers', () => {
    expect(parseImageConfig({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: null } }).rootfs.diff_ids).toEqual([]);
  });

  const valid = (): Record<string, unknown> => JSON.parse(BUILDKIT_CONFIG) as Record<string, unknown>;

  it.each<[string, (j: Record<string, unknown>) => void, RegExp]>([
    ['missing architecture', (j) => delete j.architecture, /image config: architecture: required/],
    ['missing os', (j) => delete j.os, /os: required/],
    ['missing rootfs', (j) => delete j.rootfs, /rootfs: required/],
    ['rootfs type other than layers', (j) => ((j.rootfs as Record<string, unknown>).type = 'tarsum'), /rootfs\.type: must be "layers"/],
    ['a bad diff_id', (j) => ((j.rootfs as Record<string, unknown>).diff_ids = ['sha256:nope']), /rootfs\.diff_ids\[0\]/],
    ['Env not strings', (j) => ((j.config as Record<string, unknown>).Env = [1]), /config\.Env\[0\]: expected a string/],
    ['ExposedPorts with non-object values', (j) => ((j.config as Record<string, unknown>).ExposedPorts = { '80/tcp': true }), /config\.ExposedPorts\.80\/tcp: expected an object/],
    ['ArgsEscaped a string', (j) => ((j.config as Record<string, unknown>).ArgsEscaped = 'yes'), /config\.ArgsEscaped: expected true or false/],
    ['a negative healthcheck interval', (j) => ((j.config as Record<string, unknown>).Healthcheck = { Interval: -1 }), /config\.Healthcheck\.Interval: must be at least 0/],
    ['a bad created time', (j) => (j.created = 'yesterday'), /created: expected an RFC 3339 timestamp/],
    ['a bad history time', (j) => ((j.history as Record<string, unknown>[])[2]!.created = '2023-13-01T00:00:00Z'), /history\[2\]\.created/],
    ['history not an array', (j) => (j.history = {}), /history: expected an array/],
  ])('rejects %s', (_n, change, message) => {
    const j = valid();
    change(j);
    rejects(j, message);
  });

  it.each([
    ['2023-11-01T13:32:07.782534085Z', true],
    ['2023-04-19T09:03:58.935540517+02:00', true],
    ['0001-01-01T00:00:00Z', true],
    ['2023-11-01 13:32:07Z', false],
    ['2023-11-01T13:32:07', false],
    ['2023-11-01T25:00:00Z', false],
  ])('RFC 3339 %s → %s', (s, ok) => {
    expect(isRfc3339(s)).toBe(ok);
  });
});
