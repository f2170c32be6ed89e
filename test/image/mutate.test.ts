import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseImageConfigBytes } from '../../src/image/config.js';
import { Digest } from '../../src/image/digest.js';
import { emptyImage, scratch } from '../../src/image/empty.js';
import { imageFromRaw, manifestDescriptor, layerByDiffId } from '../../src/image/image.js';
import { layerFromCompressed, layerFromUncompressed } from '../../src/image/layer.js';
import { parseManifestBytes } from '../../src/image/manifest.js';
import { MediaTypes } from '../../src/image/media-type.js';
import {
  addHistory,
  appendLayer,
  appendLayers,
  setAnnotations,
  setConfig,
  setContainerConfig,
  setCreated,
  setFormat,
  updateConfig,
} from '../../src/image/mutate.js';
import { hostPlatform } from '../../src/image/platform.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const tarLayer = (content: string) => layerFromUncompressed({ open: async () => Readable.from([Buffer.from(content)]) });

describe('scratch', () => {
  it('is one constant empty image for linux/<host arch>', async () => {
    const c = await scratch.config();
    expect(c.os).toBe('linux');
    expect(c.architecture).toBe(hostPlatform().architecture);
    expect(await scratch.layers()).toEqual([]);
    expect((await scratch.manifest()).layers).toEqual([]);
    expect(await scratch.mediaType()).toBe(MediaTypes.ociManifest);
    expect(await scratch.digest()).toBe(await emptyImage().digest());
  });

  it('has a golden config for linux/amd64', async () => {
    const img = emptyImage({ architecture: 'amd64', os: 'linux' });
    expect(text(await img.rawConfig())).toBe('{"architecture":"amd64","config":{},"os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    const cfg = '{"architecture":"amd64","config":{},"os":"linux","rootfs":{"type":"layers","diff_ids":[]}}';
    const cfgDigest = Digest.of(cfg);
    expect(text(await img.rawManifest())).toBe(
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${cfgDigest}","size":${cfg.length}},"layers":[]}`,
    );
  });
});

describe('mutation', () => {
  it('appendLayer returns a new image and leaves the base untouched', async () => {
    const baseDigest = await scratch.digest();
    const baseConfig = await scratch.rawConfig();
    const layer = tarLayer('layer one');
    const img = appendLayer(scratch, layer, { created_by: 'RUN one', created: '2024-01-01T00:00:00Z' });
    const m = await img.manifest();
    expect(m.layers).toEqual([{ mediaType: MediaTypes.ociLayerGzip, digest: await layer.digest(), size: await layer.size() }]);
    const c = await img.config();
    expect(c.rootfs.diff_ids).toEqual([await layer.diffId()]);
    expect(c.history).toEqual([{ created_by: 'RUN one', created: '2024-01-01T00:00:00Z' }]);
    expect(await scratch.digest()).toBe(baseDigest);
    expect(await scratch.rawConfig()).toEqual(baseConfig);
    expect((await scratch.config()).history).toBeUndefined();
  });

  it('hands out frozen values', async () => {
    const img = appendLayer(scratch, tarLayer('x'));
    const c = await img.config();
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.rootfs.diff_ids)).toBe(true);
    expect(() => {
      (c as { os: string }).os = 'windows';
    }).toThrow(TypeError);
    expect(Object.isFrozen(await img.manifest())).toBe(true);
    expect(Object.isFrozen(await img.layers())).toBe(true);
  });

  it('is deterministic: the same steps give the same digests', async () => {
    const build = () =>
      setContainerConfig(
        appendLayers(scratch, { layer: tarLayer('a'), history: { created_by: 'COPY a' } }, { layer: tarLayer('b') }),
        { Env: ['PATH=/bin'], Cmd: ['sh'] },
      );
    const [a, b] = [build(), build()];
    expect(await a.digest()).toBe(await b.digest());
    expect(await a.configDigest()).toBe(await b.configDigest());
    expect(await a.configDigest()).toBe(Digest.of(await a.rawConfig()));
    expect(await a.digest()).toBe(Digest.of(await a.rawManifest()));
    // and reading the bytes back gives the same image
    const parsed = parseManifestBytes(await a.rawManifest());
    expect(parsed.config.digest).toBe(await a.configDigest());
  });

  it('keeps history aligned with layers when the base has none', async () => {
    const base = appendLayers(scratch, { layer: tarLayer('a') });
    const noHistory = updateConfig(base, (c) => ({ ...c, history: undefined }));
    const img = appendLayer(noHistory, tarLayer('b'), { created_by: 'RUN b', empty_layer: true });
    expect((await img.config()).history).toEqual([{}, { created_by: 'RUN b' }]);
  });

  it('addHistory records metadata-only steps as empty layers', async () => {
    const img = addHistory(scratch, { created_by: 'ENV A=1' });
    expect((await img.config()).history).toEqual([{ created_by: 'ENV A=1', empty_layer: true }]);
    expect(await img.layers()).toEqual([]);
  });

  it('setConfig cannot desynchronise rootfs from the layers', async () => {
    const layer = tarLayer('a');
    const img = setConfig(appendLayer(scratch, layer), {
      architecture: 'arm64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
    });
    const c = await img.config();
    expect(c.architecture).toBe('arm64');
    expect(c.rootfs.diff_ids).toEqual([await layer.diffId()]);
  });

  it('setCreated validates; setAnnotations lands in the OCI manifest', async () => {
    expect(() => setCreated(scratch, 'now')).toThrow(/RFC 3339/);
    expect((await setCreated(scratch, '2024-01-01T00:00:00Z').config()).created).toBe('2024-01-01T00:00:00Z');
    expect((await setAnnotations(scratch, { a: 'b' }).manifest()).annotations).toEqual({ a: 'b' });
  });

  it('setFormat renames media types, not bytes', async () => {
    const layer = tarLayer('a');
    const oci = appendLayer(scratch, layer);
    const docker = setFormat(oci, 'docker');
    const m = await docker.manifest();
    expect(m.mediaType).toBe(MediaTypes.dockerManifest);
    expect(m.config.mediaType).toBe(MediaTypes.dockerConfig);
    expect(m.layers[0]?.mediaType).toBe(MediaTypes.dockerLayerGzip);
    expect(m.layers[0]?.digest).toBe(await layer.digest());
    expect(await docker.configDigest()).toBe(await oci.configDigest());
    expect(text(await docker.rawManifest())).toContain('"size":');
    expect(await docker.mediaType()).toBe(MediaTypes.dockerManifest);
  });
});

