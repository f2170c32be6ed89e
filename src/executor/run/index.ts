/**
 * Running RUN steps in an OCI runtime (runc or crun), without a daemon. Every container registers
 * its cleanup with the executor's process-wide registry (../cleanup.ts), which the CLI runs on
 * SIGINT/SIGTERM.
 */
export { runContainer } from './run-container.js';
export { generateSpec, type SpecInput } from './spec.js';
export { toRootless, toHostId, parseSubIds, rootlessMappings, type SubIdRange } from './rootless.js';
export { resolveUser, resolveUserFrom, parsePasswd, parseGroup, type PasswdEntry, type GroupEntry } from './user.js';
export { resolveInRoot, readFileInRoot, mkdirAllInRoot } from './in-root.js';
export { buildEnv } from './env.js';
export { hostsFileContent, resolvConfContent } from './etc-files.js';
export { selectRuntime, listContainers, deleteContainer, killContainer, type Runtime, type RuntimeKind } from './runtime.js';
export { LineSplitter, TailBuffer } from './output.js';
export * from './defaults.js';
export type * from './types.js';
export type * from './oci-types.js';
