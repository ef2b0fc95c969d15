/*
 * Causal multi-head attention between the two projections, forward and backward, on the fused
 * QKV layout the model produces (x Wqkv: [B, T, 3, H, dh]). Per (batch, head): RoPE on q and k
 * (rotate-half, model/rope.ts), S = q k^T / sqrt(dh) with the causal mask, P = softmax(S),
 * O = P v written straight into the merged [B, T, H, dh] layout. The tfjs version of this takes
 * ~20 kernels forward and ~40 backward per layer (transposes, unstack, split/concat for RoPE,
 * scale, mask, softmax and their gradients); here the products are cblas_sgemm on strided views
 * and the rest is one pass each.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "common.h"
#include "vec.h"

/* out[t] = rope(x[t]) for T rows of dh at row stride ldx; sg = -1 applies the transpose. */
static void rope_rows(float *out, int64_t ldo, const float *x, int64_t ldx, const float *cos, const float *sin,
                      int64_t T, int64_t dh, float sg) {
  const int64_t half = dh / 2;
  for (int64_t t = 0; t < T; t++) {
    const float *xr = x + t * ldx, *c = cos + t * dh, *s = sin + t * dh;
    float *yr = out + t * ldo;
    for (int64_t j = 0; j < half; j++) {
      const float x1 = xr[j], x2 = xr[j + half];
      yr[j] = x1 * c[j] - sg * x2 * s[j];
      yr[j + half] = x2 * c[j + half] + sg * x1 * s[j + half];
    }
  }
}

/* The shapes and tensors of one attention call; items are (batch, head) pairs, i = b * H + h. */
typedef struct {
  float *out, *qr, *kr, *probs, *dqkv, *scratch;
  const float *qkv, *dout, *cqr, *ckr, *cprobs, *cos, *sin;
  int64_t B, T, H, dh;
  float scale;
} att_call;

static void fwd_items(void *p, int64_t lo, int64_t hi, int worker) {
  const att_call *c = (const att_call *)p;
  const int64_t T = c->T, H = c->H, dh = c->dh, d = H * dh, ld = 3 * d;
  (void)worker;
  for (int64_t i = lo; i < hi; i++) {
    const int64_t b = i / H, h = i % H;
    const float *base = c->qkv + b * T * ld + h * dh;
    float *q = c->qr + i * T * dh, *k = c->kr + i * T * dh, *p = c->probs + i * T * T;
    rope_rows(q, dh, base, ld, c->cos, c->sin, T, dh, 1.0f);
    rope_rows(k, dh, base + d, ld, c->cos, c->sin, T, dh, 1.0f);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)dh, c->scale, q, (int)dh, k, (int)dh,
                0.0f, p, (int)T);
    for (int64_t r = 0; r < T; r++) {
      float *row = p + r * T, m;
      softmax_row(row, row, r + 1, &m); /* causal: keys 0..r */
      for (int64_t j = r + 1; j < T; j++) row[j] = 0.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)dh, (int)T, 1.0f, p, (int)T, base + 2 * d,
                (int)ld, 0.0f, c->out + b * T * d + h * dh, (int)d);
  }
}

void ng_attention_fwd(float *out, float *qr, float *kr, float *probs, const float *qkv, const float *cos,
                      const float *sin, int64_t B, int64_t T, int64_t H, int64_t dh, float scale) {
  att_call c = {.out = out, .qr = qr, .kr = kr, .probs = probs, .qkv = qkv, .cos = cos, .sin = sin,
                .B = B, .T = T, .H = H, .dh = dh, .scale = scale};
  ng_parallel_for(B * H, fwd_items, &c);
}

static void bwd_items(void *p, int64_t lo, int64_t hi, int worker) {
  const att_call *c = (const att_call *)p;
  const int64_t T = c->T, H = c->H, dh = c->dh, d = H * dh, ld = 3 * d;
  const float scale = c->scale;
  float *ds = c->scratch + worker * (T * T + 2 * T * dh), *dq = ds + T * T, *dk = dq + T * dh;
  for (int64_t i = lo; i < hi; i++) {
    const int64_t b = i / H, h = i % H;
    const float *q = c->cqr + i * T * dh, *k = c->ckr + i * T * dh, *p = c->cprobs + i * T * T;
    const float *v = c->qkv + b * T * ld + h * dh + 2 * d, *dO = c->dout + b * T * d + h * dh;
    float *dbase = c->dqkv + b * T * ld + h * dh;
    /* dP = dO v^T, dv = P^T dO */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)dh, 1.0f, dO, (int)d, v, (int)ld,
                0.0f, ds, (int)T);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)dh, (int)T, 1.0f, p, (int)T, dO, (int)d,
                0.0f, dbase + 2 * d, (int)ld);
    /* dS = P (dP - sum(dP P)) scale, row by row (zero above the diagonal, where P is) */
    for (int64_t r = 0; r < T; r++) {
      float *row = ds + r * T;
      const float *pr = p + r * T;
      const float dot = (float)row_dot(row, pr, r + 1);
      for (int64_t j = 0; j <= r; j++) row[j] = pr[j] * (row[j] - dot) * scale;
      for (int64_t j = r + 1; j < T; j++) row[j] = 0.0f;
    }
    /* dq_r = dS k_r, dk_r = dS^T q_r, then back through RoPE into the qkv gradient */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)dh, (int)T, 1.0f, ds, (int)T, k, (int)dh,
                0.0f, dq, (int)dh);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)dh, (int)T, 1.0f, ds, (int)T, q, (int)dh,
                0.0f, dk, (int)dh);
    rope_rows(dbase, ld, dq, dh, c->cos, c->sin, T, dh, -1.0f);
    rope_rows(dbase + d, ld, dk, dh, c->cos, c->sin, T, dh, -1.0f);
  }
}

