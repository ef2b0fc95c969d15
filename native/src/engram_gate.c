/*
 * The Engram fusion after the memory projections (src/model/engram.ts, docs/SPEC.md section 3)
 * as one kernel forward and one backward, for one branch (hc_mult = 1, the only setting the
 * trainer accepts):
 *   k = RMSNorm(kpre), q = RMSNorm(h), s = q.k / sqrt(d), then the reference's signed square
 *   root, alpha = sigmoid(s), vt = alpha v, y = CausalConv(RMSNorm(vt)), out = SiLU(y) + vt.
 *
 * Same bits as the stock path by construction: every step is the IEEE float32 operation the
 * stock path's kernel does (elementwise.c's binary/unary ops, its float64 row and column sums,
 * fused.c's RMSNorm), in the order tfjs' autodiff applies them, including the order in which
 * it adds the gradients of a tensor with several consumers (the later consumer's first) and the
 * zeros its pad-shaped slice gradients add. The build has -ffp-contract=off, so no fused
 * multiply-add changes a rounding. test/native/engram-gate.test.ts compares both paths bit for
 * bit, forward and every gradient.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "vec.h"

/* The shapes: rows = B T, channels d, conv kernel width and dilation (the max n-gram N). */
typedef struct {
  int64_t B, T, d, width, dilation;
  int signed_sqrt;
} gate_dims;

/* What the forward pass keeps for the backward one, regions of one float32 buffer. */
typedef struct {
  float *kn, *qn, *cn, *y; /* [rows, d] each: normed key, normed query, normed vt, conv output */
  float *inv_k, *inv_q, *inv_c, *s; /* [rows] each: the norms' 1/rms, the score before the signed root */
} gate_saved;

static gate_saved saved_regions(float *base, int64_t rows, int64_t d) {
  const int64_t n = rows * d;
  gate_saved s = {base, base + n, base + 2 * n, base + 3 * n, base + 4 * n, base + 4 * n + rows,
                  base + 4 * n + 2 * rows, base + 4 * n + 3 * rows};
  return s;
}

/* tf.maximum as elementwise.c's NG_MAX: a NaN on either side gives NaN */
static inline float max_ng(float x, float y) { return (x != x || y != y) ? x + y : (x > y ? x : y); }

/* tf.sign (the wasm kernel): 1, -1 or 0 */
static inline float sign_ng(float x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f); }

/*
 * Row t' of the front-padded conv input xp[b] ([T + (width - 1) N, d]): a row of cn, or the
 * zero row for the (width - 1) N leading steps (multiplied like any other row, as the stock
 * path multiplies its padding).
 */
static inline const float *padded_row(const float *cn, const float *zeros, const gate_dims *g, int64_t b, int64_t tp) {
  const int64_t pad = (g->width - 1) * g->dilation;
  return tp >= pad ? cn + (b * g->T + tp - pad) * g->d : zeros;
}

/* conv [d, width] -> by tap [width, d], so the loops over channels read both sides contiguously */
static void conv_by_tap(float *wt, const float *conv, int64_t d, int64_t width) {
  for (int64_t c = 0; c < d; c++)
    for (int64_t j = 0; j < width; j++) wt[j * d + c] = conv[c * width + j];
}

/*
 * out [rows, d], alpha [rows], vt [rows, d], saved (saved_count floats) from h, kpre, v [rows, d],
 * the three norm weights [d] and conv [d, width].
 */
