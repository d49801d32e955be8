// What disk I/O needs that Node's fs does not offer: where a file's data and
// holes are (lseek SEEK_DATA / SEEK_HOLE), page cache hints (posix_fadvise),
// the address alignment of a buffer, for O_DIRECT I/O, and writing a new file
// durably as one job on libuv's thread pool.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>
#include "reject_errno.h"

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

// --- writeNewFile(dir, tmp, path, data, overwrite?): Promise<boolean>
//
// Stores `data` as the file `path` (in folder `dir`) unless a file is there
// already (with `overwrite`, whether or not one is, replacing it whole): written to `tmp`, fsynced, renamed into place, and the folder fsynced,
// so a crash leaves the whole file or none. From JavaScript the same steps are
// nine requests to the thread pool, each queued behind the others' writes and
// fsyncs and each needing the main thread between them: a server taking 4 MiB
// chunks spent 45 ms storing each, against 15–20 ms here. When the memory is
// aligned, the whole 4 KiB blocks go around the page cache (O_DIRECT) and the
// tail through it; a file system that refuses O_DIRECT gets everything through
// the cache.
// Resolves to false when a file was at `path` already (it is left as it was),
// unless told to overwrite it.

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref data_ref;
  char *dir, *tmp, *path;
  const uint8_t *data;
  size_t length;
  int existed;
  bool overwrite;
  int err;
  const char *call;
} write_job;

static int write_all(int fd, const uint8_t *p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, at);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += w;
    n -= (size_t)w;
    at += w;
  }
  return 0;
}

// mkdir -p, for the chunk store's fan-out folders.
static int make_dirs(char *path) {
  if (mkdir(path, 0777) == 0 || errno == EEXIST) return 0;
  if (errno != ENOENT) return errno;
  char *slash = strrchr(path, '/');
  if (slash == NULL || slash == path) return ENOENT;
  *slash = '\0';
  int err = make_dirs(path);
  *slash = '/';
  if (err != 0) return err;
  return mkdir(path, 0777) == 0 || errno == EEXIST ? 0 : errno;
}

#define FAIL(what) do { job->err = errno; job->call = what; goto failed; } while (0)

static void write_execute(napi_env env, void *arg) {
  write_job *job = arg;
  struct stat st;
  int fd = -1, created = 0;
  if (!job->overwrite) {
    if (stat(job->path, &st) == 0) {
      job->existed = 1;
      return;
    }
    if (errno != ENOENT) FAIL("stat");
  }
  if ((errno = make_dirs(job->dir)) != 0) FAIL("mkdir");
  size_t body = job->length & ~(size_t)4095;
  int direct = body > 0 && (uintptr_t)job->data % 4096 == 0;
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
  fd = open(job->tmp, flags | (direct ? O_DIRECT : 0), 0640);
  if (fd < 0 && direct && errno == EINVAL) {
    direct = 0;
    fd = open(job->tmp, flags, 0640);
  }
  if (fd < 0) FAIL("open");
  created = 1;
  size_t done = 0;
  if (direct) {
    int err = write_all(fd, job->data, body, 0);
    // Some file systems refuse O_DIRECT only at the first transfer.
    if (err == EINVAL) direct = 0;
    else if (err != 0) { errno = err; FAIL("write"); }
    else done = body;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_DIRECT) < 0) FAIL("fcntl");
  }
  int err = write_all(fd, job->data + done, job->length - done, (off_t)done);
  if (err != 0) { errno = err; FAIL("write"); }
  if (fsync(fd) != 0) FAIL("fsync");
  if (close(fd) != 0) { fd = -1; FAIL("close"); }
  fd = -1;
  if (rename(job->tmp, job->path) != 0) FAIL("rename");
  created = 0;
  // The rename is durable only once the folder that holds it is synced.
  int dfd = open(job->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) FAIL("open");
  if (fsync(dfd) != 0) { int e = errno; close(dfd); errno = e; FAIL("fsync"); }
  close(dfd);
  return;
failed:
  if (fd >= 0) close(fd);
  if (created) unlink(job->tmp);
}

static void write_complete(napi_env env, napi_status status, void *arg) {
  write_job *job = arg;
  napi_value result;
  if (status == napi_ok && job->err == 0) {
    napi_get_boolean(env, !job->existed, &result);
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    reject_errno(env, job->deferred, status == napi_ok ? job->err : EIO, status == napi_ok ? job->call : "writeNewFile", job->tmp);
  }
  napi_delete_reference(env, job->data_ref);
  napi_delete_async_work(env, job->work);
  free(job->dir);
  free(job->tmp);
  free(job->path);
  free(job);
}

static char *string_arg(napi_env env, napi_value value) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) return NULL;
  char *s = malloc(length + 1);
  if (s != NULL) napi_get_value_string_utf8(env, value, s, length + 1, &length);
  return s;
}

// Queues `job` on the thread pool and returns the promise its completion
// settles; the reference keeps `memory` (the buffer the job reads or fills)
// alive until then.
static napi_value queue_job(napi_env env, const char *name, napi_value memory, napi_ref *memory_ref, napi_deferred *deferred, napi_async_work *work,
                            napi_async_execute_callback execute, napi_async_complete_callback complete, void *job) {
  napi_value promise, resource_name;
  napi_create_reference(env, memory, 1, memory_ref);
  napi_create_promise(env, deferred, &promise);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name);
  napi_create_async_work(env, NULL, resource_name, execute, complete, job, work);
  napi_queue_async_work(env, *work);
  return promise;
}

