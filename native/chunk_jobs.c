// Chunk work as jobs on libuv's thread pool: hashing, compressing and
// decoding a chunk, each one job that takes the caller's buffers and resolves
// a promise (src/compute/native-pool.ts). Worker threads did this before; each
// costs ~75 ms of CPU to start and a message each way per chunk, and keeps a
// V8 heap of its own (docs/performance.md has what this saved).
//
// The blob format is JavaScript's (src/format/chunk-codec.ts): these jobs see
// only payloads. Whatever they find wrong with one (a zstd frame that is not
// exactly the declared chunk, a digest that differs) they report as such, and
// the JavaScript decoder, which knows the format and its error messages, says
// what is wrong.
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "chunk_jobs.h"

#if !defined(CAIRN_NO_BLAKE3) && !defined(CAIRN_NO_ZSTD)
#include "blake3.h"
#include "zstd.h"

typedef enum { JOB_HASH, JOB_COMPRESS, JOB_DECODE } job_kind;

// More (parameter, value) pairs than zstd has compression parameters worth setting.
#define MAX_PARAMS 16

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref refs[2];
  job_kind kind;
  const uint8_t *in;
  size_t in_length;
  uint8_t *out;
  size_t out_capacity;
  // compress: zstd's (parameter, value) pairs. decode: whether the payload is zstd, and the chunk's length.
  int params[MAX_PARAMS * 2];
  size_t n_params;
  int compressed;
  size_t length;
  // Results: hash and decode give a digest (none for zeros or a bad frame); compress a payload length.
  int has_digest;
  uint8_t digest[BLAKE3_OUT_LEN];
  size_t result;
  // Set when a job could not do its work at all; its promise is rejected with this.
  const char *error;
} chunk_job;

// libuv's threads live as long as the process, and each keeps its own contexts,
// set up with the parameters its last compression job named.
static __thread ZSTD_CCtx *cctx;
static __thread int cctx_params[MAX_PARAMS * 2];
static __thread size_t cctx_n_params;
static __thread ZSTD_DCtx *dctx;

static void digest_of(chunk_job *job, const uint8_t *data, size_t n) {
  blake3_hasher hasher;
  blake3_hasher_init(&hasher);
  blake3_hasher_update(&hasher, data, n);
  blake3_hasher_finalize(&hasher, job->digest, BLAKE3_OUT_LEN);
  job->has_digest = 1;
}

static int set_compression(chunk_job *job) {
  if (cctx == NULL && (cctx = ZSTD_createCCtx()) == NULL) return 0;
  size_t bytes = job->n_params * 2 * sizeof job->params[0];
  if (cctx_n_params == job->n_params && memcmp(cctx_params, job->params, bytes) == 0) return 1;
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  cctx_n_params = 0;
  for (size_t i = 0; i < job->n_params; i++)
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, (ZSTD_cParameter)job->params[2 * i], job->params[2 * i + 1]))) return 0;
  memcpy(cctx_params, job->params, bytes);
  cctx_n_params = job->n_params;
  return 1;
}

static void compress(chunk_job *job) {
  if (!set_compression(job)) {
    job->error = cctx == NULL ? "out of memory for a zstd context" : "zstd refused a compression parameter or its value";
    return;
  }
  // zstd output that would not be smaller is not kept: the payload is the chunk itself.
  size_t n = ZSTD_compress2(cctx, job->out, job->out_capacity, job->in, job->in_length);
  if (!ZSTD_isError(n) && n < job->in_length) {
    job->result = n;
    return;
  }
  memcpy(job->out, job->in, job->in_length);
  job->result = 0;
}

