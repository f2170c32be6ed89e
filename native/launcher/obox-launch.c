/*
 * obox-launch: the `obox` command's front door (bin/obox execs it).
 *
 * Starting Node and loading the CLI costs ~85 ms before obox does anything; a build whose every
 * step is a cache hit takes BuildKit's daemon about as long in total. So a build that is an exact
 * repeat of a recorded all-hit build is answered here, in C, without Node:
 *
 *   1. The invocation's fingerprint: argv, cwd, uid/gid, which of stdin/stdout/stderr are
 *      terminals, and the whole environment (minus a few shell-maintained variables).
 *   2. Its replay record, `<store>/cache-v1/replay/<fnv1a64 of the fingerprint>`, written by
 *      obox's Node side (src/cli/replay.ts) after a build in which every step was a hit. The
 *      record holds the full fingerprint (compared byte for byte), and the lstat of everything
 *      the result depends on: the Containerfile and ignore files, every file and directory of the
 *      context (inode, size, mtime and ctime to the nanosecond, mode: the same trust the context
 *      hash memo has), the store's index.json, the cache entries, layers and blobs the build used,
 *      and obox's own code.
 *   3. If all of it is unchanged, the build would hit every step again and give the same image:
 *      touch the entries it used (their mtime is their last use, as a Node build does), rewrite
 *      the build record `cache why` reads (with the time now), print what the build printed (the
 *      elapsed time re-measured) and exit 0.
 *
 * Anything else — another command, an unknown global option, no record, one changed stat, a
 * record this code cannot read — execs Node with bin/obox.js and the same argv, telling it where
 * the record for this fingerprint goes (OBOX_REPLAY_RECORD). OBOX_NO_REPLAY=1 always execs Node;
 * OBOX_LAUNCH_DEBUG=1 says on stderr why a record was not used.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SYSTEM_ROOT "/var/lib/obox"
#define RECORD_MAGIC "obox-replay 1\n"
#define MAX_RECORD (64u << 20)

static int debug;

static void say(const char *fmt, ...) {
  if (!debug) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("obox-launch: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* ---------- a growable byte buffer ---------- */

typedef struct {
  char *p;
  size_t len, cap;
} buf;

static void put(buf *b, const void *data, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (b->len + n + 1 > cap) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) abort();
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void puts0(buf *b, const char *s) { put(b, s, strlen(s) + 1); }

/* ---------- paths ---------- */

/* path.resolve(cwd, p): absolute, no "." or ".." segments, no doubled or trailing slash. */
static char *resolve_path(const char *cwd, const char *p) {
  buf in = {0};
  if (p[0] != '/') {
    put(&in, cwd, strlen(cwd));
    put(&in, "/", 1);
  }
  put(&in, p, strlen(p));
  char *out = malloc(in.len + 2);
  if (!out) abort();
  size_t o = 0;
  char *save = NULL;
  for (char *seg = strtok_r(in.p, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
    if (strcmp(seg, ".") == 0) continue;
    if (strcmp(seg, "..") == 0) {
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--;
      continue;
    }
    out[o++] = '/';
    size_t n = strlen(seg);
    memcpy(out + o, seg, n);
    o += n;
  }
  if (o == 0) out[o++] = '/';
  out[o] = '\0';
  free(in.p);
  return out;
}

static char *join2(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  char *s = malloc(na + nb + 2);
  if (!s) abort();
  memcpy(s, a, na);
  s[na] = '/';
  memcpy(s + na + 1, b, nb + 1);
  return s;
}

/* The store root, by the rules of src/cache/store/root.ts (resolveStoreRoot). */
static char *store_root(const char *root_flag, const char *cwd) {
  if (root_flag && *root_flag) return resolve_path(cwd, root_flag);
  const char *env = getenv("OBOX_ROOT");
  if (env && *env) return resolve_path(cwd, env);
  if (getuid() == 0) return strdup(SYSTEM_ROOT);
  const char *xdg = getenv("XDG_DATA_HOME");
  if (xdg && xdg[0] == '/') return join2(xdg, "obox");
  const char *home = getenv("HOME");
  if (!home || home[0] != '/') {
    struct passwd *pw = getpwuid(getuid());
    home = pw ? pw->pw_dir : NULL;
  }
  if (!home || home[0] != '/') return NULL;
  return join2(home, ".local/share/obox");
}

/* ---------- the fingerprint ---------- */

static int env_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Variables a shell changes on its own: not inputs of a build. The launcher's own too. */
static int env_ignored(const char *kv) {
  static const char *names[] = {"_", "OLDPWD", "PWD", "SHLVL", "OBOX_LAUNCH_DEBUG", "OBOX_REPLAY_RECORD", "OBOX_REPLAY_FINGERPRINT", NULL};
  for (const char **n = names; *n; n++) {
    size_t len = strlen(*n);
    if (strncmp(kv, *n, len) == 0 && kv[len] == '=') return 1;
  }
  return 0;
}

static void fingerprint(buf *fp, int argc, char **argv, const char *cwd) {
  char line[128];
  puts0(fp, "obox-replay-fingerprint 1");
  puts0(fp, cwd);
  snprintf(line, sizeof line, "uid=%u gid=%u tty=%d%d%d", (unsigned)getuid(), (unsigned)getgid(), isatty(0), isatty(1), isatty(2));
  puts0(fp, line);
  snprintf(line, sizeof line, "argc=%d", argc - 1);
  puts0(fp, line);
  for (int i = 1; i < argc; i++) puts0(fp, argv[i]);
  size_t n = 0;
  for (char **e = environ; *e; e++) n++;
  char **env = malloc((n + 1) * sizeof *env);
  if (!env) abort();
  size_t k = 0;
  for (char **e = environ; *e; e++)
    if (!env_ignored(*e)) env[k++] = *e;
  qsort(env, k, sizeof *env, env_cmp);
  snprintf(line, sizeof line, "envc=%zu", k);
  puts0(fp, line);
  for (size_t i = 0; i < k; i++) puts0(fp, env[i]);
  free(env);
}

static uint64_t fnv1a64(const char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

/* Standard base64 (with padding), for handing the fingerprint to Node in the environment. */
static char *base64(const char *p, size_t n) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = malloc(4 * ((n + 2) / 3) + 1);
  if (!out) abort();
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)(unsigned char)p[i] << 16;
    if (i + 1 < n) v |= (uint32_t)(unsigned char)p[i + 1] << 8;
    if (i + 2 < n) v |= (uint32_t)(unsigned char)p[i + 2];
    out[o++] = tbl[(v >> 18) & 63];
    out[o++] = tbl[(v >> 12) & 63];
    out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? tbl[v & 63] : '=';
  }
  out[o] = '\0';
  return out;
}

