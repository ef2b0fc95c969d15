/*
 * Helpers the compiler vectorises: a branch-free expf and the target_clones attribute that
 * builds an AVX2 copy of a loop next to the baseline one (chosen at load time, so the addon
 * still runs on a CPU without AVX2). The build sets -ffp-contract=off: both copies do the same
 * IEEE operations in the same order, so results do not depend on which copy runs.
 */
#ifndef ENGRAM_NATIVE_VEC_H
#define ENGRAM_NATIVE_VEC_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NG_VEC __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define NG_VEC
#endif

static inline float ng_bits_to_f(int32_t b) {
  float f;
  memcpy(&f, &b, 4);
  return f;
}

/*
 * exp(x) in float32, ~1 ulp: x = n ln2 + r with |r| <= ln2/2, exp(r) by the Cephes expf
 * polynomial, times 2^n applied as two factors 2^(n/2) 2^(n - n/2) so results in the denormal
 * range come out right and below it round to 0; above 88.72 it gives inf. NaN stays NaN.
 */
static inline float ng_expf(float x) {
  x = x < -104.0f ? -104.0f : x;
  x = x > 89.0f ? 89.0f : x;
  /* round to nearest by the 1.5 * 2^23 trick (no libm call, so it vectorises) */
  const float magic = 12582912.0f;
  float n = (x * 1.44269504088896341f + magic) - magic;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  int32_t ni = (int32_t)n;
  int32_t h = ni / 2; /* truncation toward 0; both halves stay within [-76, 65] */
  float s1 = ng_bits_to_f((h + 127) << 23);
  float s2 = ng_bits_to_f((ni - h + 127) << 23);
  return p * s1 * s2;
}

/* sigmoid(x) = 1 / (1 + exp(-x)) in float32, the one expression every kernel uses (same bits everywhere) */
static inline float ng_sigmoidf(float x) { return 1.0f / (1.0f + ng_expf(-x)); }

/*
 * GCC vector types: the reductions below are written with them because the auto-vectoriser
 * leaves lane-array reductions scalar (10x slower for a row max). The default clone lowers them
 * to SSE2, the AVX2 clone to 256-bit registers; the arithmetic and its order are the same.
 */
typedef float ng_v8f __attribute__((vector_size(32)));
typedef int32_t ng_v8i __attribute__((vector_size(32)));
typedef float ng_v4f __attribute__((vector_size(16)));
typedef double ng_v4d __attribute__((vector_size(32)));

static inline ng_v8f ng_ld8(const float *p) {
  ng_v8f v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline ng_v4d ng_ld4d(const float *p) {
  ng_v4f v;
  memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, ng_v4d);
}

static inline ng_v8f ng_select(ng_v8i m, ng_v8f a, ng_v8f b) {
  return (ng_v8f)((m & (ng_v8i)a) | (~m & (ng_v8i)b));
}

static inline double ng_hsum4(ng_v4d a) { return (a[0] + a[1]) + (a[2] + a[3]); }

/* Sum of a row in float64 (16 lanes, combined in a fixed order): deterministic and vectorised. */
static inline double row_sum(const float *x, int64_t n) {
  ng_v4d a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 += ng_ld4d(x + i);
    a1 += ng_ld4d(x + i + 4);
    a2 += ng_ld4d(x + i + 8);
    a3 += ng_ld4d(x + i + 12);
  }
  double s = (ng_hsum4(a0) + ng_hsum4(a1)) + (ng_hsum4(a2) + ng_hsum4(a3));
  for (; i < n; i++) s += x[i];
  return s;
}

/* sum_j a[j] b[j] in float64, same scheme. */
static inline double row_dot(const float *a, const float *b, int64_t n) {
  ng_v4d a0 = {0}, a1 = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    a0 += ng_ld4d(a + i) * ng_ld4d(b + i);
    a1 += ng_ld4d(a + i + 4) * ng_ld4d(b + i + 4);
  }
  double s = ng_hsum4(a0) + ng_hsum4(a1);
  for (; i < n; i++) s += (double)a[i] * (double)b[i];
  return s;
}

/* Max (or min) of a row; NaN anywhere gives NaN (as TF). */
#define NG_ROW_EXTREME(NAME, INIT, CMP)                                           \
  static inline float NAME(const float *x, int64_t n) {                          \
    ng_v8f l0 = {0}, l1 = {0};                                                    \
    l0 += INIT;                                                                   \
    l1 += INIT;                                                                   \
    ng_v8i nan = {0};                                                             \
    int64_t i = 0;                                                                \
    for (; i + 16 <= n; i += 16) {                                                \
      ng_v8f a = ng_ld8(x + i), b = ng_ld8(x + i + 8);                            \
      l0 = ng_select(a CMP l0, a, l0);                                            \
      l1 = ng_select(b CMP l1, b, l1);                                            \
      nan |= (a != a) | (b != b);                                                 \
    }                                                                             \
    l0 = ng_select(l1 CMP l0, l1, l0);                                            \
    float m = INIT;                                                               \
    int isnan = 0;                                                                \
    for (int j = 0; j < 8; j++) {                                                 \
      m = l0[j] CMP m ? l0[j] : m;                                                \
      isnan |= nan[j];                                                            \
    }                                                                             \
    for (; i < n; i++) {                                                          \
      m = x[i] CMP m ? x[i] : m;                                                  \
      isnan |= x[i] != x[i];                                                      \
    }                                                                             \
    return isnan ? NAN : m;                                                       \
  }
NG_ROW_EXTREME(row_max, -INFINITY, >)
NG_ROW_EXTREME(row_min, INFINITY, <)

/*
 * One row of softmax: max, exp(x - max), a float64 sum, then divide. Returns the sum;
 * *max_out gets the max (log-sum-exp = log(sum) + max).
 */
static inline double softmax_row(float *o, const float *x, int64_t n, float *max_out) {
  const float m = row_max(x, n);
  *max_out = m;
  for (int64_t i = 0; i < n; i++) o[i] = ng_expf(x[i] - m);
  const double s = row_sum(o, n);
  const float sf = (float)s;
  for (int64_t i = 0; i < n; i++) o[i] = o[i] / sf;
  return s;
}

#endif