int ng_attention_bwd(float *dqkv, const float *dout, const float *qr, const float *kr, const float *probs,
                     const float *qkv, const float *cos, const float *sin, int64_t B, int64_t T, int64_t H,
                     int64_t dh, float scale) {
  /* dS [T, T], dq and dk [T, dh] per worker */
  const int64_t workers = ng_threads() < B * H ? ng_threads() : B * H;
  float *scratch = (float *)malloc((size_t)(workers * (T * T + 2 * T * dh)) * sizeof(float));
  if (scratch == NULL) return -1;
  att_call c = {.dqkv = dqkv, .scratch = scratch, .qkv = qkv, .dout = dout, .cqr = qr, .ckr = kr,
                .cprobs = probs, .cos = cos, .sin = sin, .B = B, .T = T, .H = H, .dh = dh, .scale = scale};
  ng_parallel_for(B * H, bwd_items, &c);
  free(scratch);
  return 0;
}

/* ---- N-API glue ---- */

static napi_value undef(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static int dims_ok(ng_args *a, int64_t B, int64_t T, int64_t H, int64_t dh) {
  if (a->failed) return 0;
  if (B < 1 || T < 1 || H < 1 || dh < 2 || dh % 2 || T > INT32_MAX || H > INT32_MAX || dh > INT32_MAX ||
      T * T > INT32_MAX || 3 * H * dh > INT32_MAX) {
    ng_fail(a, "attention: bad sizes");
    return 0;
  }
  return 1;
}

/* attentionFwd(heap, outOff, qrOff, krOff, probsOff, qkvOff, cosOff, sinOff, B, T, H, dh, scale) */
static napi_value fn_attention_fwd(napi_env env, napi_callback_info info) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 13)) return NULL;
  int64_t B = ng_int(&a, 8), T = ng_int(&a, 9), H = ng_int(&a, 10), dh = ng_int(&a, 11);
  float scale = (float)ng_num(&a, 12);
  if (!dims_ok(&a, B, T, H, dh)) return NULL;
  /* T, H, dh < 2^31 with T*T and 3*H*dh too (dims_ok): only the products with B can overflow */
  const int64_t n = ng_mul(&a, B, T * H * dh), n3 = ng_mul(&a, n, 3), np = ng_mul(&a, B, H * T * T);
  float *out = ng_f32(&a, 1, n), *qr = ng_f32(&a, 2, n), *kr = ng_f32(&a, 3, n), *pr = ng_f32(&a, 4, np);
  const float *qkv = ng_f32(&a, 5, n3), *c = ng_f32(&a, 6, T * dh), *s = ng_f32(&a, 7, T * dh);
  if (a.failed) return NULL;
  ng_attention_fwd(out, qr, kr, pr, qkv, c, s, B, T, H, dh, scale);
  return undef(env);
}

/* attentionBwd(heap, dqkvOff, doutOff, qrOff, krOff, probsOff, qkvOff, cosOff, sinOff, B, T, H, dh, scale) */
static napi_value fn_attention_bwd(napi_env env, napi_callback_info info) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 14)) return NULL;
  int64_t B = ng_int(&a, 9), T = ng_int(&a, 10), H = ng_int(&a, 11), dh = ng_int(&a, 12);
  float scale = (float)ng_num(&a, 13);
  if (!dims_ok(&a, B, T, H, dh)) return NULL;
  const int64_t n = ng_mul(&a, B, T * H * dh), n3 = ng_mul(&a, n, 3), np = ng_mul(&a, B, H * T * T);
  float *dqkv = ng_f32(&a, 1, n3);
  const float *dout = ng_f32(&a, 2, n), *qr = ng_f32(&a, 3, n), *kr = ng_f32(&a, 4, n);
  const float *pr = ng_f32(&a, 5, np), *qkv = ng_f32(&a, 6, n3);
  const float *c = ng_f32(&a, 7, T * dh), *s = ng_f32(&a, 8, T * dh);
  if (a.failed) return NULL;
  if (ng_attention_bwd(dqkv, dout, qr, kr, pr, qkv, c, s, B, T, H, dh, scale) != 0) {
    ng_fail(&a, "attention: out of memory");
    return NULL;
  }
  return undef(env);
}

napi_value ng_register_attention(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"attentionFwd", NULL, fn_attention_fwd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"attentionBwd", NULL, fn_attention_bwd, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}
