/*
 * Fused forward/backward kernels for the ops where tfjs' per-op overhead costs most
 * (FIELD-NOTES "Per-op overhead is real"): RMSNorm, the SwiGLU activation, softmax +
 * cross-entropy, the softmax gradient and RoPE. Each replaces 5-12 tfjs kernels and as many
 * passes over memory with one or two.
 */
#include <math.h>
#include <stdlib.h>

#include "common.h"
#include "vec.h"

/* y = x * inv * w with inv = 1 / sqrt(mean(x^2) + eps) per row; inv [rows] is kept for backward. */
NG_VEC static void rmsnorm_fwd_rows(float *y, float *inv, const float *x, const float *w, int64_t lo, int64_t hi,
                                    int64_t d, float eps) {
  for (int64_t r = lo; r < hi; r++) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    double ss = row_dot(xr, xr, d);
    float iv = (float)(1.0 / sqrt(ss / (double)d + (double)eps));
    inv[r] = iv;
    for (int64_t j = 0; j < d; j++) yr[j] = xr[j] * iv * w[j];
  }
}

/* The arguments of a row-split fused kernel (norm, SwiGLU). */
typedef struct {
  float *y, *inv, *dx, *dw;
  const float *x, *w, *dy, *cinv;
  int64_t d;
  float eps;
} norm_call;

static void rmsnorm_fwd_items(void *p, int64_t lo, int64_t hi, int worker) {
  const norm_call *c = (const norm_call *)p;
  (void)worker;
  rmsnorm_fwd_rows(c->y, c->inv, c->x, c->w, lo, hi, c->d, c->eps);
}

void ng_rmsnorm_fwd(float *y, float *inv, const float *x, const float *w, int64_t rows, int64_t d, float eps) {
  norm_call c = {y, inv, NULL, NULL, x, w, NULL, NULL, d, eps};
  ng_parallel_for_work(rows, d, rmsnorm_fwd_items, &c);
}

/*
 * With xh = x inv and g = dy w: dx = inv (g - xh mean(g xh)) per row (rows split across threads),
 * and dw = sum over rows of dy xh, accumulated in float64 (rows can be ~1e4) row by row in order
 * for each column (columns split), so the bits do not depend on the thread count.
 */
NG_VEC static void rmsnorm_dx_rows(const norm_call *c, int64_t lo, int64_t hi, float *gw) {
  const int64_t d = c->d;
  float *xh = gw + d;
  for (int64_t r = lo; r < hi; r++) {
    const float *xr = c->x + r * d, *gr = c->dy + r * d;
    float *dr = c->dx + r * d;
    const float iv = c->cinv[r];
    for (int64_t j = 0; j < d; j++) {
      xh[j] = xr[j] * iv;
      gw[j] = gr[j] * c->w[j];
    }
    const float m = (float)(row_dot(gw, xh, d) / (double)d);
    for (int64_t j = 0; j < d; j++) dr[j] = iv * (gw[j] - xh[j] * m);
  }
}

NG_VEC static void rmsnorm_dw_cols(const norm_call *c, int64_t rows, int64_t lo, int64_t hi, double *acc) {
  const int64_t d = c->d;
  for (int64_t j = lo; j < hi; j++) acc[j - lo] = 0;
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = c->x + r * d, *gr = c->dy + r * d;
    const float iv = c->cinv[r];
    for (int64_t j = lo; j < hi; j++) acc[j - lo] += (double)gr[j] * (double)(xr[j] * iv);
  }
  for (int64_t j = lo; j < hi; j++) c->dw[j] = (float)acc[j - lo];
}

typedef struct {
  const norm_call *c;
  int64_t rows;
  float *scratch; /* 2 d floats per worker */
  double *acc;    /* d doubles */
  int failed;
} norm_bwd_call;

static void rmsnorm_dx_items(void *p, int64_t lo, int64_t hi, int worker) {
  norm_bwd_call *b = (norm_bwd_call *)p;
  rmsnorm_dx_rows(b->c, lo, hi, b->scratch + (int64_t)worker * 2 * b->c->d);
}

static void rmsnorm_dw_items(void *p, int64_t lo, int64_t hi, int worker) {
  norm_bwd_call *b = (norm_bwd_call *)p;
  (void)worker;
  rmsnorm_dw_cols(b->c, b->rows, lo, hi, b->acc + lo);
}