/* ---------- reading a record ---------- */

typedef struct {
  char *p;
  size_t len, pos;
  int bad;
} reader;

/* The next line (without its newline), NUL-terminated in place; NULL at the end or on a bad record. */
static char *next_line(reader *r) {
  if (r->bad || r->pos >= r->len) return NULL;
  char *start = r->p + r->pos;
  char *nl = memchr(start, '\n', r->len - r->pos);
  if (!nl) {
    r->bad = 1;
    return NULL;
  }
  *nl = '\0';
  r->pos = (size_t)(nl - r->p) + 1;
  return start;
}

/* `n` bytes followed by a newline; NUL-terminated in place. */
static char *next_bytes(reader *r, size_t n) {
  if (r->bad || r->len - r->pos < n + 1 || r->p[r->pos + n] != '\n') {
    r->bad = 1;
    return NULL;
  }
  char *start = r->p + r->pos;
  start[n] = '\0';
  r->pos += n + 1;
  return start;
}

static char *read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_RECORD) {
    close(fd);
    return NULL;
  }
  char *p = malloc((size_t)st.st_size + 1);
  if (!p) abort();
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, p + got, (size_t)st.st_size - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (got != (size_t)st.st_size) {
    free(p);
    return NULL;
  }
  p[got] = '\0';
  *len = got;
  return p;
}

static unsigned long long ns_of(const struct timespec *t) {
  return (unsigned long long)t->tv_sec * 1000000000ULL + (unsigned long long)t->tv_nsec;
}

/*
 * "stat KIND DEV INO SIZE MTIME_NS CTIME_NS MODE PATHLEN" then the path. KIND: S (all must match),
 * I (dev, inode, size, mode: files whose mtime obox itself moves), L (dev, inode, mode: the
 * directories above the context, whose other entries do not matter), A (absent).
 */
static int check_stat(reader *r, const char *line) {
  char kind;
  unsigned long long dev, ino, size, mtime, ctime, mode;
  size_t plen;
  if (sscanf(line, "stat %c %llu %llu %llu %llu %llu %llo %zu", &kind, &dev, &ino, &size, &mtime, &ctime, &mode, &plen) != 8) {
    r->bad = 1;
    return 0;
  }
  const char *path = next_bytes(r, plen);
  if (!path || !strchr("SILA", kind)) {
    r->bad = 1;
    return 0;
  }
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (kind == 'A' && errno == ENOENT) return 1;
    say("%s: %s", path, strerror(errno));
    return 0;
  }
  if (kind == 'A') {
    say("%s: exists now", path);
    return 0;
  }
  if ((unsigned long long)st.st_dev != dev || (unsigned long long)st.st_ino != ino || (unsigned long long)st.st_mode != mode ||
      (kind != 'L' && (unsigned long long)st.st_size != size)) {
    say("%s: another file now (device, inode, size or mode)", path);
    return 0;
  }
  if (kind == 'S' && (ns_of(&st.st_mtim) != mtime || ns_of(&st.st_ctim) != ctime)) {
    say("%s: changed (mtime or ctime)", path);
    return 0;
  }
  return 1;
}

