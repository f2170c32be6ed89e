#!/usr/bin/env node
// Builds native/ (obox's N-API addon) with node-gyp against the headers of the Node running
// this script, so no header download (and no network) is ever needed.
// Called from package.json's "build" script; npm puts its bundled node-gyp on PATH there.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');

// Node's headers: <prefix>/include/node/node_api.h, the prefix being where this node lives.
function findNodeDir() {
  const candidates = [process.env.npm_config_nodedir, resolve(dirname(process.execPath), '..'), '/usr', '/usr/local'];
  for (const c of candidates) {
    if (c && existsSync(join(c, 'include', 'node', 'node_api.h'))) return c;
  }
  return undefined;
}

// node-gyp: the one npm put on PATH, else npm's bundled copy beside this node.
function nodeGypCommand() {
  const bundled = [
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].find((p) => existsSync(p));
  const onPath = spawnSync('sh', ['-c', 'command -v node-gyp'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim()) return { cmd: onPath.stdout.trim(), pre: [] };
  if (bundled) return { cmd: process.execPath, pre: [bundled] };
  return undefined;
}

const nodedir = findNodeDir();
const gyp = nodeGypCommand();
if (!gyp) {
  console.error('build-native: node-gyp not found (it ships with npm; run this through `npm run build`)');
  process.exit(1);
}
const args = [...gyp.pre, 'rebuild', '--directory', nativeDir, '--loglevel=warn'];
if (nodedir) args.push(`--nodedir=${nodedir}`);
else console.error('build-native: Node headers not found locally; node-gyp may try to download them');
const r = spawnSync(gyp.cmd, args, { stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`build-native: node-gyp failed (exit ${r.status ?? r.signal})`);
  process.exit(r.status ?? 1);
}

// The launcher behind bin/obox (native/launcher/obox-launch.c): a plain C program, built after
// node-gyp (whose `rebuild` empties native/build/).
const cc = process.env.CC || 'cc';
const launcher = spawnSync(
  cc,
  ['-O2', '-std=c11', '-Wall', '-Wextra', '-Werror', '-o', join(nativeDir, 'build', 'obox-launch'), join(nativeDir, 'launcher', 'obox-launch.c')],
  { stdio: 'inherit' },
);
if (launcher.status !== 0) {
  console.error(`build-native: ${cc} failed to build the launcher (exit ${launcher.status ?? launcher.signal})`);
  process.exit(launcher.status ?? 1);
}
