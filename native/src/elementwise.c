/*
 * Elementwise kernels: broadcast binary ops over collapsed shapes, unary ops, reductions over
 * the innermost or the leading axis, and a row softmax. Add/Sub/Mul/Div/Max/Min give the same
 * bits as the wasm backend (one IEEE operation per element); exp and sigmoid use ng_expf.
 * Binary, unary and row reductions split their rows (or elements) across the trial's threads
 * when there is enough work (parallel.c): each element is computed as on one thread.
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

typedef struct {
  int op, rank;
  float *out;
  const float *a, *b;
  const int32_t *shape, *sa, *sb;
  int64_t inner;
} binary_call;

/* Rows [lo, hi) of the collapsed output (all axes but the last), each with its operands' offsets. */
static void binary_rows(void *p, int64_t lo, int64_t hi, int worker) {
  const binary_call *c = (const binary_call *)p;
  const int rank = c->rank;
  (void)worker;
  int32_t idx[NG_MAX_RANK] = {0};
  int64_t oa = 0, ob = 0, rest = lo;
  for (int d = rank - 2; d >= 0; d--) {
    idx[d] = (int32_t)(rest % c->shape[d]);
    rest /= c->shape[d];
    oa += (int64_t)idx[d] * c->sa[d];
    ob += (int64_t)idx[d] * c->sb[d];
  }
  for (int64_t o = lo; o < hi; o++) {
    binary_run(c->op, c->out + o * c->inner, c->a + oa, c->sa[rank - 1], c->b + ob, c->sb[rank - 1], c->inner);
    for (int d = rank - 2; d >= 0; d--) {
      idx[d]++;
      oa += c->sa[d];
      ob += c->sb[d];
      if (idx[d] < c->shape[d]) break;
      oa -= (int64_t)c->sa[d] * c->shape[d];
      ob -= (int64_t)c->sb[d] * c->shape[d];
      idx[d] = 0;
    }
  }
}

/* One contiguous run split in pieces (a single collapsed axis): the same element-wise ops. */
static void binary_flat(void *p, int64_t lo, int64_t hi, int worker) {
  const binary_call *c = (const binary_call *)p;
  (void)worker;
  const int64_t ia = c->sa[0], ib = c->sb[0];
  binary_run(c->op, c->out + lo, c->a + lo * ia, ia, c->b + lo * ib, ib, hi - lo);
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
  binary_call c = {op, rank, out, a, b, shape, sa, sb, inner};
  if (rank == 1) ng_parallel_for_work(inner, 1, binary_flat, &c);
  else ng_parallel_for_work(outer, inner, binary_rows, &c);
}

NG_VEC static void unary_run(int op, float *o, const float *x, int64_t n) {
  switch (op) {
    case NG_EXP: for (int64_t i = 0; i < n; i++) o[i] = ng_expf(x[i]); break;
    case NG_SIGMOID: for (int64_t i = 0; i < n; i++) o[i] = ng_sigmoidf(x[i]); break;
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

typedef struct {
  int op;
  float *out;
  const float *x;
  int64_t inner;
} rows_call;

static void unary_items(void *p, int64_t lo, int64_t hi, int worker) {
  const rows_call *c = (const rows_call *)p;
  (void)worker;
  unary_run(c->op, c->out + lo, c->x + lo, hi - lo);
}

void ng_unary(int op, float *o, const float *x, int64_t n) {
  rows_call c = {op, o, x, 1};
  ng_parallel_for_work(n, 1, unary_items, &c);
}

NG_VEC static void reduce_inner_run(int op, float *out, const float *x, int64_t lo, int64_t hi, int64_t inner) {
  for (int64_t r = lo; r < hi; r++) {
    const float *row = x + r * inner;
    if (op == NG_RSUM) out[r] = (float)row_sum(row, inner);
    else if (op == NG_RMEAN) out[r] = (float)(row_sum(row, inner) / (double)inner);
    else out[r] = op == NG_RMAX ? row_max(row, inner) : row_min(row, inner);
  }
}

static void reduce_inner_items(void *p, int64_t lo, int64_t hi, int worker) {
  const rows_call *c = (const rows_call *)p;
  (void)worker;
  reduce_inner_run(c->op, c->out, c->x, lo, hi, c->inner);
}

/* Rows are independent: split across the trial's threads when there is enough of them. */
void ng_reduce_inner(int op, float *out, const float *x, int64_t outer, int64_t inner) {
  rows_call c = {op, out, x, inner};
  ng_parallel_for_work(outer, inner, reduce_inner_items, &c);
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
