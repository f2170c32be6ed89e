/*
 * obox_native: the Linux syscalls Node has no API for, all of them no-follow.
 *
 *   lgetxattrs(path)                  -> [name, Buffer, name, Buffer, ...]  (llistxattr + lgetxattr)
 *   lgetxattr(path, name)             -> Buffer | null (null when the attribute is absent)
 *   lsetxattr(path, name, value, flags)
 *   lremovexattr(path, name)
 *   mknod(path, mode, major, minor)   (mode includes the S_IF* type bits)
 *   overlayMount(target, options)     fsopen("overlay") + one fsconfig per option ("key=value" or
 *                                     "flag"; "lowerdir+=DIR" once per layer, no page limit) +
 *                                     fsmount + move_mount onto target. Errors carry the
 *                                     kernel's own message from the fs context, when it gave one.
 *   umount(target, lazy)              umount2(target, lazy ? MNT_DETACH : 0)
 *   syncfs(path)                      syncfs(2) of the file system holding path
 *
 * The mount calls save three process spawns (mount, umount, sync -f) per build step.
 * path: a Buffer (raw bytes, as obox keeps file names) or a string (UTF-8).
 * name: a Buffer or a string (latin1, one byte per character).
 * Errors are thrown like Node's own: message "ECODE: text, syscall 'path'", with code, errno,
 * syscall and path properties.
 *
 * Every call is synchronous on purpose: each is one or two syscalls of a few microseconds,
 * cheaper than a libuv thread-pool round trip, and the callers walk many thousands of files.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/mount.h>

#ifndef MNT_DETACH
#define MNT_DETACH 2
#endif

#define CHECK(call)                                                                               \
  do {                                                                                            \
    if ((call) != napi_ok) {                                                                      \
      napi_throw_error(env, "ERR_OBOX_NATIVE", "N-API call failed: " #call);                      \
      return NULL;                                                                                \
    }                                                                                             \
  } while (0)

static const char *errno_code(int err) {
  const char *name = strerrorname_np(err);
  return name != NULL ? name : "EUNKNOWN";
}

static void throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  char msg[4096 + 256];
  const char *code = errno_code(err);
  snprintf(msg, sizeof msg, "%s: %s, %s '%s'", code, strerror(err), syscall, path);
  napi_value code_v, msg_v, error, errno_v, syscall_v, path_v;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v) != napi_ok) return;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &msg_v) != napi_ok) return;
  if (napi_create_error(env, code_v, msg_v, &error) != napi_ok) return;
  napi_create_int32(env, -err, &errno_v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_v);
  napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &path_v);
  napi_set_named_property(env, error, "errno", errno_v);
  napi_set_named_property(env, error, "syscall", syscall_v);
  napi_set_named_property(env, error, "path", path_v);
  napi_throw(env, error);
}

/* A NUL-terminated copy of a Buffer or string argument; NULL (with a JS exception) on failure. */
static char *arg_bytes(napi_env env, napi_value v, const char *what, int latin1) {
  bool is_buffer = false;
  napi_valuetype t;
  if (napi_is_buffer(env, v, &is_buffer) != napi_ok) return NULL;
  if (is_buffer) {
    void *data;
    size_t len;
    if (napi_get_buffer_info(env, v, &data, &len) != napi_ok) return NULL;
    if (memchr(data, 0, len) != NULL) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", what);
      return NULL;
    }
    char *out = malloc(len + 1);
    if (out == NULL) {
      napi_throw_error(env, "ENOMEM", "out of memory");
      return NULL;
    }
    memcpy(out, data, len);
    out[len] = 0;
    return out;
  }
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return NULL;
  }
  size_t len;
  napi_status st = latin1 ? napi_get_value_string_latin1(env, v, NULL, 0, &len)
                          : napi_get_value_string_utf8(env, v, NULL, 0, &len);
  if (st != napi_ok) return NULL;
  char *out = malloc(len + 1);
  if (out == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  st = latin1 ? napi_get_value_string_latin1(env, v, out, len + 1, &len)
              : napi_get_value_string_utf8(env, v, out, len + 1, &len);
  if (st != napi_ok || strlen(out) != len) {
    free(out);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", what);
    return NULL;
  }
  return out;
}

static napi_value get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < want) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return NULL;
  }
  napi_value ok;
  CHECK(napi_get_boolean(env, true, &ok));
  return ok;
}

/* Reads one attribute's value into a fresh malloc'd buffer. Returns length, or -1 with errno. */
static ssize_t read_value(const char *path, const char *name, char **out) {
  for (int tries = 0; tries < 8; tries++) {
    ssize_t size = lgetxattr(path, name, NULL, 0);
    if (size < 0) return -1;
    char *buf = malloc(size > 0 ? (size_t)size : 1);
    if (buf == NULL) {
      errno = ENOMEM;
      return -1;
    }
    ssize_t got = size > 0 ? lgetxattr(path, name, buf, (size_t)size) : 0;
    if (got >= 0) {
      *out = buf;
      return got;
    }
    free(buf);
    if (errno != ERANGE) return -1; /* ERANGE: it grew between the two calls; try again */
  }
  errno = ERANGE;
  return -1;
}

