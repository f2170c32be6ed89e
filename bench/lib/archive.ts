/** What an exported image archive holds: its layers compressed or not (read back from the tar). */
import { spawnSync } from 'node:child_process';
import type { ExportInfo } from './report.js';

function member(archive: string, name: string): Buffer | undefined {
  const r = spawnSync('tar', ['-xOf', archive, name], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  return r.status === 0 ? r.stdout : undefined;
}

/** The first bytes of a (possibly large) member, without reading all of it into memory. */
function memberHead(archive: string, name: string): Buffer | undefined {
  const r = spawnSync('bash', ['-c', 'tar -xOf "$1" "$2" | head -c 4', 'bash', archive, name], { timeout: 300_000 });
  return r.stdout && r.stdout.length > 0 ? r.stdout : undefined;
}

/** Samples at most 4 entries (first two, last two): enough to tell gzip from plain tar. */
function sample<T>(xs: readonly T[]): T[] {
  return xs.length <= 4 ? [...xs] : [xs[0]!, xs[1]!, xs[xs.length - 2]!, xs[xs.length - 1]!];
}

function combine(kinds: ReadonlyArray<'gzip' | 'uncompressed' | 'unknown'>): ExportInfo['layers'] {
  if (kinds.length === 0 || kinds.includes('unknown')) return 'unknown';
  return kinds.every((k) => k === kinds[0]) ? kinds[0]! : 'mixed';
}

function headKind(b: Buffer | undefined): 'gzip' | 'uncompressed' | 'unknown' {
  if (!b || b.length < 2) return 'unknown';
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b[0] === 0x28 && b[1] === 0xb5) return 'unknown'; // zstd: not expected from any of the tools
  return 'uncompressed';
}

function mediaKind(mediaType: string): 'gzip' | 'uncompressed' | 'unknown' {
  if (/\+gzip$|\.tar\.gzip$/.test(mediaType)) return 'gzip';
  if (/\.tar$|\.rootfs\.diff\.tar$/.test(mediaType)) return 'uncompressed';
  return 'unknown';
}

/** Layer compression of a docker-archive (manifest.json) or OCI archive (index.json). */
export function archiveLayers(archive: string, format: 'docker' | 'oci'): ExportInfo['layers'] {
  try {
    if (format === 'docker') {
      const m = member(archive, 'manifest.json');
      if (!m) return 'unknown';
      const manifest = JSON.parse(m.toString('utf8')) as Array<{ Layers?: string[] }>;
      const layers = manifest[0]?.Layers ?? [];
      return combine(sample(layers).map((l) => headKind(memberHead(archive, l))));
    }
    const readJson = (name: string): Record<string, unknown> | undefined => {
      const b = member(archive, name);
      return b ? (JSON.parse(b.toString('utf8')) as Record<string, unknown>) : undefined;
    };
    const blob = (digest: string): string => `blobs/${digest.replace(':', '/')}`;
    let doc = readJson('index.json');
    for (let depth = 0; doc && depth < 3; depth++) {
      const layers = doc.layers as Array<{ mediaType: string }> | undefined;
      if (layers) return combine(layers.map((l) => mediaKind(l.mediaType)));
      const first = (doc.manifests as Array<{ digest: string }> | undefined)?.[0];
      doc = first ? (readJson(blob(first.digest)) ?? readJson(`./${blob(first.digest)}`)) : undefined;
    }
    return 'unknown';
  } catch {
    return 'unknown';
  }
}
