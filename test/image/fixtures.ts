/** Shared values for the image model tests. */
import { Digest } from '../../src/image/digest.js';

export const d = (seed: string): Digest => Digest.of(seed);

export const CONFIG_DIGEST = d('config');
export const LAYER1 = d('layer1');
export const LAYER2 = d('layer2');
export const DIFF1 = d('diff1');
export const DIFF2 = d('diff2');

/** A config in the exact shape BuildKit's exporter writes (keys sorted at the top, `&&` escaped). */
export const BUILDKIT_CONFIG =
  '{"architecture":"amd64","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],' +
  '"Cmd":["/bin/sleep","3133337"],"ArgsEscaped":true},"created":"2023-11-01T13:32:07.782534085Z",' +
  '"history":[{"created":"2023-07-18T23:19:33.538571854Z","created_by":"/bin/sh -c #(nop) ADD file:7e9002edaafd in / "},' +
  '{"created":"2023-07-18T23:19:33.655005962Z","created_by":"/bin/sh -c #(nop)  CMD [\\"sh\\"]","empty_layer":true},' +
  '{"created":"2023-11-01T13:32:07.782534085Z","created_by":"RUN /bin/sh -c apk add curl \\u0026\\u0026 rm -rf /var/cache/apk # buildkit","comment":"buildkit.dockerfile.v0"},' +
  '{"created":"2023-11-01T13:32:07.782534085Z","created_by":"CMD [\\"/bin/sleep\\" \\"3133337\\"]","comment":"buildkit.dockerfile.v0","empty_layer":true}],' +
  `"os":"linux","rootfs":{"type":"layers","diff_ids":["${DIFF1}","${DIFF2}"]}}`;

/** An OCI manifest as BuildKit writes it. */
export const OCI_MANIFEST =
  '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",' +
  `"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${CONFIG_DIGEST}","size":1234},` +
  `"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"${LAYER1}","size":100},` +
  `{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"${LAYER2}","size":200}]}`;

/** A Docker schema 2 manifest, compact: note size before digest. */
export const DOCKER_MANIFEST =
  '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",' +
  `"config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1234,"digest":"${CONFIG_DIGEST}"},` +
  `"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":100,"digest":"${LAYER1}"}]}`;
