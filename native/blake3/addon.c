// BLAKE3 of a byte view, for chunk digests: on CPUs without SHA instructions
// it runs an order of magnitude faster than SHA-256 (see src/engine/chunk-hash.ts).
// The implementation is BLAKE3's own C and assembly, which the upstream_* files
// here include from the directory native/blake3/locate.mjs finds: nothing of it
// is copied into this repository.
#include <node_api.h>
#include <stdint.h>

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
#endif

static napi_value init(napi_env env, napi_value exports) {
#ifndef CAIRN_NO_BLAKE3
  napi_property_descriptor props[] = {
      {"hash", NULL, hash, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
#endif
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