int ng_rmsnorm_bwd(float *dx, float *dw, const float *dy, const float *x, const float *w, const float *inv,
                   int64_t rows, int64_t d) {
  const norm_call c = {NULL, NULL, dx, dw, x, w, dy, inv, d, 0.0f};
  norm_bwd_call b = {&c, rows, (float *)malloc((size_t)(ng_threads() * 2 * d) * sizeof(float)),
                     (double *)malloc((size_t)d * sizeof(double)), 0};
  if (b.scratch == NULL || b.acc == NULL) {
    free(b.scratch);
    free(b.acc);
    return -1;
  }
  ng_parallel_for_work(rows, d, rmsnorm_dx_items, &b);
  ng_parallel_for_work(d, rows, rmsnorm_dw_items, &b);
  free(b.scratch);
  free(b.acc);
  return 0;
}

/* gu [rows, 2h] = [g | u] -> y [rows, h] = silu(g) * u */
NG_VEC static void swiglu_fwd_rows(float *y, const float *gu, int64_t lo, int64_t hi, int64_t h) {
  for (int64_t r = lo; r < hi; r++) {
    const float *g = gu + r * 2 * h, *u = g + h;
    float *yr = y + r * h;
    for (int64_t j = 0; j < h; j++) yr[j] = g[j] / (1.0f + ng_expf(-g[j])) * u[j];
  }
}

/* dg = dy u s (1 + g (1 - s)), du = dy g s, with s = sigmoid(g) */
NG_VEC static void swiglu_bwd_rows(float *dgu, const float *dy, const float *gu, int64_t lo, int64_t hi, int64_t h) {
  for (int64_t r = lo; r < hi; r++) {
    const float *g = gu + r * 2 * h, *u = g + h, *dyr = dy + r * h;
    float *dg = dgu + r * 2 * h, *du = dg + h;
    for (int64_t j = 0; j < h; j++) {
      float s = ng_sigmoidf(g[j]);
      du[j] = dyr[j] * g[j] * s;
      dg[j] = dyr[j] * u[j] * s * (1.0f + g[j] * (1.0f - s));
    }
  }
}

/* y (dgu backward), gu (x), dy: rows are independent, so they split across threads */
static void swiglu_fwd_items(void *p, int64_t lo, int64_t hi, int worker) {
  const norm_call *c = (const norm_call *)p;
  (void)worker;
  swiglu_fwd_rows(c->y, c->x, lo, hi, c->d);
}

static void swiglu_bwd_items(void *p, int64_t lo, int64_t hi, int worker) {
  const norm_call *c = (const norm_call *)p;
  (void)worker;
  swiglu_bwd_rows(c->dx, c->dy, c->x, lo, hi, c->d);
}

void ng_swiglu_fwd(float *y, const float *gu, int64_t rows, int64_t h) {
  norm_call c = {y, NULL, NULL, NULL, gu, NULL, NULL, NULL, h, 0.0f};
  ng_parallel_for_work(rows, 2 * h, swiglu_fwd_items, &c);
}

void ng_swiglu_bwd(float *dgu, const float *dy, const float *gu, int64_t rows, int64_t h) {
  norm_call c = {NULL, NULL, dgu, NULL, gu, NULL, dy, NULL, h, 0.0f};
  ng_parallel_for_work(rows, 3 * h, swiglu_bwd_items, &c);
}

/* One row of softmax + cross-entropy: writes softmax - onehot(c), returns log(sum) - (z_c - max). */
static inline float ce_row(float *bp, const float *z, int64_t v, int32_t c) {
  float m;
  const double s = softmax_row(bp, z, v, &m);
  bp[c] -= 1.0f;
  return (float)(log(s) - (double)(z[c] - m));
}

typedef struct {
  float *loss, *bp;
  const float *z;
  const int32_t *labels;
  int64_t v;
} ce_call;

NG_VEC static void ce_items(void *p, int64_t lo, int64_t hi, int worker) {
  const ce_call *c = (const ce_call *)p;
  (void)worker;
  for (int64_t r = lo; r < hi; r++) c->loss[r] = ce_row(c->bp + r * c->v, c->z + r * c->v, c->v, c->labels[r]);
}

