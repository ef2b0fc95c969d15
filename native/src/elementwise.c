/*
 * Elementwise kernels: broadcast binary ops over collapsed shapes, unary ops, reductions over
 * the innermost or the leading axis, and a row softmax. Add/Sub/Mul/Div/Max/Min give the same
 * bits as the wasm backend (one IEEE operation per element); exp and sigmoid use ng_expf.
 */
#include <math.h>

#include "common.h"
#include "vec.h"

float ng_expf_scalar(float x) { return ng_expf(x); }

#define NG_BINARY_LOOP(EXPR)                                                      \
  if (ia == 1 && ib == 1) {                                                       \
    for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; o[i] = (EXPR); }  \
  } else if (ia == 1 && ib == 0) {                                                \
    const float y = b[0];                                                         \
    for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = (EXPR); }            \
  } else if (ia == 0 && ib == 1) {                                                \
    const float x = a[0];                                                         \
    for (int64_t i = 0; i < n; i++) { float y = b[i]; o[i] = (EXPR); }            \
  } else {                                                                        \
    for (int64_t i = 0; i < n; i++) { float x = a[i * ia], y = b[i * ib]; o[i] = (EXPR); } \
  }

NG_VEC static void binary_run(int op, float *o, const float *a, int64_t ia, const float *b,
                              int64_t ib, int64_t n) {
  switch (op) {
    case NG_ADD: NG_BINARY_LOOP(x + y) break;
    case NG_SUB: NG_BINARY_LOOP(x - y) break;
    case NG_MUL: NG_BINARY_LOOP(x * y) break;
    case NG_DIV: NG_BINARY_LOOP(x / y) break;
    /* NaN-propagating like std::max/min in the wasm kernels is not needed by the model;
       these follow TF: a NaN on either side gives NaN. */
    case NG_MAX: NG_BINARY_LOOP((x != x || y != y) ? x + y : (x > y ? x : y)) break;
    case NG_MIN: NG_BINARY_LOOP((x != x || y != y) ? x + y : (x < y ? x : y)) break;
    case NG_SQDIFF: NG_BINARY_LOOP((x - y) * (x - y)) break;
    default: break;
  }
}

void ng_binary(int op, float *out, const float *a, const float *b, int rank,
               const int32_t *shape, const int32_t *sa, const int32_t *sb) {
  if (rank == 0) {
    binary_run(op, out, a, 1, b, 1, 1);
    return;
  }
  const int64_t inner = shape[rank - 1];
  int64_t outer = 1;
  for (int d = 0; d < rank - 1; d++) outer *= shape[d];
  int32_t idx[NG_MAX_RANK] = {0};
  int64_t oa = 0, ob = 0;
  for (int64_t o = 0; o < outer; o++) {
    binary_run(op, out + o * inner, a + oa, sa[rank - 1], b + ob, sb[rank - 1], inner);
    for (int d = rank - 2; d >= 0; d--) {
      idx[d]++;
      oa += sa[d];
      ob += sb[d];
      if (idx[d] < shape[d]) break;
      oa -= (int64_t)sa[d] * shape[d];
      ob -= (int64_t)sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}

NG_VEC void ng_unary(int op, float *o, const float *x, int64_t n) {
  switch (op) {
    case NG_EXP: for (int64_t i = 0; i < n; i++) o[i] = ng_expf(x[i]); break;
    case NG_SIGMOID: for (int64_t i = 0; i < n; i++) o[i] = 1.0f / (1.0f + ng_expf(-x[i])); break;
    case NG_NEG: for (int64_t i = 0; i < n; i++) o[i] = -x[i]; break;
    case NG_SQUARE: for (int64_t i = 0; i < n; i++) o[i] = x[i] * x[i]; break;
    case NG_SQRT: for (int64_t i = 0; i < n; i++) o[i] = sqrtf(x[i]); break;
    case NG_RSQRT: for (int64_t i = 0; i < n; i++) o[i] = 1.0f / sqrtf(x[i]); break;
    case NG_RECIP: for (int64_t i = 0; i < n; i++) o[i] = 1.0f / x[i]; break;
    case NG_ABS: for (int64_t i = 0; i < n; i++) o[i] = fabsf(x[i]); break;
    case NG_RELU: for (int64_t i = 0; i < n; i++) o[i] = x[i] > 0.0f ? x[i] : (x[i] != x[i] ? x[i] : 0.0f); break;
    default: break;
  }
}

NG_VEC void ng_reduce_inner(int op, float *out, const float *x, int64_t outer, int64_t inner) {
  for (int64_t r = 0; r < outer; r++) {
    const float *row = x + r * inner;
    if (op == NG_RSUM) out[r] = (float)row_sum(row, inner);
    else if (op == NG_RMEAN) out[r] = (float)(row_sum(row, inner) / (double)inner);
    else out[r] = op == NG_RMAX ? row_max(row, inner) : row_min(row, inner);
  }
}

/* Reduce [rows, width] over rows -> [width] (leading-axis sums: bias and norm gradients). */
NG_VEC void ng_reduce_outer(int op, float *out, const float *x, int64_t rows, int64_t width) {
  for (int64_t j = 0; j < width; j++) out[j] = 0;
  const int64_t block = 512;
  double acc[512];
  for (int64_t j0 = 0; j0 < width; j0 += block) {
    int64_t w = width - j0 < block ? width - j0 : block;
    for (int64_t j = 0; j < w; j++) acc[j] = 0;
    for (int64_t r = 0; r < rows; r++) {
      const float *row = x + r * width + j0;
      for (int64_t j = 0; j < w; j++) acc[j] += row[j];
    }
    double scale = op == NG_RMEAN ? 1.0 / (double)rows : 1.0;
    for (int64_t j = 0; j < w; j++) out[j0 + j] = (float)(acc[j] * scale);
  }
}

NG_VEC void ng_softmax(float *out, const float *x, int64_t rows, int64_t cols) {
  float m;
  for (int64_t r = 0; r < rows; r++) softmax_row(out + r * cols, x + r * cols, cols, &m);
}