NG_VEC static void gate_fwd(float *out, float *alpha, float *vt, gate_saved sv, const float *h, const float *kpre,
                            const float *v, const float *key_norm, const float *query_norm, const float *conv_norm,
                            const float *conv, const gate_dims *g, float gate_eps, float conv_eps, float *tmp) {
  const int64_t rows = g->B * g->T, d = g->d;
  ng_rmsnorm_fwd(sv.kn, sv.inv_k, kpre, key_norm, rows, d, gate_eps);
  ng_rmsnorm_fwd(sv.qn, sv.inv_q, h, query_norm, rows, d, gate_eps);
  const float sqrt_d = (float)sqrt((double)d); /* tf.div's scalar, rounded to float32 */
  for (int64_t r = 0; r < rows; r++) {
    const float *qr = sv.qn + r * d, *kr = sv.kn + r * d, *vr = v + r * d;
    for (int64_t c = 0; c < d; c++) tmp[c] = qr[c] * kr[c];
    float s = (float)row_sum(tmp, d) / sqrt_d; /* tf.sum(q k, 1) / sqrt(d) */
    sv.s[r] = s;
    if (g->signed_sqrt) s = sign_ng(s) * sqrtf(max_ng(fabsf(s), 1e-6f));
    const float a = ng_sigmoidf(s);
    alpha[r] = a;
    for (int64_t c = 0; c < d; c++) vt[r * d + c] = a * vr[c];
  }
  ng_rmsnorm_fwd(sv.cn, sv.inv_c, vt, conv_norm, rows, d, conv_eps);
  /* tmp: [d] row above, then the taps [width, d] and a zero row */
  float *wt = tmp + d, *zeros = wt + g->width * d;
  conv_by_tap(wt, conv, d, g->width);
  memset(zeros, 0, (size_t)d * sizeof(float));
  for (int64_t b = 0; b < g->B; b++) {
    for (int64_t t = 0; t < g->T; t++) {
      const int64_t r = b * g->T + t;
      float *y = sv.y + r * d, *o = out + r * d;
      const float *vtr = vt + r * d;
      /* y = term_0 + term_1 + ... in the stock loop's order */
      const float *x0 = padded_row(sv.cn, zeros, g, b, t);
      for (int64_t c = 0; c < d; c++) y[c] = x0[c] * wt[c];
      for (int64_t j = 1; j < g->width; j++) {
        const float *xj = padded_row(sv.cn, zeros, g, b, t + j * g->dilation), *wj = wt + j * d;
        for (int64_t c = 0; c < d; c++) y[c] = y[c] + xj[c] * wj[c];
      }
      for (int64_t c = 0; c < d; c++) o[c] = y[c] * ng_sigmoidf(y[c]) + vtr[c];
    }
  }
}

/* The gradients' outputs. */
typedef struct {
  float *dh, *dkpre, *dv, *dkey_norm, *dquery_norm, *dconv_norm, *dconv;
} gate_grads;

/* Scratch of the backward pass: three [rows, d] buffers, a row, the taps [width, d], a zero row and
   the conv weights' float64 sums. */
typedef struct {
  float *a, *b, *c, *row;
  double *wacc; /* [width, d] */
} gate_scratch;