static napi_value js_lgetxattrs(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv) == NULL) return NULL;
  char *path = arg_bytes(env, argv[0], "path must be a Buffer or string without NUL bytes", 0);
  if (path == NULL) return NULL;

  char *names = NULL;
  ssize_t names_len = -1;
  for (int tries = 0; tries < 8; tries++) {
    ssize_t size = llistxattr(path, NULL, 0);
    if (size <= 0) {
      names_len = size;
      break;
    }
    names = malloc((size_t)size);
    if (names == NULL) {
      errno = ENOMEM;
      names_len = -1;
      break;
    }
    names_len = llistxattr(path, names, (size_t)size);
    if (names_len >= 0 || errno != ERANGE) break;
    free(names);
    names = NULL;
  }
  if (names_len < 0) {
    int err = errno;
    free(names);
    throw_errno(env, err, "llistxattr", path);
    free(path);
    return NULL;
  }

  napi_value result;
  if (napi_create_array(env, &result) != napi_ok) goto fail_napi;
  uint32_t index = 0;
  for (ssize_t off = 0; off < names_len;) {
    const char *name = names + off;
    size_t name_len = strnlen(name, (size_t)(names_len - off));
    off += (ssize_t)name_len + 1;
    if (name_len == 0) continue;
    char *value = NULL;
    ssize_t value_len = read_value(path, name, &value);
    if (value_len < 0) {
      if (errno == ENODATA) continue; /* removed since the listing */
      int err = errno;
      throw_errno(env, err, "lgetxattr", path);
      free(names);
      free(path);
      return NULL;
    }
    napi_value name_v, value_v;
    napi_status s1 = napi_create_string_latin1(env, name, name_len, &name_v);
    napi_status s2 = napi_create_buffer_copy(env, (size_t)value_len, value, NULL, &value_v);
    free(value);
    if (s1 != napi_ok || s2 != napi_ok) goto fail_napi;
    if (napi_set_element(env, result, index++, name_v) != napi_ok) goto fail_napi;
    if (napi_set_element(env, result, index++, value_v) != napi_ok) goto fail_napi;
  }
  free(names);
  free(path);
  return result;

fail_napi:
  free(names);
  free(path);
  napi_throw_error(env, "ERR_OBOX_NATIVE", "N-API call failed in lgetxattrs");
  return NULL;
}

static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) == NULL) return NULL;
  char *path = arg_bytes(env, argv[0], "path must be a Buffer or string without NUL bytes", 0);
  if (path == NULL) return NULL;
  char *name = arg_bytes(env, argv[1], "name must be a Buffer or string without NUL bytes", 1);
  if (name == NULL) {
    free(path);
    return NULL;
  }
  char *value = NULL;
  ssize_t len = read_value(path, name, &value);
  napi_value result = NULL;
  if (len < 0) {
    if (errno == ENODATA) {
      napi_get_null(env, &result);
    } else {
      throw_errno(env, errno, "lgetxattr", path);
    }
  } else {
    if (napi_create_buffer_copy(env, (size_t)len, value, NULL, &result) != napi_ok) {
      napi_throw_error(env, "ERR_OBOX_NATIVE", "napi_create_buffer_copy failed");
      result = NULL;
    }
    free(value);
  }
  free(name);
  free(path);
  return result;
}

static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv) == NULL) return NULL;
  bool is_buffer = false;
  CHECK(napi_is_buffer(env, argv[2], &is_buffer));
  if (!is_buffer) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "value must be a Buffer");
    return NULL;
  }
  void *data;
  size_t len;
  CHECK(napi_get_buffer_info(env, argv[2], &data, &len));
  int32_t flags;
  CHECK(napi_get_value_int32(env, argv[3], &flags));
  char *path = arg_bytes(env, argv[0], "path must be a Buffer or string without NUL bytes", 0);
  if (path == NULL) return NULL;
  char *name = arg_bytes(env, argv[1], "name must be a Buffer or string without NUL bytes", 1);
  if (name == NULL) {
    free(path);
    return NULL;
  }
  if (lsetxattr(path, name, data, len, flags) != 0) throw_errno(env, errno, "lsetxattr", path);
  free(name);
  free(path);
  return NULL;
}

static napi_value js_lremovexattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) == NULL) return NULL;
  char *path = arg_bytes(env, argv[0], "path must be a Buffer or string without NUL bytes", 0);
  if (path == NULL) return NULL;
  char *name = arg_bytes(env, argv[1], "name must be a Buffer or string without NUL bytes", 1);
  if (name == NULL) {
    free(path);
    return NULL;
  }
  if (lremovexattr(path, name) != 0) throw_errno(env, errno, "lremovexattr", path);
  free(name);
  free(path);
  return NULL;
}

