/*
 * The host tables' per-step row work in native passes: the row gather of the forward pass
 * (src/memory/gather.ts) and the lazy Adam (src/memory/sparse-adam.ts: coalesce the gradients
 * of duplicate rows, update every hit row's weights and moments). The tables live in JS
 * Float32Arrays (shards of rowsPerShard rows), not in the wasm heap. In a big table every row
 * is a cache and TLB miss; both passes request rows PREFETCH_AHEAD ahead, so the misses overlap
 * (16k random rows of a 1e5-slot table: the lazy Adam 3.3-4.2 -> 2.0 ms, the gather 2.1-2.8 ms
 * in JS -> 0.3 ms).
 *
 * The gather copies rows; the lazy Adam gives the JS version's bits by construction: duplicates
 * are summed in float64 in lookup order into the slot of their first appearance, the update is
 * the same float64 expressions in the same order, stored as float32 (the build has
 * -ffp-contract=off, so no fused multiply-add).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "vec.h"

#define GOLDEN 0x9e3779b1u /* the same Fibonacci hashing as sparse-adam.ts (any hash gives the same sums) */

/* rows requested ahead (measured: 8, 16 and 32 all help; 32 was the best of the three) */
#define PREFETCH_AHEAD 32

/* Global row r of a table stored as shards of rows_per_shard rows of dim floats. */
static inline float *row_at(float **shards, int64_t rows_per_shard, int64_t dim, int64_t r) {
  const int64_t s = r / rows_per_shard;
  return shards[s] + (r - s * rows_per_shard) * dim;
}

/* out[i, :] = row rows[i] for i < n (rows checked by the caller) */
static void gather_rows(float *out, float **w, int64_t rows_per_shard, int64_t dim, const int32_t *rows, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    if (i + PREFETCH_AHEAD < n) __builtin_prefetch(row_at(w, rows_per_shard, dim, rows[i + PREFETCH_AHEAD]), 0);
    memcpy(out + i * dim, row_at(w, rows_per_shard, dim, rows[i]), (size_t)dim * sizeof(float));
  }
}

/* One row's update: torch's sparse_adam expressions in float64, stored as float32. */
NG_VEC static void update_row(float *ws, float *ms, float *vs, const double *gu, int64_t dim, double step_size,
                              double c1, double c2, double eps) {
  for (int64_t d = 0; d < dim; d++) {
    const double g = gu[d], om = (double)ms[d], ov = (double)vs[d];
    const double mu = (g - om) * c1; /* exp_avg_update_values */
    const double vu = (g * g - ov) * c2; /* exp_avg_sq_update_values */
    ms[d] = (float)(om + mu);
    vs[d] = (float)(ov + vu);
    const double denom = sqrt(vu + ov) + eps;
    ws[d] = (float)((double)ws[d] + -step_size * ((mu + om) / denom));
  }
}

/*
 * rows[n]: global row of each lookup (validated by the caller); grad [n, dim]. w, m, v: shard
 * pointers. Scratch (the caller's, checked): uniq [n], acc [n * dim], keys/slots [cap], cap a
 * power of two >= 2n. Returns the number of distinct rows.
 */
static int64_t sparse_adam(float **w, float **m, float **v, int64_t rows_per_shard, int64_t dim,
                           const int32_t *rows, int64_t n, const float *grad, double step_size, double c1,
                           double c2, double eps, int32_t *uniq, double *acc, int32_t *keys, int32_t *slots,
                           int64_t cap) {
  const uint32_t mask = (uint32_t)cap - 1;
  int shift = 32;
  for (int64_t c = cap; c > 1; c >>= 1) shift--;
  memset(keys, 0xff, (size_t)cap * sizeof(int32_t)); /* -1 */
  int64_t n_uniq = 0;
  for (int64_t i = 0; i < n; i++) {
    const int32_t r = rows[i];
    uint32_t h = ((uint32_t)r * GOLDEN) >> shift;
    while (keys[h] != -1 && keys[h] != r) h = (h + 1) & mask;
    const float *g = grad + i * dim;
    if (keys[h] == -1) {
      keys[h] = r;
      slots[h] = (int32_t)n_uniq;
      uniq[n_uniq] = r;
      double *a = acc + n_uniq * dim;
      for (int64_t d = 0; d < dim; d++) a[d] = (double)g[d];
      n_uniq++;
    } else {
      double *a = acc + (int64_t)slots[h] * dim;
      for (int64_t d = 0; d < dim; d++) a[d] += (double)g[d];
    }
  }
  /* the update, the rows PREFETCH_AHEAD ahead requested first */
  for (int64_t u = 0; u < n_uniq; u++) {
    if (u + PREFETCH_AHEAD < n_uniq) {
      const int64_t r = uniq[u + PREFETCH_AHEAD];
      __builtin_prefetch(row_at(w, rows_per_shard, dim, r), 1);
      __builtin_prefetch(row_at(m, rows_per_shard, dim, r), 1);
      __builtin_prefetch(row_at(v, rows_per_shard, dim, r), 1);
    }
    const int64_t r = uniq[u];
    update_row(row_at(w, rows_per_shard, dim, r), row_at(m, rows_per_shard, dim, r), row_at(v, rows_per_shard, dim, r),
               acc + u * dim, dim, step_size, c1, c2, eps);
  }
  return n_uniq;
}

