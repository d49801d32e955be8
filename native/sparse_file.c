// Finds where a file's data and holes are (lseek SEEK_DATA / SEEK_HOLE) and
// tells the kernel a file will be read sequentially (posix_fadvise): Node
// exposes neither, and a backup that reads a sparse disk image's holes pays
// for the kernel zero-filling them and for hashing the zeros.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value code, msg, error;
  napi_create_string_utf8(env, err == EINVAL ? "EINVAL" : err == EBADF ? "EBADF" : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_value errno_value;
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
  return NULL;
}

static int read_args(napi_env env, napi_callback_info info, int32_t *fd, int64_t *pos) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[0], fd) != napi_ok || napi_get_value_int64(env, argv[1], pos) != napi_ok || *pos < 0) {
    napi_throw_type_error(env, NULL, "expected (fd: number, position: non-negative number)");
    return 0;
  }
  return 1;
}

// The offset of the first data at or after `position`, or -1 if there is none.
static napi_value seek(napi_env env, napi_callback_info info, int whence, const char *what) {
  int32_t fd;
  int64_t pos;
  if (!read_args(env, info, &fd, &pos)) return NULL;
  off_t found = lseek(fd, (off_t)pos, whence);
  if (found < 0) {
    if (errno != ENXIO) return throw_errno(env, what, errno);
    found = -1;
  }
  napi_value result;
  napi_create_int64(env, (int64_t)found, &result);
  return result;
}

static napi_value seek_data(napi_env env, napi_callback_info info) {
  return seek(env, info, SEEK_DATA, "lseek(SEEK_DATA)");
}

static napi_value seek_hole(napi_env env, napi_callback_info info) {
  return seek(env, info, SEEK_HOLE, "lseek(SEEK_HOLE)");
}

static napi_value advise_sequential(napi_env env, napi_callback_info info) {
  int32_t fd;
  int64_t pos;
  if (!read_args(env, info, &fd, &pos)) return NULL;
  int err = posix_fadvise(fd, (off_t)pos, 0, POSIX_FADV_SEQUENTIAL);
  if (err != 0) return throw_errno(env, "posix_fadvise(SEQUENTIAL)", err);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"seekData", NULL, seek_data, NULL, NULL, NULL, napi_enumerable, NULL},
    {"seekHole", NULL, seek_hole, NULL, NULL, NULL, napi_enumerable, NULL},
    {"adviseSequential", NULL, advise_sequential, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