describe('imageFromRaw', () => {
  it('rebuilds an image from its bytes with the same digests', async () => {
    const layer = tarLayer('content');
    const built = appendLayer(scratch, layer, { created_by: 'ADD x' });
    const blob = Buffer.concat(await (await layer.compressed()).toArray());
    const raw = imageFromRaw({
      rawManifest: await built.rawManifest(),
      rawConfig: await built.rawConfig(),
      layer: (desc, diffId) =>
        layerFromCompressed({ open: async () => Readable.from([blob]), mediaType: desc.mediaType, digest: desc.digest, size: desc.size, diffId }),
    });
    expect(await raw.digest()).toBe(await built.digest());
    expect(await raw.configDigest()).toBe(await built.configDigest());
    expect(await (await layerByDiffId(raw, await layer.diffId()))?.digest()).toBe(await layer.digest());
    const desc = await manifestDescriptor(raw, { 'org.opencontainers.image.ref.name': 'x' });
    expect(desc.digest).toBe(await built.digest());
    expect(desc.platform?.os).toBe('linux');
    // Mutating a raw image works too and leaves it alone.
    const next = appendLayer(raw, tarLayer('more'));
    expect((await next.layers()).length).toBe(2);
    expect((await raw.layers()).length).toBe(1);
  });

  it('rejects a config that does not match the manifest', async () => {
    const built = appendLayer(scratch, tarLayer('c'));
    const cfg = parseImageConfigBytes(await built.rawConfig());
    const rawManifest = await built.rawManifest();
    expect(() => imageFromRaw({ rawManifest, rawConfig: Buffer.from(JSON.stringify(cfg)), layer: () => tarLayer('c') })).toThrow(
      /config does not match the manifest/,
    );
  });

  it('rejects a layer count that does not match diff_ids', async () => {
    const built = appendLayer(scratch, tarLayer('c'));
    const rawConfig = await emptyImage().rawConfig();
    const manifest = JSON.parse(text(await built.rawManifest())) as { config: { digest: string; size: number } };
    manifest.config = { ...manifest.config, digest: Digest.of(rawConfig), size: rawConfig.byteLength };
    expect(() => imageFromRaw({ rawManifest: Buffer.from(JSON.stringify(manifest)), rawConfig, layer: () => tarLayer('c') })).toThrow(
      /1 layers but its config lists 0 diff_ids/,
    );
  });
});