/* Rows are independent: split across the trial's threads (parallel.c). Labels are checked first. */
void ng_softmax_ce(float *loss, float *backprop, const float *logits, const int32_t *labels, int64_t rows, int64_t v,
                   int *bad_row) {
  *bad_row = -1;
  for (int64_t r = 0; r < rows; r++)
    if (labels[r] < 0 || labels[r] >= v) {
      *bad_row = (int)r;
      return;
    }
  ce_call c = {loss, backprop, logits, labels, v};
  ng_parallel_for(rows, ce_items, &c);
}

/* dx = y (dy - sum(dy y)) per row */
NG_VEC void ng_softmax_bwd(float *dx, const float *dy, const float *y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float *yr = y + r * cols, *gr = dy + r * cols;
    float *dr = dx + r * cols;
    const float d = (float)row_dot(gr, yr, cols);
    for (int64_t j = 0; j < cols; j++) dr[j] = yr[j] * (gr[j] - d);
  }
}

/*
 * Rotate-half RoPE on x [outer, T, dh] with cos, sin [T, dh] (model/rope.ts):
 * out = x cos + [-x2, x1] sin. inverse = 1 applies the transpose (the gradient), which is the
 * same map with sin negated.
 */
NG_VEC void ng_rope(float *out, const float *x, const float *cos, const float *sin, int64_t outer,
                    int64_t T, int64_t dh, int inverse) {
  const int64_t half = dh / 2;
  const float sg = inverse ? -1.0f : 1.0f;
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t t = 0; t < T; t++) {
      const float *xr = x + (o * T + t) * dh, *c = cos + t * dh, *s = sin + t * dh;
      float *yr = out + (o * T + t) * dh;
      for (int64_t j = 0; j < half; j++) {
        float x1 = xr[j], x2 = xr[j + half];
        yr[j] = x1 * c[j] - sg * x2 * s[j];
        yr[j + half] = x2 * c[j + half] + sg * x1 * s[j + half];
      }
    }
  }
}

/* ---- N-API glue ---- */

#define NG_FN(name) static napi_value name(napi_env env, napi_callback_info info)

static napi_value undef(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static int sizes_ok(ng_args *a, int64_t rows, int64_t d, const char *what) {
  if (a->failed) return 0;
  if (rows < 1 || d < 1) {
    ng_fail(a, what);
    return 0;
  }
  return 1;
}

/* rmsnormFwd(heap, yOff, invOff, xOff, wOff, rows, d, eps) */
NG_FN(fn_rmsnorm_fwd) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 8)) return NULL;
  int64_t rows = ng_int(&a, 5), d = ng_int(&a, 6);
  float eps = (float)ng_num(&a, 7);
  if (!sizes_ok(&a, rows, d, "rmsnorm: bad sizes")) return NULL;
  const int64_t n = ng_mul(&a, rows, d);
  float *y = ng_f32(&a, 1, n), *inv = ng_f32(&a, 2, rows);
  const float *x = ng_f32(&a, 3, n), *w = ng_f32(&a, 4, d);
  if (a.failed) return NULL;
  ng_rmsnorm_fwd(y, inv, x, w, rows, d, eps);
  return undef(env);
}

/* rmsnormBwd(heap, dxOff, dwOff, dyOff, xOff, wOff, invOff, rows, d) */
NG_FN(fn_rmsnorm_bwd) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 9)) return NULL;
  int64_t rows = ng_int(&a, 7), d = ng_int(&a, 8);
  if (!sizes_ok(&a, rows, d, "rmsnorm: bad sizes")) return NULL;
  const int64_t n = ng_mul(&a, rows, d);
  float *dx = ng_f32(&a, 1, n), *dw = ng_f32(&a, 2, d);
  const float *dy = ng_f32(&a, 3, n), *x = ng_f32(&a, 4, n);
  const float *w = ng_f32(&a, 5, d), *inv = ng_f32(&a, 6, rows);
  if (a.failed) return NULL;
  if (ng_rmsnorm_bwd(dx, dw, dy, x, w, inv, rows, d) != 0) {
    ng_fail(&a, "rmsnorm: out of memory");
    return NULL;
  }
  return undef(env);
}

