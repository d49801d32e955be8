{
  "targets": [
    {
      "target_name": "disk_io",
      "sources": ["native/disk_io.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    },
    {
      "target_name": "blake3",
      "sources": ["native/blake3_hash.c", "<!@(node native/blake3-sources.mjs sources)"],
      "include_dirs": ["<!@(node native/blake3-sources.mjs include)"],
      "defines": ["<!@(node native/blake3-sources.mjs defines)"],
      "cflags": ["-O3", "-Wall", "-Wno-unused-parameter"]
    }
  ]
}
