/**
 * The image config blob (OCI `application/vnd.oci.image.config.v1+json`, Docker
 * `application/vnd.docker.container.image.v1+json`): platform, the container defaults
 * (`config`), the layer chain (`rootfs.diff_ids`) and history.
 *
 * Reading keeps the fields below and drops the rest (docker's `container_config`,
 * `docker_version`, …), as BuildKit does. Writing is byte-for-byte what BuildKit's exporter
 * emits: top-level keys sorted (it patches the config through a Go map), the container config
 * in docker-image-spec struct order, history entries in image-spec order.
 */
import {
  encodeJsonBytes,
  goMap,
  omitEmptyArray,
  omitEmptyMap,
  omitEmptyString,
  struct,
  type JsonObject,
} from './canonical-json.js';
import { readDigest } from './descriptor.js';
import type { Digest } from './digest.js';
import {
  fail,
  join,
  optBoolean,
  optInteger,
  optKeySet,
  optString,
  optStringArray,
  optStringMap,
  parseJsonText,
  readArray,
  readObject,
  reqString,
  type EmptyObject,
  type ReadContext,
} from './json-read.js';
import type { Platform } from './platform.js';

/** Docker's HEALTHCHECK settings. Durations are integer nanoseconds; 0 / absent means inherit. */
export interface HealthConfig {
  readonly Test?: readonly string[];
  readonly Interval?: number;
  readonly Timeout?: number;
  readonly StartPeriod?: number;
  readonly StartInterval?: number;
  readonly Retries?: number;
}

/** The `config` section: defaults for containers run from the image. */
export interface ContainerConfig {
  readonly User?: string;
  /** Keys like `80/tcp`; values are always `{}`. */
  readonly ExposedPorts?: Readonly<Record<string, EmptyObject>>;
  readonly Env?: readonly string[];
  readonly Entrypoint?: readonly string[];
  readonly Cmd?: readonly string[];
  readonly Volumes?: Readonly<Record<string, EmptyObject>>;
  readonly WorkingDir?: string;
  readonly Labels?: Readonly<Record<string, string>>;
  readonly StopSignal?: string;
  readonly ArgsEscaped?: boolean;
  readonly Healthcheck?: HealthConfig;
  readonly OnBuild?: readonly string[];
  readonly Shell?: readonly string[];
}

export interface RootFS {
  readonly type: 'layers';
  readonly diff_ids: readonly Digest[];
}

export interface HistoryEntry {
  /** RFC 3339 timestamp. */
  readonly created?: string;
  readonly created_by?: string;
  readonly author?: string;
  readonly comment?: string;
  /** True for steps that changed only metadata (ENV, CMD, …) and made no layer. */
  readonly empty_layer?: boolean;
}

/** The whole config blob. */
export interface ImageConfig extends Platform {
  readonly created?: string;
  readonly author?: string;
  readonly config?: ContainerConfig;
  readonly rootfs: RootFS;
  readonly history?: readonly HistoryEntry[];
}

const CTX: ReadContext = { what: 'image config' };

/** RFC 3339 as Go's time.Time reads it (upper-case T and Z; fraction optional). */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

export function isRfc3339(s: string): boolean {
  const m = RFC3339.exec(s);
  if (!m) return false;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const offH = m[7] === undefined ? 0 : Number(m[7]);
  const offM = m[8] === undefined ? 0 : Number(m[8]);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 60 && offH <= 23 && offM <= 59;
}

function optTimestamp(ctx: ReadContext, o: Readonly<Record<string, unknown>>, key: string, path: string): string | undefined {
  const s = optString(ctx, o, key, path);
  if (s !== undefined && !isRfc3339(s)) fail(ctx, join(path, key), `expected an RFC 3339 timestamp, got ${JSON.stringify(s)}`);
  return s;
}

/** Drop undefined values so parsed objects carry only the fields present. */
function defined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

function parseHealth(ctx: ReadContext, v: unknown, path: string): HealthConfig {
  const o = readObject(ctx, v, path);
  return defined({
    Test: optStringArray(ctx, o, 'Test', path),
    Interval: optInteger(ctx, o, 'Interval', path, 0),
    Timeout: optInteger(ctx, o, 'Timeout', path, 0),
    StartPeriod: optInteger(ctx, o, 'StartPeriod', path, 0),
    StartInterval: optInteger(ctx, o, 'StartInterval', path, 0),
    Retries: optInteger(ctx, o, 'Retries', path, 0),
  });
}

export function parseContainerConfig(ctx: ReadContext, v: unknown, path: string): ContainerConfig {
  const o = readObject(ctx, v, path);
  return defined({
    User: optString(ctx, o, 'User', path),
    ExposedPorts: optKeySet(ctx, o, 'ExposedPorts', path),
    Env: optStringArray(ctx, o, 'Env', path),
    Entrypoint: optStringArray(ctx, o, 'Entrypoint', path),
    Cmd: optStringArray(ctx, o, 'Cmd', path),
    Volumes: optKeySet(ctx, o, 'Volumes', path),
    WorkingDir: optString(ctx, o, 'WorkingDir', path),
    Labels: optStringMap(ctx, o, 'Labels', path),
    StopSignal: optString(ctx, o, 'StopSignal', path),
    ArgsEscaped: optBoolean(ctx, o, 'ArgsEscaped', path),
    Healthcheck: o.Healthcheck === undefined || o.Healthcheck === null ? undefined : parseHealth(ctx, o.Healthcheck, join(path, 'Healthcheck')),
    OnBuild: optStringArray(ctx, o, 'OnBuild', path),
    Shell: optStringArray(ctx, o, 'Shell', path),
  });
}