NG_VEC static int gate_bwd(gate_grads o, const float *dout, const float *h, const float *kpre, const float *v,
                           const float *key_norm, const float *query_norm, const float *conv_norm,
                           const float *conv, const float *alpha, const float *vt, gate_saved sv, const gate_dims *g,
                           gate_scratch w) {
  const int64_t rows = g->B * g->T, d = g->d, W = g->width, N = g->dilation, pad = (W - 1) * N;
  float *dc = w.a, *dcn = w.b, *drms = w.c;
  /* out = y sigmoid(y) + vt: the product's gradient first, then the sigmoid's (tape order) */
  for (int64_t i = 0; i < rows * d; i++) {
    const float y = sv.y[i], sg = ng_sigmoidf(y), gr = dout[i];
    const float from_mul = gr * sg;
    const float dsig = gr * y;
    dc[i] = from_mul + dsig * (sg * (1.0f - sg));
  }
  /* the conv: term_j = slice_j(xp) * w_j; d w_j sums dc * slice_j over (b, t) in float64 */
  float *wt = w.row + d, *zeros = wt + W * d;
  conv_by_tap(wt, conv, d, W);
  memset(zeros, 0, (size_t)d * sizeof(float));
  memset(w.wacc, 0, (size_t)(W * d) * sizeof(double));
  for (int64_t b = 0; b < g->B; b++) {
    for (int64_t t = 0; t < g->T; t++) {
      const float *dcr = dc + (b * g->T + t) * d;
      for (int64_t j = 0; j < W; j++) {
        double *acc = w.wacc + j * d;
        const float *xj = padded_row(sv.cn, zeros, g, b, t + j * N);
        for (int64_t c = 0; c < d; c++) acc[c] += (double)(dcr[c] * xj[c]);
      }
    }
  }
  /* slice gradients are zero-padded copies, added from the last term to the first */
  for (int64_t c = 0; c < d; c++) {
    for (int64_t j = 0; j < W; j++) {
      float acc = j == W - 1 ? (float)w.wacc[(W - 1) * d + c] : 0.0f;
      for (int64_t k = W - 2; k >= 0; k--) acc = acc + (k == j ? (float)w.wacc[k * d + c] : 0.0f);
      o.dconv[c * W + j] = acc;
    }
  }
  /* d xp at t' gathers the terms that read it, the last tap's first; past the end: + 0 */
  for (int64_t b = 0; b < g->B; b++) {
    for (int64_t t = 0; t < g->T; t++) {
      const int64_t tp = t + pad; /* position in xp; term j read xp at t' = t_j + jN */
      float *acc = dcn + (b * g->T + t) * d;
      const float *d0 = dc + (b * g->T + t) * d, *w0 = wt + (W - 1) * d;
      for (int64_t c = 0; c < d; c++) acc[c] = d0[c] * w0[c];
      for (int64_t j = W - 2; j >= 0; j--) {
        const int64_t tj = tp - j * N;
        if (tj < g->T) {
          const float *dj = dc + (b * g->T + tj) * d, *wj = wt + j * d;
          for (int64_t c = 0; c < d; c++) acc[c] = acc[c] + dj[c] * wj[c];
        } else {
          for (int64_t c = 0; c < d; c++) acc[c] = acc[c] + 0.0f;
        }
      }
    }
  }
  if (ng_rmsnorm_bwd(drms, o.dconv_norm, dcn, vt, conv_norm, sv.inv_c, rows, d) != 0) return -1;
  /* vt feeds the residual add (later, so first) and the conv's norm */
  float *dvt = dc;
  for (int64_t i = 0; i < rows * d; i++) dvt[i] = dout[i] + drms[i];
  const float sqrt_d = (float)sqrt((double)d);
  float *dq = dcn, *dk = drms;
  for (int64_t r = 0; r < rows; r++) {
    const float *dvr = dvt + r * d, *vr = v + r * d, a = alpha[r];
    for (int64_t c = 0; c < d; c++) w.row[c] = dvr[c] * vr[c];
    const float dalpha = (float)row_sum(w.row, d);
    for (int64_t c = 0; c < d; c++) o.dv[r * d + c] = dvr[c] * a;
    float ds = dalpha * (a * (1.0f - a)); /* sigmoid's gradient */
    if (g->signed_sqrt) {
      /* sign(s) sqrt(max(|s|, 1e-6)): through the root's branch; sign's gradient is zeros, added last */
      const float s = sv.s[r], m = max_ng(fabsf(s), 1e-6f);
      const float dr = ds * sign_ng(s);
      const float dm = dr / (sqrtf(m) * 2.0f);
      const float dabs = dm * (fabsf(s) >= 1e-6f ? 1.0f : 0.0f);
      ds = dabs * (s > 0.0f ? 1.0f : -1.0f) + 0.0f;
    }
    const float dsum = ds / sqrt_d;
    const float *qr = sv.qn + r * d, *kr = sv.kn + r * d;
    for (int64_t c = 0; c < d; c++) {
      dq[r * d + c] = dsum * kr[c];
      dk[r * d + c] = dsum * qr[c];
    }
  }
  if (ng_rmsnorm_bwd(o.dkpre, o.dkey_norm, dk, kpre, key_norm, sv.inv_k, rows, d) != 0) return -1;
  if (ng_rmsnorm_bwd(o.dh, o.dquery_norm, dq, h, query_norm, sv.inv_q, rows, d) != 0) return -1;
  return 0;
}

/* dims Int32Array [B, T, d, width, dilation, signedSqrt] -> checked gate_dims */
static int read_dims(ng_args *a, size_t i, gate_dims *g) {
  size_t len = 0;
  const int32_t *v = ng_int_array(a, i, &len);
  if (a->failed) return 0;
  if (len != 6 || v[0] < 1 || v[1] < 1 || v[2] < 1 || v[3] < 1 || v[4] < 1 || (v[5] != 0 && v[5] != 1)) {
    ng_fail(a, "engramGate: dims must be [B, T, d, width, dilation, signedSqrt 0|1], sizes >= 1");
    return 0;
  }
  g->B = v[0];
  g->T = v[1];
  g->d = v[2];
  g->width = v[3];
  g->dilation = v[4];
  g->signed_sqrt = v[5];
  return 1;
}

