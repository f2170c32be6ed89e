/**
 * COPY and ADD without a container: sources from the build context (through its ignore rules)
 * or another root filesystem (`--from`), heredocs and downloads, written into a destination
 * root filesystem with BuildKit's rules, every destination path resolved inside that root.
 *
 *   const tree = contextSource(contextDir, matcher, ignoreFile);   // once per build
 *   const req = copyRequestFrom(step.expanded, { tree, workdir });
 *   const { summary, digest } = await copyInto(req, mergedDir, { tempDir });
 *
 * Cache keys: digestCopySources(req, { userRoot }) gives the digest copyInto would report,
 * without writing. Errors are CopyError (an OboxError) naming the source (`source`,
 * `sourceIndex`) so the executor can add the Containerfile location.
 */
export { copyInto, executeCopy, type CopyResult } from './copy.js';
export { digestCopySources } from './digest.js';
export { planCopy, type CopyPlan, type PlannedSource } from './plan.js';
export { copyRequestFrom, type CopyRequest, type CopyOptions } from './types.js';
export { contextSource, rootfsSource, type SourceTree } from './source-tree.js';
export { CopyError } from './errors.js';
export { createFileHashMemo, type CopySummary, type CopyDigest, type CopyRecord, type FileHashMemo } from './summary.js';
export { parseChmod, type ModeChange } from './chmod.js';
export { parseChown, chownNeedsLookup, resolveChown, resolveChownFrom, type Owner } from './chown.js';
export { normalizeDest, type DestPath } from './dest.js';
export { goMatch, hasWildcards } from './glob.js';
export { isArchive } from './archive.js';
export { isGitSource, isHttpSource, urlFileName } from './remote.js';
export type { FetchLike } from './download.js';