static napi_value write_new_file(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  bool is_typedarray = false;
  write_job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 || napi_is_typedarray(env, argv[3], &is_typedarray) != napi_ok ||
      !is_typedarray || napi_get_typedarray_info(env, argv[3], NULL, &job->length, &data, NULL, NULL) != napi_ok || (job->dir = string_arg(env, argv[0])) == NULL ||
      (job->tmp = string_arg(env, argv[1])) == NULL || (job->path = string_arg(env, argv[2])) == NULL) {
    free(job->dir);
    free(job->tmp);
    free(job);
    napi_throw_type_error(env, NULL, "expected (dir: string, tmp: string, path: string, data: Uint8Array, overwrite?: boolean)");
    return NULL;
  }
  if (argc >= 5) napi_get_value_bool(env, argv[4], &job->overwrite);
  job->data = data;
  return queue_job(env, "cairn:writeNewFile", argv[3], &job->data_ref, &job->deferred, &job->work, write_execute, write_complete, job);
}

// --- readFileInto(path, into): Promise<number>
//
// Reads the whole file `path` into the start of `into` as one job on the thread
// pool (open, fstat, read, close through node:fs are four, each queued behind
// other requests' reads). With `into` aligned and long enough for the file
// rounded up to whole blocks, it reads around the page cache. Resolves
// to the bytes read, or -1 when the file is larger than `into` (nothing read).

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref into_ref;
  char *path;
  uint8_t *into;
  size_t capacity;
  int64_t length;
  int err;
  const char *call;
} read_job;

static void read_execute(napi_env env, void *arg) {
  read_job *job = arg;
  int direct = (uintptr_t)job->into % 4096 == 0;
  int fd = open(job->path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
  if (fd < 0 && direct && errno == EINVAL) {
    direct = 0;
    fd = open(job->path, O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) {
    job->err = errno;
    job->call = "open";
    return;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    job->err = errno;
    job->call = "fstat";
    close(fd);
    return;
  }
  size_t size = (size_t)st.st_size, span = (size + 4095) & ~(size_t)4095;
  if (size > job->capacity) {
    job->length = -1;
    close(fd);
    return;
  }
  if (direct && span > job->capacity) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_DIRECT);
    direct = 0;
  }
  size_t want = direct ? span : size, done = 0;
  while (done < want) {
    ssize_t r = pread(fd, job->into + done, want - done, (off_t)done);
    if (r < 0 && errno == EINTR) continue;
    // Some file systems refuse O_DIRECT only at the first transfer.
    if (r < 0 && errno == EINVAL && direct && done == 0) {
      int fl = fcntl(fd, F_GETFL);
      if (fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_DIRECT) == 0) {
        direct = 0;
        want = size;
        continue;
      }
    }
    if (r < 0) {
      job->err = errno;
      job->call = "read";
      close(fd);
      return;
    }
    if (r == 0) break; // shorter than it was: the reader's digest check catches it
    done += (size_t)r;
    // A direct read stops short at the end of the file; reading on from there is not aligned.
    if (done >= size) break;
  }
  close(fd);
  job->length = (int64_t)(done < size ? done : size);
}

static void read_complete(napi_env env, napi_status status, void *arg) {
  read_job *job = arg;
  if (status == napi_ok && job->err == 0) {
    napi_value length;
    napi_create_int64(env, job->length, &length);
    napi_resolve_deferred(env, job->deferred, length);
  } else {
    reject_errno(env, job->deferred, status == napi_ok ? job->err : EIO, status == napi_ok ? job->call : "readFileInto", job->path);
  }
  napi_delete_reference(env, job->into_ref);
  napi_delete_async_work(env, job->work);
  free(job->path);
  free(job);
}

static napi_value read_file_into(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  bool is_typedarray = false;
  read_job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  void *into = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_is_typedarray(env, argv[1], &is_typedarray) != napi_ok ||
      !is_typedarray || napi_get_typedarray_info(env, argv[1], NULL, &job->capacity, &into, NULL, NULL) != napi_ok ||
      (job->path = string_arg(env, argv[0])) == NULL) {
    free(job);
    napi_throw_type_error(env, NULL, "expected (path: string, into: Uint8Array)");
    return NULL;
  }
  job->into = into;
  return queue_job(env, "cairn:readFileInto", argv[1], &job->into_ref, &job->deferred, &job->work, read_execute, read_complete, job);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"seekData", NULL, seek_data, NULL, NULL, NULL, napi_enumerable, NULL},
    {"seekHole", NULL, seek_hole, NULL, NULL, NULL, napi_enumerable, NULL},
    {"adviseSequential", NULL, advise_sequential, NULL, NULL, NULL, napi_enumerable, NULL},
    {"adviseDontNeed", NULL, advise_dont_need, NULL, NULL, NULL, napi_enumerable, NULL},
    {"addressOffset", NULL, address_offset, NULL, NULL, NULL, napi_enumerable, NULL},
    {"writeNewFile", NULL, write_new_file, NULL, NULL, NULL, napi_enumerable, NULL},
    {"readFileInto", NULL, read_file_into, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