/* engramGateFwd(heap, outOff, alphaOff, vtOff, savedOff, hOff, kpreOff, vOff, keyNormOff,
   queryNormOff, convNormOff, convOff, dims, gateEps, convEps) */
static napi_value fn_engram_gate_fwd(napi_env env, napi_callback_info info) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 15)) return NULL;
  gate_dims g;
  if (!read_dims(&a, 12, &g)) return NULL;
  const float gate_eps = (float)ng_num(&a, 13), conv_eps = (float)ng_num(&a, 14);
  const int64_t rows = ng_mul(&a, g.B, g.T), n = ng_mul(&a, rows, g.d), nw = ng_mul(&a, g.d, g.width);
  float *out = ng_f32(&a, 1, n), *alpha = ng_f32(&a, 2, rows), *vt = ng_f32(&a, 3, n);
  float *saved = ng_f32(&a, 4, ng_add(&a, ng_mul(&a, n, 4), ng_mul(&a, rows, 4)));
  const float *h = ng_f32(&a, 5, n), *kpre = ng_f32(&a, 6, n), *v = ng_f32(&a, 7, n);
  const float *kw = ng_f32(&a, 8, g.d), *qw = ng_f32(&a, 9, g.d), *cw = ng_f32(&a, 10, g.d);
  const float *conv = ng_f32(&a, 11, nw);
  if (a.failed) return NULL;
  float *tmp = (float *)malloc((size_t)(nw + 2 * g.d) * sizeof(float)); /* a row, the taps, a zero row */
  if (tmp == NULL) {
    ng_fail(&a, "engramGate: out of memory");
    return NULL;
  }
  gate_fwd(out, alpha, vt, saved_regions(saved, rows, g.d), h, kpre, v, kw, qw, cw, conv, &g, gate_eps, conv_eps, tmp);
  free(tmp);
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* engramGateBwd(heap, dhOff, dkpreOff, dvOff, dKeyNormOff, dQueryNormOff, dConvNormOff, dConvOff,
   doutOff, hOff, kpreOff, vOff, keyNormOff, queryNormOff, convNormOff, convOff, alphaOff, vtOff,
   savedOff, dims) */
static napi_value fn_engram_gate_bwd(napi_env env, napi_callback_info info) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 20)) return NULL;
  gate_dims g;
  if (!read_dims(&a, 19, &g)) return NULL;
  const int64_t rows = ng_mul(&a, g.B, g.T), n = ng_mul(&a, rows, g.d), nw = ng_mul(&a, g.d, g.width);
  gate_grads o = {ng_f32(&a, 1, n),   ng_f32(&a, 2, n),   ng_f32(&a, 3, n), ng_f32(&a, 4, g.d),
                  ng_f32(&a, 5, g.d), ng_f32(&a, 6, g.d), ng_f32(&a, 7, nw)};
  const float *dout = ng_f32(&a, 8, n), *h = ng_f32(&a, 9, n), *kpre = ng_f32(&a, 10, n), *v = ng_f32(&a, 11, n);
  const float *kw = ng_f32(&a, 12, g.d), *qw = ng_f32(&a, 13, g.d), *cw = ng_f32(&a, 14, g.d);
  const float *conv = ng_f32(&a, 15, nw), *alpha = ng_f32(&a, 16, rows), *vt = ng_f32(&a, 17, n);
  float *saved = ng_f32(&a, 18, ng_add(&a, ng_mul(&a, n, 4), ng_mul(&a, rows, 4)));
  if (a.failed) return NULL;
  gate_scratch w = {(float *)malloc((size_t)(3 * n + nw + 2 * g.d) * sizeof(float)), NULL, NULL, NULL,
                    (double *)malloc((size_t)nw * sizeof(double))};
  int rc = -1;
  if (w.a != NULL && w.wacc != NULL) {
    w.b = w.a + n;
    w.c = w.b + n;
    w.row = w.c + n;
    rc = gate_bwd(o, dout, h, kpre, v, kw, qw, cw, conv, alpha, vt, saved_regions(saved, rows, g.d), &g, w);
  }
  free(w.a);
  free(w.wacc);
  if (rc != 0) {
    ng_fail(&a, "engramGate: out of memory");
    return NULL;
  }
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value ng_register_engram_gate(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"engramGateFwd", NULL, fn_engram_gate_fwd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"engramGateBwd", NULL, fn_engram_gate_bwd, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}
