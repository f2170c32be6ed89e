/** The options and results of one RUN container. */

/** `--network`: host shares the host's network namespace; none gets a new one holding only `lo`. */
export type NetworkMode = 'host' | 'none';

/**
 * A mount added to the container beyond the defaults: what `RUN --mount=type=bind|cache|secret`
 * (all bind mounts of something the executor prepared) and `type=tmpfs` become.
 */
export type RunMount =
  | {
      type: 'bind';
      /** Absolute host path of a file or directory. */
      source: string;
      /** Absolute path inside the container. */
      destination: string;
      readonly?: boolean;
    }
  | {
      type: 'tmpfs';
      destination: string;
      /** Size limit in bytes (the kernel's default, half of RAM, when absent). */
      sizeBytes?: number;
      /** Permission bits of the tmpfs root (the kernel default 1777 when absent). */
      mode?: number;
    };

/** One contiguous id range of a user namespace: container ids [containerID, containerID+size) → host ids. */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/**
 * Rootless: the container gets its own user namespace with these mappings, no cgroups, /sys
 * bind-mounted instead of a new sysfs, and `runc --rootless true`.
 */
export interface RootlessOptions {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

/** A user resolved from the image's /etc/passwd and /etc/group. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups (membership in /etc/group), only when USER named no group. */
  additionalGids: number[];
  /** The passwd entry's home directory, "/" when there is none. */
  home: string;
  /** The passwd name when the user was found there. */
  name?: string;
}

export type OutputStream = 'stdout' | 'stderr';

export interface RunOptions {
  /** The prepared root filesystem directory (an overlay mount point in a build). */
  rootfs: string;
  /** argv of the process: `["/bin/sh", "-c", "…"]` for the shell form. */
  args: string[];
  /** KEY=value entries. PATH is added when missing, HOME from passwd when missing. */
  env?: string[];
  /** Working directory inside the container; created (owned by the user, 0755) if missing. Default "/". */
  cwd?: string;
  /** The USER value: `name`, `name:group`, `uid`, `uid:gid`. Default root (0:0). */
  user?: string;
  /** Default DEFAULT_HOSTNAME ("buildkitsandbox", as BuildKit). */
  hostname?: string;
  /** Default "host" (BuildKit's default without CNI: a build step can reach the network). */
  network?: NetworkMode;
  mounts?: RunMount[];
  /** Mount the rootfs read-only (default false). */
  readonlyRootfs?: boolean;
  /** Runtime binary, a name looked up in PATH or a path: "runc" (default) or "crun". */
  runtime?: string;
  /**
   * A directory obox owns for container state: the runtime's `--root` and the bundle directories
   * live under it, so separate builds and tests never see each other's containers.
   */
  stateDir: string;
  /** Container id; default a fresh random `obox-…` id. */
  id?: string;
  /** Cancels the run: the container is killed and removed, and the call rejects with E_INTERRUPTED. */
  signal?: AbortSignal;
  /** Called for every line of output (without the newline), in order per stream. */
  onLine?: (line: string, stream: OutputStream) => void;
  /** How many bytes of the most recent output (both streams, interleaved) to keep. Default 64 KiB. */
  outputTailBytes?: number;
  /** Run in a user namespace without cgroups (see RootlessOptions). */
  rootless?: RootlessOptions;
  /**
   * Start the runtime as this host user instead of obox's own (needs root). For exercising the
   * rootless path from a privileged test or a privileged helper; leave unset otherwise.
   */
  runtimeCredentials?: { uid: number; gid: number };
}

export interface RunResult {
  /** The process's exit status; 128+N when it was killed by signal N. */
  exitCode: number;
  /**
   * Set when the runtime itself failed (bad config, executable not found, mount failure) rather
   * than the process exiting non-zero: the runtime's own error message.
   */
  runtimeError?: string;
  /** The last `outputTailBytes` of output, decoded as UTF-8. */
  outputTail: string;
  containerId: string;
  user: ResolvedUser;
  durationMs: number;
}
