/*
 * Shared declarations of the engram-sweep native addon (DESIGN "Compute", FIELD-NOTES
 * "Native kernels"). Every kernel works on float32 tensors that live in the tfjs wasm heap:
 * JS passes the heap (a Uint8Array) and byte offsets, the addon checks each range against
 * the heap's length and works in place, without copies.
 */
#ifndef ENGRAM_NATIVE_COMMON_H
#define ENGRAM_NATIVE_COMMON_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#define NG_MAX_ARGS 24
#define NG_MAX_RANK 8

/* The arguments of one call: argv, and the wasm heap when argument 0 is one. */
typedef struct {
  napi_env env;
  napi_value argv[NG_MAX_ARGS];
  size_t argc;
  uint8_t *heap;
  size_t heap_len;
  int failed; /* a JS exception is pending; the caller returns NULL */
} ng_args;

/* Read the call's arguments; argument 0 must be the heap (a Uint8Array). */
int ng_args_heap(napi_env env, napi_callback_info info, ng_args *a, size_t need);
/* Read the call's arguments without a heap. */
int ng_args_plain(napi_env env, napi_callback_info info, ng_args *a, size_t need);
double ng_num(ng_args *a, size_t i);
int64_t ng_int(ng_args *a, size_t i);
/* float* at the byte offset in argument i, checked for `count` elements inside the heap. */
float *ng_f32(ng_args *a, size_t i, int64_t count);
int32_t *ng_i32(ng_args *a, size_t i, int64_t count);
/* An Int32Array argument (shapes, strides); sets *len. */
int32_t *ng_int_array(ng_args *a, size_t i, size_t *len);
/* A typed array argument of type `want` (msg is thrown otherwise); sets *len. */
void *ng_typed_array(ng_args *a, size_t i, napi_typedarray_type want, size_t *len, const char *msg);
void ng_fail(ng_args *a, const char *msg);
/*
 * Overflow-checked size arithmetic for element counts: x * y and x + y of non-negative int64
 * values. A negative operand or a result past INT64_MAX fails the call ("size overflow") and
 * returns -1, which ng_f32 / ng_i32 then refuse, so a chain of them needs one check at the end.
 */
int64_t ng_mul(ng_args *a, int64_t x, int64_t y);
int64_t ng_add(ng_args *a, int64_t x, int64_t y);
/*
 * The hex sha256 of native/src/* this build was compiled from (binding.gyp sets NG_SOURCES_HASH
 * from native/sources-hash.mjs, unquoted); NG_SOURCES_HASH_STR is it as a string.
 */
#define NG_STR_(x) #x
#define NG_STR(x) NG_STR_(x)
#ifdef NG_SOURCES_HASH
#define NG_SOURCES_HASH_STR NG_STR(NG_SOURCES_HASH)
#else
#define NG_SOURCES_HASH_STR "unknown"
#endif

/* Kernels (plain C, no N-API). Sizes are element counts; strides are in elements. */
void ng_sgemm_batch(int batch, int ta, int tb, int M, int N, int K, float alpha,
                    const float *A, int64_t sa, const float *B, int64_t sb,
                    float beta, float *C, int64_t sc);

enum { NG_ADD = 0, NG_SUB = 1, NG_MUL = 2, NG_DIV = 3, NG_MAX = 4, NG_MIN = 5, NG_SQDIFF = 6 };
/* out = a op b over a collapsed broadcast: rank dims, strides of a and b per dim (0 = broadcast). */
void ng_binary(int op, float *out, const float *a, const float *b, int rank,
               const int32_t *shape, const int32_t *sa, const int32_t *sb);

enum { NG_EXP = 0, NG_SIGMOID, NG_NEG, NG_SQUARE, NG_SQRT, NG_RSQRT, NG_RECIP, NG_ABS, NG_RELU, NG_UNARY_COUNT };
void ng_unary(int op, float *out, const float *x, int64_t n);

enum { NG_RSUM = 0, NG_RMAX = 1, NG_RMEAN = 2, NG_RMIN = 3 };
/* Reduce [outer, inner] over inner -> [outer]; reduce_outer: [rows, width] over rows -> [width]. */
void ng_reduce_inner(int op, float *out, const float *x, int64_t outer, int64_t inner);
void ng_reduce_outer(int op, float *out, const float *x, int64_t rows, int64_t width);
void ng_softmax(float *out, const float *x, int64_t rows, int64_t cols);

/* Strided copy of 4-byte elements (copy.c): out and x addressed through their own strides. */
void ng_copy(uint32_t *out, const uint32_t *x, int rank, const int32_t *shape, const int32_t *os,
             const int32_t *xs);

/* Fused ops (fused.c). */
void ng_rmsnorm_fwd(float *y, float *inv, const float *x, const float *w, int64_t rows, int64_t d, float eps);
int ng_rmsnorm_bwd(float *dx, float *dw, const float *dy, const float *x, const float *w,
                   const float *inv, int64_t rows, int64_t d);
void ng_swiglu_fwd(float *y, const float *gu, int64_t rows, int64_t h);
void ng_swiglu_bwd(float *dgu, const float *dy, const float *gu, int64_t rows, int64_t h);
void ng_softmax_ce(float *loss, float *backprop, const float *logits, const int32_t *labels,
                   int64_t rows, int64_t v, int *bad_row);
void ng_softmax_bwd(float *dx, const float *dy, const float *y, int64_t rows, int64_t cols);
void ng_rope(float *out, const float *x, const float *cos, const float *sin, int64_t outer,
             int64_t T, int64_t dh, int inverse);

void ng_adamw(float *p, float *m, float *v, const float *g, int64_t n, float scale, float b1, float c1,
              float b2, float c2, float bc1, float bc2, float eps, float keep, float lr, int scaled, int decayed);
double ng_sumsq(const float *x, int64_t n);

/*
 * The trial's thread count (setThreads) and a split of items [0, n) into contiguous chunks, one
 * per thread, with BLAS single-threaded inside (parallel.c); worker < ng_threads() indexes
 * per-thread scratch. Returns the number of workers used.
 */
typedef void (*ng_range_fn)(void *ctx, int64_t lo, int64_t hi, int worker);
void ng_set_threads(int n);
int ng_threads(void);
int ng_parallel_for(int64_t n, ng_range_fn fn, void *ctx);
/*
 * The same for light per-item work (elementwise ops, norms, the optimizer): n items of `cost`
 * elements each run on the caller's thread below NG_PAR_MIN_WORK elements in all, where starting
 * threads would cost more than it saves. The split never changes an item's arithmetic.
 */
#define NG_PAR_MIN_WORK ((int64_t)1 << 16)
int ng_parallel_for_work(int64_t n, int64_t cost, ng_range_fn fn, void *ctx);

/* Vectorisable exp with correct underflow to denormals and zero, overflow to inf. */
float ng_expf_scalar(float x);

#endif
