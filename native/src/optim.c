/*
 * Optimizer kernels for src/native/optim.ts: AdamW in place over p, m, v in the wasm heap, and
 * the float64 sum of squares of a gradient (the global norm for clipping).
 */
#include <math.h>

#include "common.h"
#include "vec.h"

/*
 * AdamW in place, with the operations and their order of src/train/adamw.ts (each a float32
 * op, as tfjs does them), so both paths give the same bits:
 *   g' = g scale; m = m b1 + g' (1 - b1); v = v b2 + g'^2 (1 - b2);
 *   u = (m / bc1) / (sqrt(v / bc2) + eps); p = p (1 - lr decay) - u lr
 * c1 = 1 - b1, c2 = 1 - b2, keep = 1 - lr decay come from JS rounded to float32, as tf scalars are.
 */
NG_VEC static void adamw_run(float *p, float *m, float *v, const float *g, int64_t n, const float *k, int scaled,
                             int decayed) {
  const float scale = k[0], b1 = k[1], c1 = k[2], b2 = k[3], c2 = k[4], bc1 = k[5], bc2 = k[6], eps = k[7],
              keep = k[8], lr = k[9];
  for (int64_t i = 0; i < n; i++) {
    const float gi = scaled ? g[i] * scale : g[i];
    const float mi = m[i] * b1 + gi * c1;
    const float vi = v[i] * b2 + (gi * gi) * c2;
    m[i] = mi;
    v[i] = vi;
    const float u = (mi / bc1) / (sqrtf(vi / bc2) + eps);
    p[i] = (decayed ? p[i] * keep : p[i]) - u * lr;
  }
}

typedef struct {
  float *p, *m, *v;
  const float *g;
  const float *k;
  int scaled, decayed;
} adamw_call;

static void adamw_items(void *ctx, int64_t lo, int64_t hi, int worker) {
  const adamw_call *c = (const adamw_call *)ctx;
  (void)worker;
  adamw_run(c->p + lo, c->m + lo, c->v + lo, c->g + lo, hi - lo, c->k, c->scaled, c->decayed);
}

/* Element-wise, so split across the trial's threads when the tensor is big enough. */
void ng_adamw(float *p, float *m, float *v, const float *g, int64_t n, float scale, float b1, float c1, float b2,
              float c2, float bc1, float bc2, float eps, float keep, float lr, int scaled, int decayed) {
  const float k[10] = {scale, b1, c1, b2, c2, bc1, bc2, eps, keep, lr};
  adamw_call c = {p, m, v, g, k, scaled, decayed};
  ng_parallel_for_work(n, 1, adamw_items, &c);
}

/* sum of x^2 in float64 */
NG_VEC double ng_sumsq(const float *x, int64_t n) { return row_dot(x, x, n); }

/* ---- N-API glue ---- */

#define NG_FN(name) static napi_value name(napi_env env, napi_callback_info info)

/* adamw(heap, pOff, mOff, vOff, gOff, n, scale, b1, c1, b2, c2, bc1, bc2, eps, keep, lr, scaled, decayed) */
NG_FN(fn_adamw) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 18)) return NULL;
  int64_t n = ng_int(&a, 5);
  float k[10];
  for (int i = 0; i < 10; i++) k[i] = (float)ng_num(&a, 6 + i);
  int64_t scaled = ng_int(&a, 16), decayed = ng_int(&a, 17);
  if (a.failed) return NULL;
  if (n < 1) {
    ng_fail(&a, "adamw: bad size");
    return NULL;
  }
  float *p = ng_f32(&a, 1, n), *m = ng_f32(&a, 2, n), *v = ng_f32(&a, 3, n);
  const float *g = ng_f32(&a, 4, n);
  if (a.failed) return NULL;
  ng_adamw(p, m, v, g, n, k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9], (int)scaled, (int)decayed);
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* sumSquares(heap, xOff, n) -> number */
NG_FN(fn_sumsq) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 3)) return NULL;
  int64_t n = ng_int(&a, 2);
  if (a.failed) return NULL;
  const float *x = ng_f32(&a, 1, n < 0 ? -1 : n);
  if (a.failed) return NULL;
  napi_value r;
  napi_create_double(env, n > 0 ? ng_sumsq(x, n) : 0.0, &r);
  return r;
}

napi_value ng_register_optim(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"adamw", NULL, fn_adamw, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sumSquares", NULL, fn_sumsq, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}
