// What the chunk addon's files share: native/blake3/addon.c defines the
// module, native/chunk_jobs.c the jobs it adds when zstd was found.
#ifndef CAIRN_CHUNK_JOBS_H
#define CAIRN_CHUNK_JOBS_H
#include <node_api.h>
#include <stdint.h>
#include <string.h>

void chunk_jobs_define(napi_env env, napi_value exports);

// The first bytes of data that is not zeros are almost never all zeros, so
// this mostly stops at once; for zeros it runs at memory speed.
static inline int all_zero(const uint8_t *p, size_t n) {
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    uint64_t w[8];
    memcpy(w, p + i, 64);
    if ((w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) != 0) return 0;
  }
  for (; i < n; i++)
    if (p[i] != 0) return 0;
  return 1;
}
#endif
