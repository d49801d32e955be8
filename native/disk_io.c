// What disk I/O needs that Node's fs does not offer: where a file's data and
// holes are (lseek SEEK_DATA / SEEK_HOLE), page cache hints (posix_fadvise),
// and the address alignment of a buffer, for O_DIRECT I/O.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
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

// (fd, position, length): the range's clean cached pages are dropped.
static napi_value advise_dont_need(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  int64_t pos, length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int64(env, argv[1], &pos) != napi_ok || napi_get_value_int64(env, argv[2], &length) != napi_ok || pos < 0 || length < 0) {
    napi_throw_type_error(env, NULL, "expected (fd: number, position: non-negative number, length: non-negative number)");
    return NULL;
  }
  int err = posix_fadvise(fd, (off_t)pos, (off_t)length, POSIX_FADV_DONTNEED);
  if (err != 0) return throw_errno(env, "posix_fadvise(DONTNEED)", err);
  return NULL;
}

// Where a view's first byte lies in memory, modulo `alignment`: JavaScript
// cannot see addresses, and O_DIRECT I/O needs memory aligned to the device's
// blocks. Asked of the view rather than its ArrayBuffer because N-API (Node 20)
// opens typed arrays over SharedArrayBuffers too, and not SharedArrayBuffers
// themselves. A backing store never moves (not even when transferred to a
// worker), so the answer holds for the memory's lifetime.
static napi_value address_offset(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t alignment;
  bool is_typedarray = false;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_is_typedarray(env, argv[0], &is_typedarray) != napi_ok ||
      !is_typedarray || napi_get_value_int64(env, argv[1], &alignment) != napi_ok || alignment <= 0) {
    napi_throw_type_error(env, NULL, "expected (view: Uint8Array, alignment: positive number)");
    return NULL;
  }
  if (napi_get_typedarray_info(env, argv[0], NULL, NULL, &data, NULL, NULL) != napi_ok || data == NULL) {
    napi_throw_error(env, NULL, "could not read the view's address");
    return NULL;
  }
  napi_value result;
  napi_create_int64(env, (int64_t)((uintptr_t)data % (uintptr_t)alignment), &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"seekData", NULL, seek_data, NULL, NULL, NULL, napi_enumerable, NULL},
    {"seekHole", NULL, seek_hole, NULL, NULL, NULL, napi_enumerable, NULL},
    {"adviseSequential", NULL, advise_sequential, NULL, NULL, NULL, napi_enumerable, NULL},
    {"adviseDontNeed", NULL, advise_dont_need, NULL, NULL, NULL, napi_enumerable, NULL},
    {"addressOffset", NULL, address_offset, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