/* swigluFwd(heap, yOff, guOff, rows, h) */
NG_FN(fn_swiglu_fwd) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 5)) return NULL;
  int64_t rows = ng_int(&a, 3), h = ng_int(&a, 4);
  if (!sizes_ok(&a, rows, h, "swiglu: bad sizes")) return NULL;
  const int64_t n = ng_mul(&a, rows, h), n2 = ng_mul(&a, n, 2);
  float *y = ng_f32(&a, 1, n);
  const float *gu = ng_f32(&a, 2, n2);
  if (a.failed) return NULL;
  ng_swiglu_fwd(y, gu, rows, h);
  return undef(env);
}

/* swigluBwd(heap, dguOff, dyOff, guOff, rows, h) */
NG_FN(fn_swiglu_bwd) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 6)) return NULL;
  int64_t rows = ng_int(&a, 4), h = ng_int(&a, 5);
  if (!sizes_ok(&a, rows, h, "swiglu: bad sizes")) return NULL;
  const int64_t n = ng_mul(&a, rows, h), n2 = ng_mul(&a, n, 2);
  float *dgu = ng_f32(&a, 1, n2);
  const float *dy = ng_f32(&a, 2, n), *gu = ng_f32(&a, 3, n2);
  if (a.failed) return NULL;
  ng_swiglu_bwd(dgu, dy, gu, rows, h);
  return undef(env);
}

/* softmaxCE(heap, lossOff, bpOff, logitsOff, labelsOff, rows, v) -> bad row or -1 */
NG_FN(fn_softmax_ce) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 7)) return NULL;
  int64_t rows = ng_int(&a, 5), v = ng_int(&a, 6);
  if (!sizes_ok(&a, rows, v, "softmaxCE: bad sizes")) return NULL;
  const int64_t n = ng_mul(&a, rows, v);
  float *loss = ng_f32(&a, 1, rows), *bp = ng_f32(&a, 2, n);
  const float *z = ng_f32(&a, 3, n);
  const int32_t *lab = ng_i32(&a, 4, rows);
  if (a.failed) return NULL;
  int bad = -1;
  ng_softmax_ce(loss, bp, z, lab, rows, v, &bad);
  napi_value r;
  napi_create_int32(env, bad, &r);
  return r;
}

/* softmaxBwd(heap, dxOff, dyOff, yOff, rows, cols) */
NG_FN(fn_softmax_bwd) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 6)) return NULL;
  int64_t rows = ng_int(&a, 4), cols = ng_int(&a, 5);
  if (!sizes_ok(&a, rows, cols, "softmaxBwd: bad sizes")) return NULL;
  const int64_t n = ng_mul(&a, rows, cols);
  float *dx = ng_f32(&a, 1, n);
  const float *dy = ng_f32(&a, 2, n), *y = ng_f32(&a, 3, n);
  if (a.failed) return NULL;
  ng_softmax_bwd(dx, dy, y, rows, cols);
  return undef(env);
}

/* rope(heap, outOff, xOff, cosOff, sinOff, outer, T, dh, inverse) */
NG_FN(fn_rope) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 9)) return NULL;
  int64_t outer = ng_int(&a, 5), T = ng_int(&a, 6), dh = ng_int(&a, 7), inv = ng_int(&a, 8);
  if (!sizes_ok(&a, outer, T, "rope: bad sizes")) return NULL;
  if (dh < 2 || dh % 2) {
    ng_fail(&a, "rope: head dim must be even");
    return NULL;
  }
  const int64_t td = ng_mul(&a, T, dh), n = ng_mul(&a, outer, td);
  float *out = ng_f32(&a, 1, n);
  const float *x = ng_f32(&a, 2, n);
  const float *c = ng_f32(&a, 3, td), *s = ng_f32(&a, 4, td);
  if (a.failed) return NULL;
  ng_rope(out, x, c, s, outer, T, dh, (int)inv);
  return undef(env);
}

napi_value ng_register_fused(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"rmsnormFwd", NULL, fn_rmsnorm_fwd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rmsnormBwd", NULL, fn_rmsnorm_bwd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"swigluFwd", NULL, fn_swiglu_fwd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"swigluBwd", NULL, fn_swiglu_bwd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"softmaxCE", NULL, fn_softmax_ce, NULL, NULL, NULL, napi_enumerable, NULL},
      {"softmaxBwd", NULL, fn_softmax_bwd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rope", NULL, fn_rope, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}