/*
 * The data pointers of a JS array of `count` Float32Arrays. With lens NULL, fills len_out with
 * their lengths; else each must have the length lens gives (the moments match the weights).
 */
static float **shard_ptrs(ng_args *a, size_t i, uint32_t count, const int64_t *lens, int64_t *len_out) {
  napi_value arr = a->argv[i], el;
  bool is_arr = false;
  uint32_t len = 0;
  if (a->failed) return NULL;
  napi_is_array(a->env, arr, &is_arr);
  if (!is_arr || napi_get_array_length(a->env, arr, &len) != napi_ok || len != count) {
    ng_fail(a, "host table: the weights (and both moments) must be arrays of the same shard count");
    return NULL;
  }
  float **p = malloc(sizeof(float *) * (count ? count : 1));
  if (!p) {
    ng_fail(a, "host table: out of memory");
    return NULL;
  }
  for (uint32_t k = 0; k < count; k++) {
    napi_typedarray_type type;
    size_t n;
    void *data;
    napi_value buf;
    size_t off;
    bool is_ta = false;
    if (napi_get_element(a->env, arr, k, &el) == napi_ok) napi_is_typedarray(a->env, el, &is_ta);
    if (!is_ta || napi_get_typedarray_info(a->env, el, &type, &n, &data, &buf, &off) != napi_ok ||
        type != napi_float32_array || (lens && (int64_t)n != lens[k])) {
      free(p);
      ng_fail(a, "host table: the shards must be Float32Arrays, the moments' of the weights' lengths");
      return NULL;
    }
    if (len_out) len_out[k] = (int64_t)n;
    p[k] = (float *)data;
  }
  return p;
}

/*
 * The weights' shards (argument 0) and their lengths, every row checked to lie whole inside its
 * shard (the last shard may be shorter); NULL when the call fails. The caller frees both.
 */
static float **weights_and_rows(ng_args *a, int64_t rps, int64_t dim, const int32_t *rows, int64_t n,
                                uint32_t *count, int64_t **lens_out) {
  uint32_t shards = 0;
  bool is_arr = false;
  napi_is_array(a->env, a->argv[0], &is_arr);
  if (!is_arr || napi_get_array_length(a->env, a->argv[0], &shards) != napi_ok || shards < 1) {
    ng_fail(a, "host table: the weights must be an array of shards");
    return NULL;
  }
  int64_t *lens = malloc(sizeof(int64_t) * shards);
  if (!lens) {
    ng_fail(a, "host table: out of memory");
    return NULL;
  }
  float **w = shard_ptrs(a, 0, shards, NULL, lens);
  for (int64_t i = 0; i < n && !a->failed; i++) {
    const int64_t r = rows[i], s = r / rps;
    if (r < 0 || s >= shards || (r - s * rps + 1) * dim > lens[s]) ng_fail(a, "host table: a row id lies outside the table");
  }
  if (a->failed) {
    free(w);
    free(lens);
    return NULL;
  }
  *count = shards;
  *lens_out = lens;
  return w;
}

#define NG_FN(name) static napi_value name(napi_env env, napi_callback_info info)

/*
 * sparseAdam(w[], m[], v[], rowsPerShard, dim, rows Int32Array, n, grad Float32Array, stepSize,
 * c1, c2, eps, uniq Int32Array, acc Float64Array, keys Int32Array, slots Int32Array) -> distinct
 * rows. Every row is checked to lie whole inside its shard, every scratch array for its size.
 */
