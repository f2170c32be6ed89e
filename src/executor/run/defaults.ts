/**
 * Docker's and BuildKit's defaults for a RUN container, in one place.
 * Sources: moby `oci/defaults.go` (capabilities, mounts, masked and read-only paths, device
 * rules), moby `oci/caps/defaults.go`, BuildKit `executor/oci/spec.go` and `hosts.go`.
 */

/** The OCI runtime-spec version written to config.json (runc 1.1 and crun 1.8 read 1.0.x). */
export const OCI_VERSION = '1.0.2';

/** Docker's default capability set (moby oci/caps/defaults.go), in Docker's order. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** What `CapEff` in /proc/self/status shows for DEFAULT_CAPABILITIES (docker run: 00000000a80425fb). */
export const DEFAULT_CAPABILITY_MASK = 0xa80425fbn;

/** Docker's masked paths (docker inspect of a default container, Docker 28). */
export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
];

/** Docker's read-only paths. */
export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The PATH a RUN gets when its environment has none (containerd's and BuildKit's default). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * BuildKit's sandbox hostname (executor/oci/hosts.go `defaultHostname`). Kept so that scripts
 * which behave differently inside `docker build` behave the same under obox.
 */
export const DEFAULT_HOSTNAME = 'buildkitsandbox';

/** RLIMIT_NOFILE soft and hard, as in a default docker container on current engines. */
export const DEFAULT_NOFILE = 1048576;

/** /dev/shm size: docker's default ShmSize (64 MiB). */
export const DEFAULT_SHM_BYTES = 64 * 1024 * 1024;

/** How much output a run keeps for error reports, by default. */
export const DEFAULT_OUTPUT_TAIL_BYTES = 64 * 1024;

/**
 * The device cgroup rules of a docker container: deny everything, then allow the usual character
 * devices, deny fuse. runc then appends its own allow-list (pts, ptmx, tun, mknod wildcards).
 */
export const DEVICE_RULES = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
] as const;
