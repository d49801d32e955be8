{
  "targets": [
    {
      "target_name": "sparse_file",
      "sources": ["native/sparse_file.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
