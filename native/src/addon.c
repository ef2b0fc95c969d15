/*
 * N-API entry points. Argument 0 of every kernel is the wasm heap (HEAPU8); tensors are byte
 * offsets into it, checked by ng_f32 before use. Signatures are mirrored in src/backend/native/addon.ts.
 */
/* madvise's MADV_HUGEPAGE is a Linux extension, hidden under -std=c11 without this */
#define _DEFAULT_SOURCE
#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "common.h"

#define NG_FN(name) static napi_value name(napi_env env, napi_callback_info info)

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* info(): {config, corename, threads} of the BLAS library, and the sources' hash (sourcesHash). */
NG_FN(fn_info) {
  napi_value o, v;
  napi_create_object(env, &o);
  const char *config = openblas_get_config();
  const char *core = openblas_get_corename();
  napi_create_string_utf8(env, config ? config : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "config", v);
  napi_create_string_utf8(env, core ? core : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "corename", v);
  napi_create_int32(env, openblas_get_num_threads(), &v);
  napi_set_named_property(env, o, "threads", v);
  napi_create_string_utf8(env, NG_SOURCES_HASH_STR, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "sourcesHash", v);
  (void)info;
  return o;
}

/*
 * adviseHugePages(typedArray) -> bytes advised: asks the kernel for transparent huge pages on the
 * 2 MiB-aligned interior of the array's memory (madvise MADV_HUGEPAGE), so that random row reads
 * of a multi-GB table miss the TLB less. Call it before the pages are first written: they then
 * fault in as huge pages where the kernel has them. Values are untouched. 0 where the system has
 * no such advice (not Linux, THP "never", or an array smaller than one huge page).
 */
NG_FN(fn_advise_huge_pages) {
  ng_args a;
  if (!ng_args_plain(env, info, &a, 1)) return NULL;
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value buffer, out;
  bool is_ta = false;
  napi_is_typedarray(env, a.argv[0], &is_ta);
  if (!is_ta || napi_get_typedarray_info(env, a.argv[0], &type, &length, &data, &buffer, &offset) != napi_ok) {
    ng_fail(&a, "expected a typed array");
    return NULL;
  }
  size_t bytes = length * (type == napi_float64_array || type == napi_bigint64_array || type == napi_biguint64_array
                               ? 8
                               : type == napi_float32_array || type == napi_int32_array || type == napi_uint32_array
                                     ? 4
                                     : type == napi_int16_array || type == napi_uint16_array ? 2 : 1);
  double advised = 0;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t start = ((uintptr_t)data + huge - 1) & ~(huge - 1);
  uintptr_t end = ((uintptr_t)data + bytes) & ~(huge - 1);
  if (end > start && madvise((void *)start, end - start, MADV_HUGEPAGE) == 0) advised = (double)(end - start);
#else
  (void)data;
  (void)bytes;
#endif
  napi_create_double(env, advised, &out);
  return out;
}

/* setThreads(n) */
NG_FN(fn_set_threads) {
  ng_args a;
  if (!ng_args_plain(env, info, &a, 1)) return NULL;
  int64_t n = ng_int(&a, 0);
  if (a.failed) return NULL;
  if (n < 1 || n > 1024) {
    ng_fail(&a, "threads must be in [1, 1024]");
    return NULL;
  }
  openblas_set_num_threads((int)n);
  ng_set_threads((int)n);
  return undefined(env);
}

/* sgemm(heap, batch, ta, tb, M, N, K, alpha, aOff, sa, bOff, sb, beta, cOff, sc) */
NG_FN(fn_sgemm) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 15)) return NULL;
  int64_t batch = ng_int(&a, 1), ta = ng_int(&a, 2), tb = ng_int(&a, 3);
  int64_t M = ng_int(&a, 4), N = ng_int(&a, 5), K = ng_int(&a, 6);
  float alpha = (float)ng_num(&a, 7), beta = (float)ng_num(&a, 12);
  int64_t sa = ng_int(&a, 9), sb = ng_int(&a, 11), sc = ng_int(&a, 14);
  if (a.failed) return NULL;
  if (batch < 1 || M < 1 || N < 1 || K < 1 || sa < 0 || sb < 0 || sc < 0 ||
      batch > INT32_MAX || M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || batch * M > INT32_MAX) {
    ng_fail(&a, "sgemm: bad sizes");
    return NULL;
  }
  /* each int32 x int32 product fits int64; the strided sums are checked */
  const float *A = ng_f32(&a, 8, ng_add(&a, ng_mul(&a, batch - 1, sa), M * K));
  const float *B = ng_f32(&a, 10, ng_add(&a, ng_mul(&a, batch - 1, sb), K * N));
  float *C = ng_f32(&a, 13, ng_add(&a, ng_mul(&a, batch - 1, sc), M * N));
  if (a.failed) return NULL;
  ng_sgemm_batch((int)batch, (int)ta, (int)tb, (int)M, (int)N, (int)K, alpha, A, sa, B, sb, beta, C, sc);
  return undefined(env);
}

/* Elements a strided operand spans: 1 + sum (shape[d] - 1) * stride[d] (checked; -1 on overflow). */
static int64_t span(ng_args *a, int rank, const int32_t *shape, const int32_t *stride) {
  int64_t s = 1;
  for (int d = 0; d < rank; d++) s = ng_add(a, s, ng_mul(a, (int64_t)shape[d] - 1, stride[d]));
  return s;
}

