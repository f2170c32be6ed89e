/**
 * OCI platforms: `linux/amd64`, `linux/arm/v7`, parsed and normalized the way containerd's
 * `platforms.Parse` + `Normalize` do (x86_64 → amd64, aarch64 → arm64, arm → arm/v7, arm64/v8 →
 * arm64), and the host's platform from `process.arch`.
 */

export interface Platform {
  os: string;
  architecture: string;
  /** Empty when none (`linux/amd64`). */
  variant: string;
}

export class PlatformError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlatformError';
  }
}

const KNOWN_OS = new Set([
  'aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'wasip1', 'windows', 'zos',
]);
const KNOWN_ARCH = new Set([
  '386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'loong64', 'mips', 'mipsle', 'mips64', 'mips64le', 'mips64p32', 'mips64p32le',
  'ppc', 'ppc64', 'ppc64le', 'riscv', 'riscv64', 's390', 's390x', 'sparc', 'sparc64', 'wasm',
]);
const COMPONENT = /^[A-Za-z0-9_.-]+$/;

function normalizeOS(os: string): string {
  const lower = os.toLowerCase();
  return lower === 'macos' ? 'darwin' : lower;
}

/** containerd's normalizeArch followed by Normalize's variant rules. */
function normalizeArch(arch: string, variant: string): { architecture: string; variant: string } {
  let a = arch.toLowerCase();
  let v = variant.toLowerCase();
  switch (a) {
    case 'i386':
      a = '386';
      v = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      a = 'amd64';
      if (v === 'v1') v = '';
      break;
    case 'aarch64':
    case 'arm64':
      a = 'arm64';
      if (v === '8' || v === 'v8' || v === 'v8.0') v = '';
      else if (v === '9' || v === '9.0' || v === 'v9.0') v = 'v9';
      break;
    case 'armhf':
      a = 'arm';
      v = 'v7';
      break;
    case 'armel':
      a = 'arm';
      v = 'v6';
      break;
    case 'arm':
      if (v === '' || v === '7') v = 'v7';
      else if (v === '5' || v === '6' || v === '8') v = `v${v}`;
      break;
  }
  return { architecture: a, variant: v };
}

/**
 * `os[/arch[/variant]]`, or a lone OS (host architecture) or a lone architecture (linux).
 * Throws {@link PlatformError}.
 */
export function parsePlatform(text: string, host: Platform = hostPlatform()): Platform {
  const parts = text.split('/');
  if (text === '' || parts.length > 3 || !parts.every((p) => COMPONENT.test(p))) {
    throw new PlatformError(`${JSON.stringify(text)}: invalid platform, expected os[/arch[/variant]] such as linux/amd64 or linux/arm/v7`);
  }
  if (parts.length === 1) {
    const os = normalizeOS(parts[0]!);
    if (KNOWN_OS.has(os)) return { os, architecture: host.architecture, variant: host.variant };
    const arch = normalizeArch(parts[0]!, '');
    if (KNOWN_ARCH.has(arch.architecture)) return { os: 'linux', ...arch };
    throw new PlatformError(`${JSON.stringify(text)}: unknown operating system or architecture`);
  }
  return { os: normalizeOS(parts[0]!), ...normalizeArch(parts[1]!, parts[2] ?? '') };
}

/** `linux/amd64`, `linux/arm/v7`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((s) => s !== '').join('/');
}

const NODE_ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/**
 * The platform images are built for by default: linux on this machine's architecture.
 * `arch` is a Node `process.arch` value; `armVersion` is Node's `arm_version` (for the variant).
 */
export function hostPlatform(arch: string = process.arch, armVersion: string | undefined = armVersionOfNode()): Platform {
  const architecture = NODE_ARCH[arch] ?? arch;
  return { os: 'linux', ...normalizeArch(architecture, architecture === 'arm' ? (armVersion ?? '7') : '') };
}

function armVersionOfNode(): string | undefined {
  const variables = (process.config as { variables?: Record<string, unknown> }).variables;
  const v = variables?.['arm_version'];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}