/* Whether dir has no entries (or does not exist). */
static int dir_is_empty(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT;
  struct dirent *e;
  int empty = 1;
  while (empty && (e = readdir(d)))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = 0;
  closedir(d);
  return empty;
}

/* ---------- the replay ---------- */

typedef struct {
  const char *path; /* the file to replace */
  const char *data; /* with these bytes, NOW replaced by the time */
  size_t len;
} pending_write;

#define NOW_MARK "@@OBOX_NOW@@"
#define SECONDS_MARK "@@OBOX_SECONDS@@"

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

/* Writes `text` to fd with every `mark` replaced by `value`. */
static void write_marked(int fd, const char *text, size_t len, const char *mark, const char *value) {
  size_t ml = strlen(mark);
  const char *end = text + len;
  while (text < end) {
    const char *m = memmem(text, (size_t)(end - text), mark, ml);
    if (!m) {
      write_all(fd, text, (size_t)(end - text));
      return;
    }
    write_all(fd, text, (size_t)(m - text));
    write_all(fd, value, strlen(value));
    text = m + ml;
  }
}

/* Replaces `w->path` atomically: a temp file in the store's tmp/ (named like obox's own, so a
 * killed launcher's leftover is recognised and removed), fsync, rename. */
static int replace_file(const char *root, const pending_write *w, const char *now) {
  char tmp[PATH_MAX];
  unsigned long long rnd = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 20) ^ (unsigned long long)(uintptr_t)&tmp;
  snprintf(tmp, sizeof tmp, "%s/tmp/file-%d-%012llx", root, (int)getpid(), rnd & 0xffffffffffffULL);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return 0;
  write_marked(fd, w->data, w->len, NOW_MARK, now);
  int ok = fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, w->path) != 0) {
    unlink(tmp);
    return 0;
  }
  return 1;
}

static void iso_now(char *out, size_t n) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, n, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

/*
 * Replays the record at `record_path` if every check holds. Returns 1 when it did (and the
 * build's output has been printed), 0 when Node must run the build.
 */
static int replay(const char *root, const char *record_path, const buf *fp, const struct timespec *started) {
  /* A build running, or the leftovers of one that was killed (which a Node build recovers):
     Node then, so recovery never waits on replays. */
  char *tmp = join2(root, "tmp"), *runc = join2(root, "run-v1/runc");
  int quiet_store = dir_is_empty(tmp) && dir_is_empty(runc);
  free(tmp);
  free(runc);
  if (!quiet_store) {
    say("the store has temp items or containers (a build running or killed)");
    return 0;
  }
  reader r = {0};
  r.p = read_file(record_path, &r.len);
  if (!r.p) {
    say("no replay record %s", record_path);
    return 0;
  }
  const char *magic = next_line(&r);
  if (!magic || strcmp(magic, "obox-replay 1") != 0) {
    say("%s: not a record this launcher reads", record_path);
    return 0;
  }
  const char *out = NULL, *err = NULL;
  size_t out_len = 0, err_len = 0;
  const char **touches = NULL;
  size_t ntouch = 0;
  pending_write *writes = NULL;
  size_t nwrite = 0;
  int fingerprint_ok = 0, ended = 0, ok = 1;
  char *line;
  while (ok && !ended && (line = next_line(&r))) {
    size_t n, m;
    if (sscanf(line, "fingerprint %zu", &n) == 1) {
      const char *f = next_bytes(&r, n);
      fingerprint_ok = f && n == fp->len && memcmp(f, fp->p, n) == 0;
      if (!fingerprint_ok) {
        say("another invocation has this record's name");
        ok = 0;
      }
    } else if (strncmp(line, "stat ", 5) == 0) {
      if (!fingerprint_ok) ok = 0;
      else ok = check_stat(&r, line);
    } else if (sscanf(line, "touch %zu", &n) == 1) {
      const char *p = next_bytes(&r, n);
      touches = realloc(touches, (ntouch + 1) * sizeof *touches);
      if (!touches) abort();
      touches[ntouch++] = p;
    } else if (sscanf(line, "write %zu %zu", &n, &m) == 2) {
      const char *p = next_bytes(&r, n);
      const char *d = next_bytes(&r, m);
      writes = realloc(writes, (nwrite + 1) * sizeof *writes);
      if (!writes) abort();
      writes[nwrite++] = (pending_write){p, d, m};
    } else if (sscanf(line, "stdout %zu", &n) == 1) {
      out = next_bytes(&r, n);
      out_len = n;
    } else if (sscanf(line, "stderr %zu", &n) == 1) {
      err = next_bytes(&r, n);
      err_len = n;
    } else if (strcmp(line, "end") == 0) {
      ended = 1;
    } else {
      r.bad = 1;
    }
    if (r.bad) ok = 0;
  }
  if (ok && (!ended || !fingerprint_ok || !out || !err)) {
    say("%s: incomplete record", record_path);
    ok = 0;
  }
  if (ok) {
    /* The entries' mtime is their last use (BuildIndex.touch); a vanished one means a prune
       raced us: let Node decide. */
    for (size_t i = 0; i < ntouch && ok; i++) {
      if (utimensat(AT_FDCWD, touches[i], NULL, AT_SYMLINK_NOFOLLOW) != 0) {
        say("%s: %s", touches[i], strerror(errno));
        ok = 0;
      }
    }
  }
  if (ok) {
    char now[64];
    iso_now(now, sizeof now);
    for (size_t i = 0; i < nwrite; i++) replace_file(root, &writes[i], now);
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    double secs = (double)(end.tv_sec - started->tv_sec) + (double)(end.tv_nsec - started->tv_nsec) / 1e9;
    char seconds[32];
    snprintf(seconds, sizeof seconds, "%.1f", secs);
    write_marked(2, err, err_len, SECONDS_MARK, seconds);
    write_all(1, out, out_len);
  }
  free(touches);
  free(writes);
  free(r.p);
  return ok;
}

