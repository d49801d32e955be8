// What Node does not let a process say about its allocator: how much memory
// freed at the top of glibc malloc's heaps stays with the process (brk, or
// madvise in threads' arenas), and how many arenas there are. See
// src/runtime/malloc-tuning.ts for the values and what they cost and save.
#include <node_api.h>
#include <stdatomic.h>
#include <stdint.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#ifdef __linux__
#include <stdio.h>
#include <sys/mman.h>
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

// The size of the transparent huge pages this kernel makes: 2 MiB on x86-64
// and on arm64 with 4 KiB pages, 512 MiB on arm64 with 64 KiB pages. Read
// once (worker threads may load this module at the same time, and would read
// the same); 0 where the kernel has none to make.
static uintptr_t huge_page_size(void) {
  static _Atomic uintptr_t cached = UINTPTR_MAX;
  uintptr_t size = atomic_load(&cached);
  if (size != UINTPTR_MAX) return size;
  size = 0;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
  if (f != NULL) {
    unsigned long long value = 0;
    // Only a power of two is a page size; anything else means none.
    if (fscanf(f, "%llu", &value) == 1 && value > 0 && (value & (value - 1)) == 0) size = (uintptr_t)value;
    fclose(f);
  }
#endif
  atomic_store(&cached, size);
  return size;
}

// adviseHugePages(view): boolean, whether the kernel will back the view's
// memory with transparent huge pages (hugePageSize) where it can. Only the
// whole huge pages inside the view are advised, so nothing outside it changes; a
// view holding none of them is left alone (false). Where a page fault costs
// about 10 µs (a VM with shadow page tables, as our test machine is), first
// touching 64 MiB took 180 ms in 4 KiB pages and 4-6 ms in huge ones.
static napi_value advise_huge_pages(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool is_typedarray = false;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_is_typedarray(env, argv[0], &is_typedarray) != napi_ok ||
      !is_typedarray || napi_get_typedarray_info(env, argv[0], NULL, &length, &data, NULL, NULL) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected (view: Uint8Array)");
    return NULL;
  }
  bool advised = false;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = huge_page_size();
  uintptr_t start = ((uintptr_t)data + huge - 1) & ~(huge - 1);
  uintptr_t end = ((uintptr_t)data + length) & ~(huge - 1);
  if (huge > 0 && data != NULL && end > start) advised = madvise((void *)start, end - start, MADV_HUGEPAGE) == 0;
#endif
  napi_value result;
  napi_get_boolean(env, advised, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value huge;
  if (napi_create_double(env, (double)huge_page_size(), &huge) != napi_ok) return NULL;
  napi_property_descriptor props[] = {
    {"retainFreedMemory", NULL, retain_freed_memory, NULL, NULL, NULL, napi_enumerable, NULL},
    {"adviseHugePages", NULL, advise_huge_pages, NULL, NULL, NULL, napi_enumerable, NULL},
    {"hugePageSize", NULL, NULL, NULL, NULL, huge, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