NG_FN(fn_sparse_adam) {
  ng_args a;
  if (!ng_args_plain(env, info, &a, 16)) return NULL;
  const int64_t rps = ng_int(&a, 3), dim = ng_int(&a, 4), n = ng_int(&a, 6);
  const double step_size = ng_num(&a, 8), c1 = ng_num(&a, 9), c2 = ng_num(&a, 10), eps = ng_num(&a, 11);
  size_t rows_len = 0, grad_len = 0;
  const int32_t *rows = ng_typed_array(&a, 5, napi_int32_array, &rows_len, "sparseAdam: rows must be an Int32Array");
  const float *grad = ng_typed_array(&a, 7, napi_float32_array, &grad_len, "sparseAdam: grad must be a Float32Array");
  if (a.failed) return NULL;
  int64_t need;
  if (rps < 1 || dim < 1 || n < 0 || (int64_t)rows_len < n || __builtin_mul_overflow(n, dim, &need) ||
      (int64_t)grad_len < need || n > INT32_MAX / 2) {
    ng_fail(&a, "sparseAdam: bad sizes (rowsPerShard, dim >= 1; rows and grad hold n and n x dim)");
    return NULL;
  }
  uint32_t shards = 0;
  int64_t *lens = NULL;
  float **w = weights_and_rows(&a, rps, dim, rows, n, &shards, &lens);
  if (w == NULL) return NULL;
  float **m = shard_ptrs(&a, 1, shards, lens, NULL);
  float **v = shard_ptrs(&a, 2, shards, lens, NULL);
  free(lens);
  /* the caller's scratch (SparseAdam's, grown to its largest step): no allocation per step */
  size_t uniq_len = 0, acc_len = 0, keys_len = 0, slots_len = 0;
  int32_t *uniq = ng_typed_array(&a, 12, napi_int32_array, &uniq_len, "sparseAdam: uniq must be an Int32Array");
  double *acc = ng_typed_array(&a, 13, napi_float64_array, &acc_len, "sparseAdam: acc must be a Float64Array");
  int32_t *keys = ng_typed_array(&a, 14, napi_int32_array, &keys_len, "sparseAdam: keys must be an Int32Array");
  int32_t *slots = ng_typed_array(&a, 15, napi_int32_array, &slots_len, "sparseAdam: slots must be an Int32Array");
  const int64_t cap = (int64_t)keys_len;
  if (!a.failed && ((int64_t)uniq_len < n || (int64_t)acc_len < need || slots_len != keys_len || cap < 2 ||
                    cap < 2 * n || (cap & (cap - 1)) != 0)) {
    ng_fail(&a, "sparseAdam: scratch too small (uniq n, acc n x dim, keys = slots a power of two >= 2n)");
  }
  int64_t n_uniq = -1;
  if (!a.failed) n_uniq = sparse_adam(w, m, v, rps, dim, rows, n, grad, step_size, c1, c2, eps, uniq, acc, keys, slots, cap);
  free(w), free(m), free(v);
  if (a.failed) return NULL;
  napi_value r;
  napi_create_int64(env, n_uniq, &r);
  return r;
}

/* gatherHostRows(w[], rowsPerShard, dim, rows Int32Array, n, out Float32Array): out[i] = row rows[i] */
NG_FN(fn_gather_host_rows) {
  ng_args a;
  if (!ng_args_plain(env, info, &a, 6)) return NULL;
  const int64_t rps = ng_int(&a, 1), dim = ng_int(&a, 2), n = ng_int(&a, 4);
  size_t rows_len = 0, out_len = 0;
  const int32_t *rows = ng_typed_array(&a, 3, napi_int32_array, &rows_len, "gatherHostRows: rows must be an Int32Array");
  float *out = ng_typed_array(&a, 5, napi_float32_array, &out_len, "gatherHostRows: out must be a Float32Array");
  if (a.failed) return NULL;
  int64_t need;
  if (rps < 1 || dim < 1 || n < 0 || (int64_t)rows_len < n || __builtin_mul_overflow(n, dim, &need) ||
      (int64_t)out_len < need) {
    ng_fail(&a, "gatherHostRows: bad sizes (rowsPerShard, dim >= 1; rows hold n, out n x dim)");
    return NULL;
  }
  uint32_t shards = 0;
  int64_t *lens = NULL;
  float **w = weights_and_rows(&a, rps, dim, rows, n, &shards, &lens);
  if (w == NULL) return NULL;
  free(lens);
  gather_rows(out, w, rps, dim, rows, n);
  free(w);
  if (a.failed) return NULL;
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value ng_register_host_tables(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"gatherHostRows", NULL, fn_gather_host_rows, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sparseAdam", NULL, fn_sparse_adam, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}