static void decode(chunk_job *job) {
  if (!job->compressed) {
    // A raw payload is hashed where it lies, or copied to `out` first when the caller keeps the chunk.
    const uint8_t *data = job->in;
    if (job->out != NULL) data = memcpy(job->out, job->in, job->in_length);
    digest_of(job, data, job->in_length);
    return;
  }
  if (dctx == NULL && (dctx = ZSTD_createDCtx()) == NULL) return;
  unsigned long long declared = ZSTD_getFrameContentSize(job->in, job->in_length);
  if (ZSTD_findFrameCompressedSize(job->in, job->in_length) != job->in_length) return;
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != job->length) return;
  size_t n = ZSTD_decompressDCtx(dctx, job->out, job->length, job->in, job->in_length);
  if (ZSTD_isError(n) || n != job->length) return;
  digest_of(job, job->out, n);
}

static void execute(napi_env env, void *arg) {
  chunk_job *job = arg;
  switch (job->kind) {
    case JOB_HASH:
      if (!all_zero(job->in, job->in_length)) digest_of(job, job->in, job->in_length);
      break;
    case JOB_COMPRESS:
      compress(job);
      break;
    case JOB_DECODE:
      decode(job);
      break;
  }
}

// Lets go of the buffers a job kept alive, and of the job.
static void release(napi_env env, chunk_job *job) {
  for (int i = 0; i < 2; i++)
    if (job->refs[i] != NULL) napi_delete_reference(env, job->refs[i]);
  free(job);
}

static void complete(napi_env env, napi_status status, void *arg) {
  chunk_job *job = arg;
  if (status != napi_ok || job->error != NULL) {
    napi_value message, error;
    napi_create_string_utf8(env, status != napi_ok ? "chunk job was cancelled" : job->error, NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  } else {
    napi_value result;
    if (job->kind == JOB_COMPRESS) {
      napi_create_int64(env, (int64_t)job->result, &result);
    } else if (job->has_digest) {
      void *out = NULL;
      napi_create_buffer_copy(env, BLAKE3_OUT_LEN, job->digest, &out, &result);
    } else {
      napi_get_null(env, &result);
    }
    napi_resolve_deferred(env, job->deferred, result);
  }
  napi_delete_async_work(env, job->work);
  release(env, job);
}

// The bytes of a Uint8Array argument, which the job keeps alive until it completes.
static int take_bytes(napi_env env, napi_value value, chunk_job *job, int slot, void **data, size_t *length) {
  bool is_typedarray = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, value, &is_typedarray) != napi_ok || !is_typedarray ||
      napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) != napi_ok || type != napi_uint8_array)
    return 0;
  return napi_create_reference(env, value, 1, &job->refs[slot]) == napi_ok;
}

