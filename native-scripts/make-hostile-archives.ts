/**
 * Generates fixtures/archives/: image archives (docker-archive and OCI) that `obox load` must
 * refuse, plus a few valid ones it must accept, and expected.json describing each.
 *
 *   npx tsx native-scripts/make-hostile-archives.ts [OUTDIR]      (default fixtures/archives)
 *
 * Self-contained on purpose (node:crypto, node:zlib and nothing from obox): the archives are built
 * byte by byte here, so test/writers/hostile.test.ts checks obox's loader against an independent
 * construction. Deterministic: the same script writes the same bytes.
 *
 * expected.json: [{ file, ok, entry, reason }]: for a refused archive, the entry the error must
 * name (null when the archive breaks before any entry) and a regular expression its message must match.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = process.argv[2] ?? join(here, '..', 'fixtures', 'archives');
mkdirSync(outDir, { recursive: true });

// ---- tar, by hand (ustar, owner 0:0, mtime 0) ----

interface Member {
  name: string;
  /** '0' file, '2' symlink, '3' char device, '5' dir. */
  type?: string;
  data?: Buffer;
  linkname?: string;
}

function octal(value: number, len: number): string {
  return `${value.toString(8).padStart(len - 1, '0')}\0`;
}

function header(m: Member): Buffer {
  const b = Buffer.alloc(512);
  const size = m.data?.length ?? 0;
  b.write(m.name, 0, 100, 'utf8');
  b.write(octal(m.type === '5' ? 0o755 : 0o644, 8), 100, 'latin1');
  b.write(octal(0, 8), 108, 'latin1');
  b.write(octal(0, 8), 116, 'latin1');
  b.write(octal(size, 12), 124, 'latin1');
  b.write(octal(0, 12), 136, 'latin1');
  b.write(m.type ?? '0', 156, 1, 'latin1');
  b.write(m.linkname ?? '', 157, 100, 'utf8');
  b.write('ustar\x0000', 257, 8, 'latin1');
  b.write(octal(0, 8), 329, 'latin1');
  b.write(octal(0, 8), 337, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return b;
}

function tar(members: Member[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    parts.push(header(m));
    const data = m.data ?? Buffer.alloc(0);
    parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

// ---- image pieces ----

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const blob = (b: Buffer): string => `blobs/sha256/${sha(b)}`;

const layerTar = tar([{ name: 'hello.txt', data: Buffer.from('hello from a fixture\n') }]);
const layerGz = gzipSync(layerTar, { level: 6 });
const diffId = `sha256:${sha(layerTar)}`;

function config(diffIds: string[] = [diffId]): Buffer {
  return json({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/hello.txt'] }, rootfs: { type: 'layers', diff_ids: diffIds } });
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
const NAME = 'docker.io/library/fixture:1';

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

const desc = (mediaType: string, b: Buffer): Desc => ({ mediaType, digest: `sha256:${sha(b)}`, size: b.length });

function manifest(cfg: Buffer, layers: Desc[], configType = OCI_CONFIG): Buffer {
  return json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(configType, cfg), layers });
}

function index(manifests: Desc[]): Buffer {
  return json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });
}

const named = (d: Desc, name = NAME): Desc => ({
  ...d,
  annotations: { 'org.opencontainers.image.ref.name': name },
  platform: { architecture: 'amd64', os: 'linux' },
});

const layout: Member = { name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) };

/** An OCI archive: the given blobs, index.json naming `top`. */
function ociArchive(blobs: Buffer[], top: Desc[], extra: Member[] = []): Buffer {
  const files: Member[] = [
    { name: 'blobs/', type: '5' },
    { name: 'blobs/sha256/', type: '5' },
    ...blobs.map((b) => ({ name: blob(b), data: b })),
    { name: 'index.json', data: index(top) },
    layout,
    ...extra,
  ];
  return tar(files);
}

/** The valid OCI image: gzip layer, config, manifest. */
function validOci(): { cfg: Buffer; man: Buffer; archive: Buffer } {
  const cfg = config();
  const man = manifest(cfg, [desc(LAYER_GZIP, layerGz)]);
  return { cfg, man, archive: ociArchive([layerGz, cfg, man], [named(desc(OCI_MANIFEST, man))]) };
}

/** A docker-archive in docker 20.10's form: `<id>/layer.tar`, `<hex>.json`, manifest.json. */
const LAYER_ID = sha(Buffer.from('fixture layer id'));
function dockerArchive(opts: { cfg?: Buffer; layers?: string[]; layerData?: Buffer; before?: Member[]; after?: Member[] } = {}): Buffer {
  const cfg = opts.cfg ?? config();
  const cfgName = `${sha(cfg)}.json`;
  return tar([
    ...(opts.before ?? []),
    { name: cfgName, data: cfg },
    { name: `${LAYER_ID}/`, type: '5' },
    { name: `${LAYER_ID}/VERSION`, data: Buffer.from('1.0') },
    { name: `${LAYER_ID}/layer.tar`, data: opts.layerData ?? layerTar },
    { name: 'manifest.json', data: json([{ Config: cfgName, RepoTags: ['fixture:1'], Layers: opts.layers ?? [`${LAYER_ID}/layer.tar`] }]) },
    { name: 'repositories', data: json({ fixture: { 1: LAYER_ID } }) },
    ...(opts.after ?? []),
  ]);
}

// ---- the cases ----

interface Case {
  file: string;
  data: Buffer;
  ok: boolean;
  entry: string | null;
  reason: string;
}

const cases: Case[] = [];
const refused = (file: string, data: Buffer, entry: string | null, reason: string): void => {
  cases.push({ file, data, ok: false, entry, reason });
};
const accepted = (file: string, data: Buffer, reason: string): void => {
  cases.push({ file, data, ok: true, entry: null, reason });
};

const oci = validOci();
const layerBlob = blob(layerGz);
const manifestBlob = blob(oci.man);

// Valid ones: the corpus's hostile cases are small edits of these.
accepted('valid-oci.tar', oci.archive, 'an OCI archive with one gzip layer');
accepted('valid-oci.tar.gz', gzipSync(oci.archive, { level: 6 }), 'the same, gzipped');
accepted('valid-docker-legacy.tar', dockerArchive(), "docker 20.10's save layout");
{
  // docker 1.10–24 share a layer between images with a layer.tar symlink to the first copy.
  const cfg2 = json({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/other'] }, rootfs: { type: 'layers', diff_ids: [diffId] } });
  const other = sha(Buffer.from('fixture layer id 2'));
  accepted(
    'valid-docker-symlink.tar',
    tar([
      { name: `${sha(config())}.json`, data: config() },
      { name: `${sha(cfg2)}.json`, data: cfg2 },
      { name: `${LAYER_ID}/layer.tar`, data: layerTar },
      { name: `${other}/layer.tar`, type: '2', linkname: `../${LAYER_ID}/layer.tar` },
      {
        name: 'manifest.json',
        data: json([
          { Config: `${sha(config())}.json`, RepoTags: ['fixture:1'], Layers: [`${LAYER_ID}/layer.tar`] },
          { Config: `${sha(cfg2)}.json`, RepoTags: ['fixture:2'], Layers: [`${other}/layer.tar`] },
        ]),
      },
    ]),
    'two images sharing a layer through a symlink',
  );
}

refused('dotdot-entry.tar', dockerArchive({ before: [{ name: '../evil.txt', data: Buffer.from('x') }] }), '../evil.txt', 'climbs out');
refused('dotdot-nested-entry.tar', dockerArchive({ after: [{ name: 'a/../../evil.txt', data: Buffer.from('x') }] }), 'a/../../evil.txt', 'climbs out');
refused('absolute-entry.tar', dockerArchive({ before: [{ name: '/tmp/obox-evil.txt', data: Buffer.from('x') }] }), '/tmp/obox-evil.txt', 'absolute');
refused(
  'symlink-escape.tar',
  dockerArchive({ layers: ['evil/layer.tar'], before: [{ name: 'evil/layer.tar', type: '2', linkname: '../../../etc/passwd' }] }),
  'evil/layer.tar',
  'leads outside the archive',
);
refused('device-entry.tar', dockerArchive({ after: [{ name: 'dev/null', type: '3' }] }), 'dev/null', 'no place in an image archive');
refused(
  'duplicate-entry.tar',
  dockerArchive({ after: [{ name: 'manifest.json', data: json([]) }] }),
  'manifest.json',
  'appears twice',
);
refused(
  'manifest-json-dotdot.tar',
  dockerArchive({ layers: ['../../etc/passwd'] }),
  'manifest.json',
  'climbs out',
);
refused('docker-missing-layer.tar', dockerArchive({ layers: ['missing/layer.tar'] }), 'missing/layer.tar', 'not in the archive');
refused('docker-diffid-mismatch.tar', dockerArchive({ cfg: config([`sha256:${sha(Buffer.from('other'))}`]) }), `${LAYER_ID}/layer.tar`, 'diffID mismatch');
refused(
  'oci-missing-blob.tar',
  ociArchive([oci.cfg, oci.man], [named(desc(OCI_MANIFEST, oci.man))]),
  layerBlob,
  'not in the archive',
);
refused(
  'oci-missing-manifest.tar',
  ociArchive([layerGz, oci.cfg], [named(desc(OCI_MANIFEST, oci.man))]),
  manifestBlob,
  'not in the archive',
);
{
  // The layer entry is named by the real layer's digest but holds other bytes.
  const files: Member[] = [
    { name: layerBlob, data: gzipSync(Buffer.from('not the layer')) },
    { name: blob(oci.cfg), data: oci.cfg },
    { name: manifestBlob, data: oci.man },
    { name: 'index.json', data: index([named(desc(OCI_MANIFEST, oci.man))]) },
    layout,
  ];
  refused('oci-digest-mismatch.tar', tar(files), layerBlob, 'does not match its digest');
}
{
  const man = manifest(oci.cfg, [{ ...desc(LAYER_GZIP, layerGz), size: layerGz.length + 1 }]);
  refused('oci-size-mismatch.tar', ociArchive([layerGz, oci.cfg, man], [named(desc(OCI_MANIFEST, man))]), layerBlob, 'says \\d+ bytes');
}
{
  const man = manifest(oci.cfg, [desc(OCI_CONFIG, layerGz)]);
  refused('oci-wrong-layer-media-type.tar', ociArchive([layerGz, oci.cfg, man], [named(desc(OCI_MANIFEST, man))]), blob(man), 'wrong media type');
}
{
  const man = manifest(oci.cfg, [desc(LAYER_GZIP, layerGz)], LAYER_TAR);
  refused('oci-wrong-config-media-type.tar', ociArchive([layerGz, oci.cfg, man], [named(desc(OCI_MANIFEST, man))]), blob(man), 'wrong media type');
}
{
  // A plain tar layer that its manifest calls gzip.
  const cfg = config();
  const man = manifest(cfg, [desc(LAYER_GZIP, layerTar)]);
  refused('oci-gzip-claims-plain.tar', ociArchive([layerTar, cfg, man], [named(desc(OCI_MANIFEST, man))]), blob(layerTar), 'wrong media type');
}
refused(
  'oci-index-wrong-media-type.tar',
  ociArchive([layerGz, oci.cfg, oci.man], [named({ ...desc(LAYER_TAR, oci.man) })]),
  'index.json',
  'wrong media type',
);
{
  // index.json says manifest, the blob is an index.
  const inner = index([{ ...desc(OCI_MANIFEST, oci.man), platform: { architecture: 'amd64', os: 'linux' } }]);
  refused(
    'oci-manifest-is-index.tar',
    ociArchive([layerGz, oci.cfg, oci.man, inner], [named(desc(OCI_MANIFEST, inner))]),
    blob(inner),
    'index',
  );
}
{
  const cfg = config([`sha256:${sha(Buffer.from('other'))}`]);
  const man = manifest(cfg, [desc(LAYER_GZIP, layerGz)]);
  refused('oci-diffid-mismatch.tar', ociArchive([layerGz, cfg, man], [named(desc(OCI_MANIFEST, man))]), layerBlob, 'diffID mismatch');
}
refused('blob-bad-name.tar', ociArchive([], [], [{ name: 'blobs/sha256/NOT-A-DIGEST', data: Buffer.from('x') }]), 'blobs/sha256/NOT-A-DIGEST', 'blob name');
{
  // Cut in the middle of the layer blob.
  const cut = oci.archive.indexOf(layerGz) + Math.floor(layerGz.length / 2);
  refused('truncated.tar', oci.archive.subarray(0, cut), layerBlob, 'unexpected end|truncated');
}
{
  // A gzipped archive cut in the middle of the layer. Level 0 stores the bytes as they are (a
  // 10-byte gzip header, then one stored block with a 5-byte header), so offsets carry over.
  const plain = dockerArchive();
  const gz = gzipSync(plain, { level: 0 });
  const cutAt = 10 + 5 + plain.indexOf(layerTar) + 700;
  refused('truncated.tar.gz', gz.subarray(0, cutAt), `${LAYER_ID}/layer.tar`, 'corrupt or truncated gzip');
}
{
  const garbage = Buffer.alloc(4096);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) & 0xff;
  refused('gzip-garbage.tar.gz', Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), garbage]), null, 'corrupt or truncated gzip');
}
refused('not-a-tar.tar', Buffer.from('this is not a tar archive\n'.repeat(40)), null, 'chksum|checksum|end of archive');
refused('empty-archive.tar', Buffer.alloc(1024), null, 'neither manifest.json');

for (const c of cases) writeFileSync(join(outDir, c.file), c.data);
writeFileSync(
  join(outDir, 'expected.json'),
  `${JSON.stringify(
    cases.map(({ file, ok, entry, reason }) => ({ file, ok, entry, reason })),
    null,
    2,
  )}\n`,
);
process.stdout.write(`make-hostile-archives: wrote ${cases.length} archives to ${outDir}\n`);
