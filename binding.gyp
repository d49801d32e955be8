{
  "targets": [
    {
      "target_name": "disk_io",
      "sources": ["native/disk_io.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