/* ---------- falling back to Node ---------- */

/* The first executable `name` on PATH, like `#!/usr/bin/env node`. */
static char *find_on_path(const char *name) {
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  char *copy = strdup(path), *save = NULL;
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    char *cand = join2(*dir ? dir : ".", name);
    if (access(cand, X_OK) == 0) {
      free(copy);
      return cand;
    }
    free(cand);
  }
  free(copy);
  return NULL;
}

static void exec_node(int argc, char **argv) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    fprintf(stderr, "obox: cannot find where obox is installed (/proc/self/exe: %s)\n", strerror(errno));
    exit(70);
  }
  exe[n] = '\0';
  /* native/build/obox-launch → bin/obox.js */
  char *slash = strrchr(exe, '/');
  if (slash) *slash = '\0';
  char script[PATH_MAX + 32];
  snprintf(script, sizeof script, "%s/../../bin/obox.js", exe);
  char *node = find_on_path("node");
  if (!node) {
    fprintf(stderr, "obox: node not found on PATH (obox needs Node.js 20 or newer)\n");
    exit(70);
  }
  char **args = malloc((size_t)(argc + 2) * sizeof *args);
  if (!args) abort();
  args[0] = node;
  args[1] = script;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  args[argc + 1] = NULL;
  execv(node, args);
  fprintf(stderr, "obox: cannot run %s: %s\n", node, strerror(errno));
  exit(70);
}

int main(int argc, char **argv) {
  struct timespec started;
  clock_gettime(CLOCK_MONOTONIC, &started);
  debug = getenv("OBOX_LAUNCH_DEBUG") && strcmp(getenv("OBOX_LAUNCH_DEBUG"), "1") == 0;
  unsetenv("OBOX_REPLAY_RECORD");
  unsetenv("OBOX_REPLAY_FINGERPRINT");
  const char *no_replay = getenv("OBOX_NO_REPLAY");
  if (no_replay && *no_replay && strcmp(no_replay, "0") != 0) exec_node(argc, argv);

  /* Global options obox accepts before the command: only --root takes part here. */
  const char *root_flag = NULL;
  int i = 1;
  while (i < argc) {
    if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
      root_flag = argv[i + 1];
      i += 2;
    } else if (strncmp(argv[i], "--root=", 7) == 0) {
      root_flag = argv[i] + 7;
      i++;
    } else {
      break;
    }
  }
  if (i >= argc || strcmp(argv[i], "build") != 0) exec_node(argc, argv);

  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) exec_node(argc, argv);
  char *root = store_root(root_flag, cwd);
  if (!root) exec_node(argc, argv);

  buf fp = {0};
  fingerprint(&fp, argc, argv, cwd);
  char name[32];
  snprintf(name, sizeof name, "%016llx", (unsigned long long)fnv1a64(fp.p, fp.len));
  char *dir = join2(root, "cache-v1/replay");
  char *record = join2(dir, name);
  if (replay(root, record, &fp, &started)) {
    say("replayed %s", record);
    return 0;
  }
  /* An environment string longer than 128 KiB would make exec fail: no record then. */
  if (fp.len < 90000) {
    setenv("OBOX_REPLAY_RECORD", record, 1);
    setenv("OBOX_REPLAY_FINGERPRINT", base64(fp.p, fp.len), 1);
  }
  exec_node(argc, argv);
  return 70;
}