static napi_value queue(napi_env env, chunk_job *job, const char *name) {
  napi_value promise, resource_name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name);
  napi_create_async_work(env, NULL, resource_name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

static napi_value reject_arguments(napi_env env, chunk_job *job, const char *usage) {
  release(env, job);
  napi_throw_type_error(env, NULL, usage);
  return NULL;
}

// A job of `kind` for a call with at least `argc` arguments (into argv); NULL, with a TypeError thrown, without them.
static chunk_job *new_job(napi_env env, napi_callback_info info, job_kind kind, size_t argc, napi_value *argv, const char *usage) {
  size_t given = argc;
  if (napi_get_cb_info(env, info, &given, argv, NULL, NULL) != napi_ok || given < argc) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  chunk_job *job = calloc(1, sizeof *job);
  if (job == NULL) napi_throw_error(env, NULL, "out of memory");
  else job->kind = kind;
  return job;
}

// hashJob(data): Promise<Buffer | null>, the BLAKE3 of `data`, null when it is all zeros.
static napi_value hash_job(napi_env env, napi_callback_info info) {
  static const char usage[] = "expected (data: Uint8Array)";
  napi_value argv[1];
  chunk_job *job = new_job(env, info, JOB_HASH, 1, argv, usage);
  if (job == NULL) return NULL;
  void *in = NULL;
  if (!take_bytes(env, argv[0], job, 0, &in, &job->in_length)) return reject_arguments(env, job, usage);
  job->in = in;
  return queue(env, job, "cairn:hashChunk");
}

// compressJob(data, into, parameters): Promise<number>. Writes the zstd frame
// of `data` to `into` and resolves its length, or copies `data` there and
// resolves 0 when zstd does not make it smaller. `into` must hold
// ZSTD_compressBound(data.length) bytes; `parameters` is an Int32Array of
// (ZSTD_cParameter, value) pairs, applied in order to a context reset to
// zstd's defaults.
static napi_value compress_job(napi_env env, napi_callback_info info) {
  static const char usage[] = "expected (data: Uint8Array, into: Uint8Array of compressBound(data.length) bytes, parameters: Int32Array of up to 16 (ZSTD_cParameter, value) pairs)";
  napi_value argv[3];
  chunk_job *job = new_job(env, info, JOB_COMPRESS, 3, argv, usage);
  if (job == NULL) return NULL;
  void *in = NULL, *out = NULL, *params = NULL;
  bool is_typedarray = false;
  napi_typedarray_type type;
  size_t n = 0;
  if (!take_bytes(env, argv[0], job, 0, &in, &job->in_length) || !take_bytes(env, argv[1], job, 1, &out, &job->out_capacity) ||
      napi_is_typedarray(env, argv[2], &is_typedarray) != napi_ok || !is_typedarray ||
      napi_get_typedarray_info(env, argv[2], &type, &n, &params, NULL, NULL) != napi_ok || type != napi_int32_array || n == 0 || n % 2 != 0 ||
      n > MAX_PARAMS * 2 || job->out_capacity < ZSTD_compressBound(job->in_length))
    return reject_arguments(env, job, usage);
  // Copied: the caller may change its array while the job runs.
  memcpy(job->params, params, n * sizeof job->params[0]);
  job->n_params = n / 2;
  job->in = in, job->out = out;
  return queue(env, job, "cairn:compressChunk");
}

// decodeJob(payload, compressed, length, into): Promise<Buffer | null>. Decodes
// a blob's payload into `into` (which may be null for a raw payload, hashed in
// place) and resolves the chunk's BLAKE3, or null when a compressed payload is
// not exactly one zstd frame of `length` bytes.
static napi_value decode_job(napi_env env, napi_callback_info info) {
  static const char usage[] = "expected (payload: Uint8Array, compressed: boolean, length: integer, into: Uint8Array of length bytes or null for a raw payload)";
  napi_value argv[4];
  chunk_job *job = new_job(env, info, JOB_DECODE, 4, argv, usage);
  if (job == NULL) return NULL;
  void *in = NULL, *out = NULL;
  bool compressed = false;
  int64_t length = 0;
  napi_valuetype into_type = napi_undefined;
  if (!take_bytes(env, argv[0], job, 0, &in, &job->in_length) || napi_get_value_bool(env, argv[1], &compressed) != napi_ok || napi_get_value_int64(env, argv[2], &length) != napi_ok || length < 0 ||
      napi_typeof(env, argv[3], &into_type) != napi_ok)
    return reject_arguments(env, job, usage);
  job->compressed = compressed;
  job->length = (size_t)length;
  if (into_type != napi_null && !take_bytes(env, argv[3], job, 1, &out, &job->out_capacity)) return reject_arguments(env, job, usage);
  if ((out == NULL && compressed) || (out != NULL && job->out_capacity < job->length) || (!compressed && job->in_length != job->length))
    return reject_arguments(env, job, usage);
  job->in = in, job->out = out;
  return queue(env, job, "cairn:decodeChunk");
}

void chunk_jobs_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"hashJob", NULL, hash_job, NULL, NULL, NULL, napi_enumerable, NULL},
      {"compressJob", NULL, compress_job, NULL, NULL, NULL, napi_enumerable, NULL},
      {"decodeJob", NULL, decode_job, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
#else
void chunk_jobs_define(napi_env env, napi_value exports) {}
#endif
