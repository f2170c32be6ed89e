/**
 * The input of a COPY or ADD step, independent of how the executor got it.
 */
import type { AddInstruction, CopyInstruction, CopySource } from '../../instructions/index.js';
import type { FetchLike } from './download.js';
import type { SourceTree } from './source-tree.js';
import type { FileHashMemo } from './summary.js';

export interface CopyRequest {
  kind: 'copy' | 'add';
  /**
   * Sources in the order written, values expanded (the plan's `expanded` instruction): paths,
   * URLs (ADD) and heredocs (bodies already expanded when the delimiter was unquoted).
   */
  sources: readonly CopySource[];
  /** The destination as written (expanded); relative to `workdir` unless absolute. */
  dest: string;
  /** The stage's working directory at this step; '/' when unset. */
  workdir?: string | undefined;
  /** Where path sources are read: contextSource(...) or, for --from, rootfsSource(...). */
  tree: SourceTree;
  chown?: string | undefined;
  chmod?: string | undefined;
  excludes?: readonly string[] | undefined;
  /** COPY --parents. */
  parents?: boolean | undefined;
  /**
   * --link. BuildKit copies onto an empty layer and merges it, so the step does not depend on
   * the layers below. obox writes into the step's own upper directory anyway (so the layer holds
   * only what the step wrote) and copies the same way with or without it; the one visible
   * difference is that BuildKit, with --link, does not follow symlinks the image has on the
   * destination path.
   */
  link?: boolean | undefined;
  /** ADD --checksum. */
  checksum?: string | undefined;
  /** ADD --unpack; undefined: local archives are unpacked, downloads are not. */
  unpack?: boolean | undefined;
  /** ADD --keep-git-dir (git sources are not supported yet). */
  keepGitDir?: boolean | undefined;
}

export interface CopyOptions {
  /** Where downloads and heredoc files are staged (a fresh dir is made inside); default os.tmpdir(). */
  tempDir?: string | undefined;
  /** Seconds since the epoch: every copied entry gets it as mtime (SOURCE_DATE_EPOCH). */
  timestamp?: number | undefined;
  /**
   * A wildcard that matches nothing: 'allow' (BuildKit: the source is skipped; the default) or
   * 'error' when the whole instruction then copies nothing (the classic builder's
   * "no source files were specified").
   */
  emptyWildcard?: 'allow' | 'error' | undefined;
  /** The root filesystem whose /etc/passwd and /etc/group resolve --chown names (default: the destination). */
  userRoot?: string | undefined;
  /** Content hashes memoised across steps (digests). */
  hashMemo?: FileHashMemo | undefined;
  /** Replaces node-fetch for downloads (tests, proxies). */
  fetch?: FetchLike | undefined;
  signal?: AbortSignal | undefined;
}

/** A CopyRequest from a typed, expanded COPY or ADD instruction. */
export function copyRequestFrom(
  instruction: CopyInstruction | AddInstruction,
  where: { tree: SourceTree; workdir?: string | undefined },
): CopyRequest {
  const common = {
    sources: instruction.sources,
    dest: instruction.dest,
    workdir: where.workdir,
    tree: where.tree,
    chown: instruction.chown,
    chmod: instruction.chmod,
    excludes: instruction.excludes,
    link: instruction.link,
  };
  if (instruction.kind === 'copy') return { kind: 'copy', ...common, parents: instruction.parents };
  return { kind: 'add', ...common, checksum: instruction.checksum, unpack: instruction.unpack, keepGitDir: instruction.keepGitDir };
}
