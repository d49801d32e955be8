{
  "targets": [
    {
      "target_name": "disk_io",
      "sources": ["native/disk_io.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    },
    {
      "target_name": "malloc_tuning",
      "sources": ["native/malloc_tuning.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    },
    {
      "target_name": "chunk",
      "sources": [
        "native/blake3/addon.c",
        "native/chunk_jobs.c",
        "native/blake3/upstream_core.c",
        "native/blake3/upstream_dispatch.c",
        "native/blake3/upstream_portable.c",
        "native/blake3/upstream_neon.c",
        "native/blake3/upstream_sse2.S",
        "native/blake3/upstream_sse41.S",
        "native/blake3/upstream_avx2.S",
        "native/blake3/upstream_avx512.S"
      ],
      "include_dirs": ["<!@(node native/blake3/locate.mjs include)"],
      "defines": ["<!@(node native/blake3/locate.mjs defines)", "<!@(node native/zstd/locate.mjs defines)"],
      "dependencies": ["<!@(node native/zstd/locate.mjs gyp)"],
      "cflags": ["-O3", "-Wall", "-Wno-unused-parameter"]
    }
  ]
}