/* binary(heap, op, outOff, aOff, bOff, dims) with dims = Int32Array [shape | sa | sb] */
NG_FN(fn_binary) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 6)) return NULL;
  int64_t op = ng_int(&a, 1);
  size_t len = 0;
  int32_t *dims = ng_int_array(&a, 5, &len);
  if (a.failed) return NULL;
  int rank = (int)(len / 3);
  if (len % 3 != 0 || rank > NG_MAX_RANK || op < NG_ADD || op > NG_SQDIFF) {
    ng_fail(&a, "binary: bad op or dims");
    return NULL;
  }
  const int32_t *shape = dims, *sa = dims + rank, *sb = dims + 2 * rank;
  int64_t n = 1;
  for (int d = 0; d < rank; d++) {
    if (shape[d] < 1 || sa[d] < 0 || sb[d] < 0) {
      ng_fail(&a, "binary: bad dims");
      return NULL;
    }
    n = ng_mul(&a, n, shape[d]);
  }
  float *out = ng_f32(&a, 2, n);
  const float *x = ng_f32(&a, 3, span(&a, rank, shape, sa));
  const float *y = ng_f32(&a, 4, span(&a, rank, shape, sb));
  if (a.failed) return NULL;
  ng_binary((int)op, out, x, y, rank, shape, sa, sb);
  return undefined(env);
}

/* copy(heap, outOff, xOff, dims) with dims = Int32Array [shape | out strides | x strides], 4-byte elements */
NG_FN(fn_copy) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 4)) return NULL;
  size_t len = 0;
  int32_t *dims = ng_int_array(&a, 3, &len);
  if (a.failed) return NULL;
  int rank = (int)(len / 3);
  if (len % 3 != 0 || rank > NG_MAX_RANK) {
    ng_fail(&a, "copy: bad dims");
    return NULL;
  }
  const int32_t *shape = dims, *os = dims + rank, *xs = dims + 2 * rank;
  for (int d = 0; d < rank; d++) {
    if (shape[d] < 1 || os[d] < 0 || xs[d] < 0) {
      ng_fail(&a, "copy: bad dims");
      return NULL;
    }
  }
  uint32_t *out = (uint32_t *)ng_f32(&a, 1, span(&a, rank, shape, os));
  const uint32_t *x = (const uint32_t *)ng_f32(&a, 2, span(&a, rank, shape, xs));
  if (a.failed) return NULL;
  ng_copy(out, x, rank, shape, os, xs);
  return undefined(env);
}

/* unary(heap, op, outOff, xOff, n) */
NG_FN(fn_unary) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 5)) return NULL;
  int64_t op = ng_int(&a, 1), n = ng_int(&a, 4);
  if (a.failed) return NULL;
  if (op < 0 || op >= NG_UNARY_COUNT) {
    ng_fail(&a, "unary: bad op");
    return NULL;
  }
  float *out = ng_f32(&a, 2, n);
  const float *x = ng_f32(&a, 3, n);
  if (a.failed) return NULL;
  ng_unary((int)op, out, x, n);
  return undefined(env);
}

/* reduce(heap, op, outOff, xOff, outer, inner, leading): leading = 1 reduces the outer axis */
NG_FN(fn_reduce) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 7)) return NULL;
  int64_t op = ng_int(&a, 1), outer = ng_int(&a, 4), inner = ng_int(&a, 5), lead = ng_int(&a, 6);
  if (a.failed) return NULL;
  if (op < NG_RSUM || op > NG_RMIN || outer < 1 || inner < 1 || (lead && (op == NG_RMAX || op == NG_RMIN))) {
    ng_fail(&a, "reduce: bad op or sizes");
    return NULL;
  }
  float *out = ng_f32(&a, 2, lead ? inner : outer);
  const float *x = ng_f32(&a, 3, ng_mul(&a, outer, inner));
  if (a.failed) return NULL;
  if (lead) ng_reduce_outer((int)op, out, x, outer, inner);
  else ng_reduce_inner((int)op, out, x, outer, inner);
  return undefined(env);
}

/* softmax(heap, outOff, xOff, rows, cols) */
NG_FN(fn_softmax) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 5)) return NULL;
  int64_t rows = ng_int(&a, 3), cols = ng_int(&a, 4);
  if (a.failed) return NULL;
  if (rows < 1 || cols < 1) {
    ng_fail(&a, "softmax: bad sizes");
    return NULL;
  }
  const int64_t n = ng_mul(&a, rows, cols);
  float *out = ng_f32(&a, 1, n);
  const float *x = ng_f32(&a, 2, n);
  if (a.failed) return NULL;
  ng_softmax(out, x, rows, cols);
  return undefined(env);
}

napi_value ng_register_fused(napi_env env, napi_value exports);
napi_value ng_register_attention(napi_env env, napi_value exports);
napi_value ng_register_optim(napi_env env, napi_value exports);
napi_value ng_register_rows(napi_env env, napi_value exports);
napi_value ng_register_host_tables(napi_env env, napi_value exports);
napi_value ng_register_engram_gate(napi_env env, napi_value exports);

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  const napi_property_descriptor fns[] = {
      {"info", NULL, fn_info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, fn_set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sgemm", NULL, fn_sgemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"binary", NULL, fn_binary, NULL, NULL, NULL, napi_enumerable, NULL},
      {"copy", NULL, fn_copy, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unary", NULL, fn_unary, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reduce", NULL, fn_reduce, NULL, NULL, NULL, napi_enumerable, NULL},
      {"softmax", NULL, fn_softmax, NULL, NULL, NULL, napi_enumerable, NULL},
      {"adviseHugePages", NULL, fn_advise_huge_pages, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  ng_register_fused(env, exports);
  ng_register_optim(env, exports);
  ng_register_rows(env, exports);
  ng_register_host_tables(env, exports);
  ng_register_engram_gate(env, exports);
  return ng_register_attention(env, exports);
}
