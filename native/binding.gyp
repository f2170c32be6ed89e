{
  "targets": [
    {
      "target_name": "obox_native",
      "sources": ["src/obox_native.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
