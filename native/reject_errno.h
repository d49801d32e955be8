// Rejects a promise like node:fs does: an Error whose message reads
// "ENOENT: no such file or directory, open 'path'", with code, errno (negative,
// as libuv's), syscall and, where there is one, path. Shared by the addons
// that do file I/O on libuv's thread pool.
#ifndef CAIRN_REJECT_ERRNO_H
#define CAIRN_REJECT_ERRNO_H
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

static inline void reject_errno(napi_env env, napi_deferred deferred, int err, const char *call, const char *file) {
  char message[512];
  if (file != NULL) snprintf(message, sizeof message, "%s: %s, %s '%s'", uv_err_name(-err), strerror(err), call, file);
  else snprintf(message, sizeof message, "%s: %s, %s", uv_err_name(-err), strerror(err), call);
  napi_value error, code, msg, syscall, errno_value;
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, -err, &errno_value);
  napi_create_string_utf8(env, call, NAPI_AUTO_LENGTH, &syscall);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_set_named_property(env, error, "code", code);
  napi_set_named_property(env, error, "syscall", syscall);
  if (file != NULL) {
    napi_value path;
    napi_create_string_utf8(env, file, NAPI_AUTO_LENGTH, &path);
    napi_set_named_property(env, error, "path", path);
  }
  napi_reject_deferred(env, deferred, error);
}
#endif
