/**
 * Platforms (`linux/arm64/v8`): the value type, the host's platform in Go's GOARCH names,
 * and the `os/arch[/variant]` text form.
 */
import { ErrorCodes, OboxError } from '../errors.js';

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
  readonly variant?: string;
}

/** Node's `process.arch` → Go's GOARCH, which image configs use. */
const GOARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/** The platform images are built for by default: linux and this machine's architecture. */
export function hostPlatform(arch: string = process.arch, armVersion?: string): Platform {
  const architecture = GOARCH[arch] ?? arch;
  if (architecture === 'arm') return { architecture, os: 'linux', variant: `v${armVersion ?? '7'}` };
  return { architecture, os: 'linux' };
}

const PART = /^[a-z0-9_.-]+$/i;

/** `linux/amd64`, `linux/arm64/v8`. Normalises the common aliases (x86_64, aarch64). */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !PART.test(p))) {
    throw new OboxError(ErrorCodes.usage, `invalid platform ${JSON.stringify(text)}: expected os/arch[/variant]`);
  }
  const [os, arch, variant] = parts as [string, string, string | undefined];
  const architecture = normaliseArch(arch.toLowerCase());
  return variant === undefined
    ? { os: os.toLowerCase(), architecture }
    : { os: os.toLowerCase(), architecture, variant: variant.toLowerCase() };
}

function normaliseArch(a: string): string {
  switch (a) {
    case 'x86_64':
    case 'x86-64':
      return 'amd64';
    case 'aarch64':
      return 'arm64';
    case 'i386':
      return '386';
    default:
      return a;
  }
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}
