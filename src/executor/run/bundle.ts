/**
 * The OCI bundle of one RUN: config.json plus the generated hosts and resolv.conf it bind-mounts,
 * in a directory of its own under the state directory.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ErrorCodes, OboxError } from '../../errors.js';
import { hostsFileContent, resolvConfContent } from './etc-files.js';
import type { OciSpec } from './oci-types.js';
import { generateSpec, type SpecInput } from './spec.js';

export interface Bundle {
  dir: string;
  /** Where the runtime writes its JSON log. */
  logFile: string;
}

/** Creates `<stateDir>/bundles/<id>`; an existing one means the id is taken. */
export async function createBundleDir(stateDir: string, id: string): Promise<Bundle> {
  const bundlesDir = path.join(path.resolve(stateDir), 'bundles');
  await fsp.mkdir(bundlesDir, { recursive: true, mode: 0o711 });
  const dir = path.join(bundlesDir, id);
  try {
    await fsp.mkdir(dir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new OboxError(ErrorCodes.store, `a container named ${id} already exists under ${stateDir}`);
    }
    throw e;
  }
  return { dir, logFile: path.join(dir, 'runtime-log.json') };
}

/** Writes hosts, resolv.conf and config.json into the bundle; returns the spec written. */
export async function writeBundle(
  bundle: Bundle,
  input: Omit<SpecInput, 'hostsFile' | 'resolvConfFile'>,
  owner?: { uid: number; gid: number },
): Promise<OciSpec> {
  const hostsFile = path.join(bundle.dir, 'hosts');
  const resolvConfFile = path.join(bundle.dir, 'resolv.conf');
  const configFile = path.join(bundle.dir, 'config.json');
  const spec = generateSpec({ ...input, hostsFile, resolvConfFile });
  await fsp.writeFile(hostsFile, hostsFileContent(input.hostname), { mode: 0o644 });
  await fsp.writeFile(resolvConfFile, await resolvConfContent(input.network), { mode: 0o644 });
  await fsp.writeFile(configFile, `${JSON.stringify(spec, null, 2)}\n`, { mode: 0o600 });
  if (owner) {
    for (const p of [bundle.dir, hostsFile, resolvConfFile, configFile]) await fsp.chown(p, owner.uid, owner.gid);
  }
  return spec;
}