static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv) == NULL) return NULL;
  uint32_t mode, major_n, minor_n;
  CHECK(napi_get_value_uint32(env, argv[1], &mode));
  CHECK(napi_get_value_uint32(env, argv[2], &major_n));
  CHECK(napi_get_value_uint32(env, argv[3], &minor_n));
  char *path = arg_bytes(env, argv[0], "path must be a Buffer or string without NUL bytes", 0);
  if (path == NULL) return NULL;
  if (mknod(path, (mode_t)mode, makedev(major_n, minor_n)) != 0) throw_errno(env, errno, "mknod", path);
  free(path);
  return NULL;
}

/* Reads what the kernel logged into an fs context ("e overlay: ..."), for error messages. */
static void context_message(int fd, char *out, size_t size) {
  out[0] = 0;
  char line[512];
  for (int i = 0; i < 8; i++) {
    ssize_t n = read(fd, line, sizeof line - 1);
    if (n <= 0) break;
    line[n] = 0;
    if (n > 2 && line[1] == ' ') {
      size_t used = strlen(out);
      snprintf(out + used, size - used, "%s%s", used > 0 ? "; " : "", line + 2);
    }
  }
}

static void throw_mount_errno(napi_env env, int err, const char *syscall, const char *target, int ctx_fd) {
  char detail[1024];
  if (ctx_fd >= 0) context_message(ctx_fd, detail, sizeof detail);
  else detail[0] = 0;
  throw_errno(env, err, syscall, target);
  if (detail[0] == 0) return;
  /* Attach the kernel's words to the pending exception as `kernel`. */
  napi_value error, text;
  if (napi_get_and_clear_last_exception(env, &error) != napi_ok) return;
  if (napi_create_string_utf8(env, detail, NAPI_AUTO_LENGTH, &text) == napi_ok) napi_set_named_property(env, error, "kernel", text);
  napi_throw(env, error);
}

static napi_value js_overlay_mount(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) == NULL) return NULL;
  bool is_array = false;
  CHECK(napi_is_array(env, argv[1], &is_array));
  if (!is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "options must be an array of strings");
    return NULL;
  }
  uint32_t count;
  CHECK(napi_get_array_length(env, argv[1], &count));
  char *target = arg_bytes(env, argv[0], "target must be a Buffer or string without NUL bytes", 0);
  if (target == NULL) return NULL;
  int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fs < 0) {
    throw_errno(env, errno, "fsopen", target);
    free(target);
    return NULL;
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    if (napi_get_element(env, argv[1], i, &item) != napi_ok) goto fail_js;
    char *opt = arg_bytes(env, item, "options must be strings without NUL bytes", 0);
    if (opt == NULL) goto fail_js;
    char *eq = strchr(opt, '=');
    long r;
    if (eq == NULL) {
      r = syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, opt, NULL, 0);
    } else {
      *eq = 0;
      r = syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, opt, eq + 1, 0);
    }
    if (r < 0) {
      int err = errno;
      char what[600];
      snprintf(what, sizeof what, "fsconfig %s", opt);
      free(opt);
      throw_mount_errno(env, err, what, target, fs);
      goto fail_js;
    }
    free(opt);
  }
  if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
    throw_mount_errno(env, errno, "fsconfig create", target, fs);
    goto fail_js;
  }
  int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0) {
    throw_mount_errno(env, errno, "fsmount", target, fs);
    goto fail_js;
  }
  if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    int err = errno;
    close(mnt);
    throw_errno(env, err, "move_mount", target);
    goto fail_js;
  }
  close(mnt);
  close(fs);
  free(target);
  return NULL;
fail_js:
  close(fs);
  free(target);
  return NULL;
}

static napi_value js_umount(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) == NULL) return NULL;
  bool lazy = false;
  CHECK(napi_get_value_bool(env, argv[1], &lazy));
  char *target = arg_bytes(env, argv[0], "target must be a Buffer or string without NUL bytes", 0);
  if (target == NULL) return NULL;
  if (syscall(SYS_umount2, target, lazy ? MNT_DETACH : 0) != 0) throw_errno(env, errno, "umount2", target);
  free(target);
  return NULL;
}

static napi_value js_syncfs(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv) == NULL) return NULL;
  char *path = arg_bytes(env, argv[0], "path must be a Buffer or string without NUL bytes", 0);
  if (path == NULL) return NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
  if (fd < 0) {
    throw_errno(env, errno, "open", path);
  } else {
    if (syncfs(fd) != 0) throw_errno(env, errno, "syncfs", path);
    close(fd);
  }
  free(path);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"lgetxattrs", NULL, js_lgetxattrs, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lremovexattr", NULL, js_lremovexattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mknod", NULL, js_mknod, NULL, NULL, NULL, napi_enumerable, NULL},
      {"overlayMount", NULL, js_overlay_mount, NULL, NULL, NULL, napi_enumerable, NULL},
      {"umount", NULL, js_umount, NULL, NULL, NULL, napi_enumerable, NULL},
      {"syncfs", NULL, js_syncfs, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
