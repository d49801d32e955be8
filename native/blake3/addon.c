// BLAKE3 of a byte view, for chunk digests: on CPUs without SHA instructions
// it runs an order of magnitude faster than SHA-256 (see src/format/chunk-hash.ts).
// The implementation is BLAKE3's own C and assembly, which the upstream_* files
// here include from the directory native/blake3/locate.mjs finds: nothing of it
// is copied into this repository.
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../chunk_jobs.h"
#include "../reject_errno.h"

#ifndef CAIRN_NO_BLAKE3
#include "blake3.h"

static napi_value hash(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool is_typedarray = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_is_typedarray(env, argv[0], &is_typedarray) != napi_ok ||
      !is_typedarray || napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "expected (data: Uint8Array)");
    return NULL;
  }
  blake3_hasher hasher;
  blake3_hasher_init(&hasher);
  if (length > 0) blake3_hasher_update(&hasher, data, length);
  void *out = NULL;
  napi_value result;
  if (napi_create_buffer(env, BLAKE3_OUT_LEN, &out, &result) != napi_ok) {
    napi_throw_error(env, NULL, "could not allocate the digest");
    return NULL;
  }
  blake3_hasher_finalize(&hasher, out, BLAKE3_OUT_LEN);
  return result;
}

// --- readAndHash(fd, position, into): Promise<{ length, digest: Buffer | null }>
//
// Fills `into` from `fd` at `position` and hashes it on the way, as one job on
// libuv's thread pool: a backup reads every chunk of a disk and needs its
// digest before anything else, and hashing each piece right after reading it
// (in pieces that fit the core's cache) reads memory once instead of twice,
// with no round trip through a worker. On our test VM, reading and hashing
// the data of the benchmark's 2 GiB disk took 466 ms against 507 ms when read
// through node:fs and hashed in workers (medians of 6), and an incremental
// backup of it took 1.09 s against 1.18 s, with 1.13 CPU-s against 1.39.
// Pieces that are all zeros are only compared, not hashed, until one is not:
// the digest is null for a range of zeros, which a backup does not store. The
// range's pages are then dropped from the page cache (a backup reads each
// byte once). `length` is less than `into` only where the file ends first.

#define PIECE (1u << 20)

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref into_ref;
  int fd;
  int64_t position;
  uint8_t *into;
  size_t capacity, length;
  int zero;
  uint8_t digest[BLAKE3_OUT_LEN];
  int err;
} read_hash_job;

static void read_hash_execute(napi_env env, void *arg) {
  read_hash_job *job = arg;
  blake3_hasher hasher;
  blake3_hasher_init(&hasher);
  int zero = 1;
  size_t done = 0;
  while (done < job->capacity) {
    size_t want = job->capacity - done < PIECE ? job->capacity - done : PIECE;
    size_t got = 0;
    while (got < want) {
      ssize_t r = pread(job->fd, job->into + done + got, want - got, (off_t)(job->position + (int64_t)(done + got)));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        job->err = errno;
        return;
      }
      if (r == 0) break;
      got += (size_t)r;
    }
    if (zero && !all_zero(job->into + done, got)) {
      zero = 0;
      // The zeros before this piece were only compared so far.
      if (done > 0) blake3_hasher_update(&hasher, job->into, done);
    }
    if (!zero) blake3_hasher_update(&hasher, job->into + done, got);
    done += got;
    if (got < want) break;
  }
  job->length = done;
  job->zero = zero;
  if (!zero) blake3_hasher_finalize(&hasher, job->digest, BLAKE3_OUT_LEN);
  if (done > 0) posix_fadvise(job->fd, (off_t)job->position, (off_t)done, POSIX_FADV_DONTNEED);
}

static void read_hash_complete(napi_env env, napi_status status, void *arg) {
  read_hash_job *job = arg;
  if (status == napi_ok && job->err == 0) {
    napi_value result, length, digest;
    napi_create_object(env, &result);
    napi_create_int64(env, (int64_t)job->length, &length);
    if (job->zero) {
      napi_get_null(env, &digest);
    } else {
      void *out = NULL;
      napi_create_buffer_copy(env, BLAKE3_OUT_LEN, job->digest, &out, &digest);
    }
    napi_set_named_property(env, result, "length", length);
    napi_set_named_property(env, result, "digest", digest);
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    reject_errno(env, job->deferred, status == napi_ok ? job->err : EIO, "read", NULL);
  }
  napi_delete_reference(env, job->into_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value read_and_hash(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  bool is_typedarray = false;
  napi_typedarray_type type;
  void *into = NULL;
  read_hash_job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || napi_get_value_int32(env, argv[0], &job->fd) != napi_ok ||
      napi_get_value_int64(env, argv[1], &job->position) != napi_ok || job->position < 0 || napi_is_typedarray(env, argv[2], &is_typedarray) != napi_ok ||
      !is_typedarray || napi_get_typedarray_info(env, argv[2], &type, &job->capacity, &into, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    free(job);
    napi_throw_type_error(env, NULL, "expected (fd: number, position: non-negative number, into: Uint8Array)");
    return NULL;
  }
  job->into = into;
  napi_value promise, name;
  napi_create_reference(env, argv[2], 1, &job->into_ref);
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "cairn:readAndHash", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, read_hash_execute, read_hash_complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}
#endif

static napi_value init(napi_env env, napi_value exports) {
#ifndef CAIRN_NO_BLAKE3
  napi_property_descriptor props[] = {
      {"hash", NULL, hash, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readAndHash", NULL, read_and_hash, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  chunk_jobs_define(env, exports);
#endif
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
