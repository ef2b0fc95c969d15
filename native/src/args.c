/*
 * Argument handling for the N-API functions: numbers, and float/int pointers into the wasm
 * heap checked against its length (a bad offset throws in JS instead of corrupting memory).
 */
#include "common.h"

void ng_fail(ng_args *a, const char *msg) {
  if (!a->failed) napi_throw_error(a->env, "ENGRAM_NATIVE", msg);
  a->failed = 1;
}

int ng_args_plain(napi_env env, napi_callback_info info, ng_args *a, size_t need) {
  a->env = env;
  a->argc = NG_MAX_ARGS;
  a->heap = NULL;
  a->heap_len = 0;
  a->failed = 0;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok) {
    ng_fail(a, "cannot read the arguments");
    return 0;
  }
  if (a->argc < need) {
    ng_fail(a, "too few arguments");
    return 0;
  }
  return 1;
}

int ng_args_heap(napi_env env, napi_callback_info info, ng_args *a, size_t need) {
  if (!ng_args_plain(env, info, a, need)) return 0;
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value buffer;
  size_t offset;
  bool is_ta = false;
  napi_is_typedarray(env, a->argv[0], &is_ta);
  if (!is_ta || napi_get_typedarray_info(env, a->argv[0], &type, &length, &data, &buffer, &offset) != napi_ok ||
      type != napi_uint8_array) {
    ng_fail(a, "argument 0 must be the wasm heap (HEAPU8)");
    return 0;
  }
  a->heap = (uint8_t *)data;
  a->heap_len = length;
  return 1;
}

double ng_num(ng_args *a, size_t i) {
  double v = 0;
  if (a->failed) return 0;
  if (i >= a->argc || napi_get_value_double(a->env, a->argv[i], &v) != napi_ok) ng_fail(a, "expected a number");
  return v;
}

int64_t ng_int(ng_args *a, size_t i) {
  int64_t v = 0;
  if (a->failed) return 0;
  if (i >= a->argc || napi_get_value_int64(a->env, a->argv[i], &v) != napi_ok) ng_fail(a, "expected an integer");
  return v;
}

static void *heap_ptr(ng_args *a, size_t i, int64_t count, size_t elem) {
  int64_t off = ng_int(a, i);
  if (a->failed) return NULL;
  if (count < 0 || off < 0 || off % (int64_t)elem != 0) {
    ng_fail(a, "bad heap offset or size");
    return NULL;
  }
  /* off <= heap_len first, then count against the room left: no product that can wrap */
  if ((uint64_t)off > a->heap_len || (uint64_t)count > (a->heap_len - (uint64_t)off) / elem) {
    ng_fail(a, "tensor range lies outside the wasm heap");
    return NULL;
  }
  return a->heap + off;
}

int64_t ng_mul(ng_args *a, int64_t x, int64_t y) {
  int64_t r;
  if (a->failed) return -1;
  if (x < 0 || y < 0 || __builtin_mul_overflow(x, y, &r)) {
    ng_fail(a, "size overflow: a tensor size or stride product exceeds int64");
    return -1;
  }
  return r;
}

int64_t ng_add(ng_args *a, int64_t x, int64_t y) {
  int64_t r;
  if (a->failed) return -1;
  if (x < 0 || y < 0 || __builtin_add_overflow(x, y, &r)) {
    ng_fail(a, "size overflow: a tensor size or stride sum exceeds int64");
    return -1;
  }
  return r;
}

float *ng_f32(ng_args *a, size_t i, int64_t count) { return (float *)heap_ptr(a, i, count, 4); }

int32_t *ng_i32(ng_args *a, size_t i, int64_t count) { return (int32_t *)heap_ptr(a, i, count, 4); }

void *ng_typed_array(ng_args *a, size_t i, napi_typedarray_type want, size_t *len, const char *msg) {
  napi_typedarray_type type;
  void *data;
  napi_value buffer;
  size_t offset;
  bool is_ta = false;
  if (a->failed) return NULL;
  if (i < a->argc) napi_is_typedarray(a->env, a->argv[i], &is_ta);
  if (!is_ta || napi_get_typedarray_info(a->env, a->argv[i], &type, len, &data, &buffer, &offset) != napi_ok ||
      type != want) {
    ng_fail(a, msg);
    return NULL;
  }
  return data;
}

int32_t *ng_int_array(ng_args *a, size_t i, size_t *len) {
  return (int32_t *)ng_typed_array(a, i, napi_int32_array, len, "expected an Int32Array");
}
