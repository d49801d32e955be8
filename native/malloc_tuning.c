// What Node does not let a process say about its allocator: that memory
// freed at the top of glibc malloc's heaps should stay with the process.
// glibc gives such memory back to the kernel as soon as 128 KiB of it is
// free (brk, or madvise in threads' arenas), and a server that receives
// chunks through 64 KiB socket buffers frees and reallocates that much many
// times a second: each time, every page faults in afresh. See
// src/io/malloc-tuning.ts for what that cost.
#include <node_api.h>
#include <stdint.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

// retainFreedMemory(trimThreshold, topPad, arenaMax): boolean, whether the
// allocator took all three (false where it is not glibc's).
static napi_value retain_freed_memory(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t values[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "expected (trimThreshold, topPad, arenaMax: number)");
    return NULL;
  }
  for (int i = 0; i < 3; i++) {
    if (napi_get_value_int32(env, argv[i], &values[i]) != napi_ok || values[i] < 0) {
      napi_throw_type_error(env, NULL, "expected (trimThreshold, topPad, arenaMax: non-negative 32-bit number)");
      return NULL;
    }
  }
  bool taken = false;
#ifdef __GLIBC__
  taken = mallopt(M_TRIM_THRESHOLD, values[0]) == 1 && mallopt(M_TOP_PAD, values[1]) == 1 && mallopt(M_ARENA_MAX, values[2]) == 1;
#endif
  napi_value result;
  napi_get_boolean(env, taken, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"retainFreedMemory", NULL, retain_freed_memory, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