function parseHistory(ctx: ReadContext, v: unknown, path: string): HistoryEntry {
  const o = readObject(ctx, v, path);
  return defined({
    created: optTimestamp(ctx, o, 'created', path),
    created_by: optString(ctx, o, 'created_by', path),
    author: optString(ctx, o, 'author', path),
    comment: optString(ctx, o, 'comment', path),
    empty_layer: optBoolean(ctx, o, 'empty_layer', path),
  });
}

export function parseImageConfig(json: unknown): ImageConfig {
  const o = readObject(CTX, json, '');
  const architecture = reqString(CTX, o, 'architecture', '');
  const os = reqString(CTX, o, 'os', '');
  if (o.rootfs === undefined || o.rootfs === null) fail(CTX, 'rootfs', 'required field is missing');
  const rootfsObj = readObject(CTX, o.rootfs, 'rootfs');
  const type = reqString(CTX, rootfsObj, 'type', 'rootfs');
  if (type !== 'layers') fail(CTX, 'rootfs.type', `must be "layers", got ${JSON.stringify(type)}`);
  const diffIdsRaw = rootfsObj.diff_ids;
  // Go writes a nil slice as null: an image without layers may say `"diff_ids":null`.
  const diffIds =
    diffIdsRaw === undefined || diffIdsRaw === null
      ? []
      : readArray(CTX, diffIdsRaw, 'rootfs.diff_ids').map((d, i) => readDigest(CTX, d, join('rootfs.diff_ids', i)));
  const history =
    o.history === undefined || o.history === null
      ? undefined
      : readArray(CTX, o.history, 'history').map((h, i) => parseHistory(CTX, h, join('history', i)));
  return defined({
    created: optTimestamp(CTX, o, 'created', ''),
    author: optString(CTX, o, 'author', ''),
    architecture,
    os,
    'os.version': optString(CTX, o, 'os.version', ''),
    'os.features': optStringArray(CTX, o, 'os.features', ''),
    variant: optString(CTX, o, 'variant', ''),
    config: o.config === undefined || o.config === null ? undefined : parseContainerConfig(CTX, o.config, 'config'),
    rootfs: { type: 'layers', diff_ids: diffIds },
    history,
  });
}

export function parseImageConfigBytes(data: Uint8Array | string): ImageConfig {
  return parseImageConfig(parseJsonText(CTX, data));
}

const keySet = (): JsonObject => struct([]);
const str = (s: string): string => s;

function healthJson(h: HealthConfig): JsonObject {
  const positive = (n: number | undefined): number | undefined => (n === undefined || n === 0 ? undefined : n);
  return struct([
    ['Test', omitEmptyArray(h.Test)],
    ['Interval', positive(h.Interval)],
    ['Timeout', positive(h.Timeout)],
    ['StartPeriod', positive(h.StartPeriod)],
    ['StartInterval', positive(h.StartInterval)],
    ['Retries', positive(h.Retries)],
  ]);
}

/** docker-image-spec `DockerOCIImageConfig` order: image-spec `ImageConfig`, then Healthcheck, OnBuild, Shell. */
export function containerConfigJson(c: ContainerConfig): JsonObject {
  const ports = omitEmptyMap(c.ExposedPorts);
  const volumes = omitEmptyMap(c.Volumes);
  const labels = omitEmptyMap(c.Labels);
  return struct([
    ['User', omitEmptyString(c.User)],
    ['ExposedPorts', ports && goMap(ports, keySet)],
    ['Env', omitEmptyArray(c.Env)],
    ['Entrypoint', omitEmptyArray(c.Entrypoint)],
    ['Cmd', omitEmptyArray(c.Cmd)],
    ['Volumes', volumes && goMap(volumes, keySet)],
    ['WorkingDir', omitEmptyString(c.WorkingDir)],
    ['Labels', labels && goMap(labels, str)],
    ['StopSignal', omitEmptyString(c.StopSignal)],
    ['ArgsEscaped', c.ArgsEscaped ? true : undefined],
    ['Healthcheck', c.Healthcheck && healthJson(c.Healthcheck)],
    ['OnBuild', omitEmptyArray(c.OnBuild)],
    ['Shell', omitEmptyArray(c.Shell)],
  ]);
}

export function historyJson(h: HistoryEntry): JsonObject {
  return struct([
    ['created', omitEmptyString(h.created)],
    ['created_by', omitEmptyString(h.created_by)],
    ['author', omitEmptyString(h.author)],
    ['comment', omitEmptyString(h.comment)],
    ['empty_layer', h.empty_layer ? true : undefined],
  ]);
}

/** Canonical config bytes (see the module comment for the key order). */
export function serializeImageConfig(c: ImageConfig): Uint8Array {
  // Keys in Go map order (sorted bytes): BuildKit's exporter re-marshals the config as a map.
  return encodeJsonBytes(
    struct([
      ['architecture', c.architecture],
      ['author', omitEmptyString(c.author)],
      ['config', containerConfigJson(c.config ?? {})],
      ['created', omitEmptyString(c.created)],
      ['history', omitEmptyArray(c.history)?.map(historyJson)],
      ['os', c.os],
      ['os.features', omitEmptyArray(c['os.features'])],
      ['os.version', omitEmptyString(c['os.version'])],
      ['rootfs', struct([['type', 'layers'], ['diff_ids', [...c.rootfs.diff_ids]]])],
      ['variant', omitEmptyString(c.variant)],
    ]),
  );
}
