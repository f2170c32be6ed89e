/**
 * Our own OCI runtime spec generator (no `runc spec`): docker's defaults for a build step, with
 * a rootless variant applied on top by `toRootless`.
 */
import path from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_NOFILE,
  DEVICE_RULES,
  MASKED_PATHS,
  OCI_VERSION,
  READONLY_PATHS,
} from './defaults.js';
import { dedupMounts, defaultMounts, readonlyFileBind, toOciMount } from './mounts.js';
import type { OciDeviceRule, OciSpec } from './oci-types.js';
import { toRootless } from './rootless.js';
import type { NetworkMode, RootlessOptions, RunMount } from './types.js';

export interface SpecInput {
  /** Host path of the root filesystem. */
  rootfs: string;
  args: string[];
  /** The final environment (see buildEnv). */
  env: string[];
  /** Absolute working directory inside the container. */
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  hostname: string;
  network: NetworkMode;
  /** Host paths of the generated files bind-mounted at /etc/hosts and /etc/resolv.conf. */
  hostsFile: string;
  resolvConfFile: string;
  mounts?: RunMount[];
  readonlyRootfs?: boolean;
  /** RLIMIT_NOFILE soft and hard (default DEFAULT_NOFILE). */
  nofile?: number;
  rootless?: RootlessOptions;
}

export function generateSpec(input: SpecInput): OciSpec {
  if (input.args.length === 0) throw new OboxError(ErrorCodes.semantic, 'RUN needs a command');
  if (!path.posix.isAbsolute(input.cwd)) {
    throw new OboxError(ErrorCodes.semantic, `working directory ${JSON.stringify(input.cwd)} must be absolute`);
  }
  const caps = [...DEFAULT_CAPABILITIES];
  const nofile = input.nofile ?? DEFAULT_NOFILE;
  const namespaces: OciSpec['linux']['namespaces'] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (input.network === 'none') namespaces.push({ type: 'network' });

  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: {
        uid: input.user.uid,
        gid: input.user.gid,
        ...(input.user.additionalGids.length > 0 ? { additionalGids: [...input.user.additionalGids] } : {}),
      },
      args: [...input.args],
      env: [...input.env],
      cwd: path.posix.normalize(input.cwd).replace(/(.)\/+$/, '$1'),
      // Not inheritable or ambient: docker stopped setting those (CVE-2022-24769).
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps], inheritable: [], ambient: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile }],
      noNewPrivileges: true,
    },
    root: { path: path.resolve(input.rootfs), readonly: input.readonlyRootfs ?? false },
    hostname: input.hostname,
    mounts: dedupMounts([
      ...defaultMounts(),
      readonlyFileBind(input.hostsFile, '/etc/hosts'),
      readonlyFileBind(input.resolvConfFile, '/etc/resolv.conf'),
      ...(input.mounts ?? []).map(toOciMount),
    ]),
    linux: {
      namespaces,
      devices: [],
      resources: { devices: DEVICE_RULES.map((r) => ({ ...r }) as OciDeviceRule) },
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
  return input.rootless ? toRootless(spec, input.rootless) : spec;
}
