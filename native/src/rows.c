/*
 * Row gather and scatter-add on the wasm heap: tf.gather (GatherV2) and its gradient,
 * UnsortedSegmentSum. MoE routing runs three of each per layer and step (tokens to experts and
 * back, the picked scores); in TypeScript over the heap they were ~25 ms of a moe-s step.
 * scatter_add adds the rows in index order, one float32 add per element, exactly as the
 * TypeScript kernel (src/backend/kernels/unsorted-segment-sum.ts) does, so both give the same bits.
 */
#include <string.h>

#include "common.h"

/*
 * x: [blocks, dim, slice], idx: [batch, n_idx] with blocks = batch * outer ->
 * out: [blocks, n_idx, slice] (4-byte elements). Returns the flat position of the first index
 * outside [0, dim), or -1 when all are inside (then out is written).
 */
int64_t ng_gather(uint32_t *out, const uint32_t *x, const int32_t *idx, int64_t batch, int64_t outer, int64_t dim,
                  int64_t n_idx, int64_t slice) {
  for (int64_t i = 0; i < batch * n_idx; i++)
    if (idx[i] < 0 || idx[i] >= dim) return i;
  for (int64_t b = 0; b < batch; b++)
    for (int64_t o = 0; o < outer; o++) {
      const uint32_t *src = x + (b * outer + o) * dim * slice;
      uint32_t *dst = out + (b * outer + o) * n_idx * slice;
      const int32_t *ix = idx + b * n_idx;
      for (int64_t j = 0; j < n_idx; j++) memcpy(dst + j * slice, src + (int64_t)ix[j] * slice, (size_t)slice * 4);
    }
  return -1;
}

/* out[ids[i], :] += x[i, :] for i in order (ids outside [0, segments) dropped); out zeroed first. */
void ng_scatter_add(float *out, const float *x, const int32_t *ids, int64_t n, int64_t inner, int64_t segments) {
  memset(out, 0, (size_t)(segments * inner) * 4);
  for (int64_t i = 0; i < n; i++) {
    const int64_t s = ids[i];
    if (s < 0 || s >= segments) continue;
    float *dst = out + s * inner;
    const float *src = x + i * inner;
    for (int64_t j = 0; j < inner; j++) dst[j] += src[j];
  }
}

/* ---- N-API glue ---- */

#define NG_FN(name) static napi_value name(napi_env env, napi_callback_info info)

/* gather(heap, outOff, xOff, idxOff, batch, outer, dim, nIdx, slice) -> bad index position or -1 */
NG_FN(fn_gather) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 9)) return NULL;
  int64_t batch = ng_int(&a, 4), outer = ng_int(&a, 5), dim = ng_int(&a, 6), n_idx = ng_int(&a, 7),
          slice = ng_int(&a, 8);
  if (a.failed) return NULL;
  if (batch < 1 || outer < 1 || dim < 1 || n_idx < 1 || slice < 1) {
    ng_fail(&a, "gather: bad sizes");
    return NULL;
  }
  const int64_t blocks = ng_mul(&a, batch, outer);
  uint32_t *out = (uint32_t *)ng_f32(&a, 1, ng_mul(&a, ng_mul(&a, blocks, n_idx), slice));
  const uint32_t *x = (const uint32_t *)ng_f32(&a, 2, ng_mul(&a, ng_mul(&a, blocks, dim), slice));
  const int32_t *idx = ng_i32(&a, 3, ng_mul(&a, batch, n_idx));
  if (a.failed) return NULL;
  napi_value r;
  napi_create_double(env, (double)ng_gather(out, x, idx, batch, outer, dim, n_idx, slice), &r);
  return r;
}

/* scatterAdd(heap, outOff, xOff, idsOff, n, inner, segments) */
NG_FN(fn_scatter_add) {
  ng_args a;
  if (!ng_args_heap(env, info, &a, 7)) return NULL;
  int64_t n = ng_int(&a, 4), inner = ng_int(&a, 5), segments = ng_int(&a, 6);
  if (a.failed) return NULL;
  if (n < 0 || inner < 1 || segments < 1) {
    ng_fail(&a, "scatterAdd: bad sizes");
    return NULL;
  }
  float *out = ng_f32(&a, 1, ng_mul(&a, segments, inner));
  const float *x = ng_f32(&a, 2, n ? ng_mul(&a, n, inner) : 1);
  const int32_t *ids = ng_i32(&a, 3, n ? n : 1);
  if (a.failed) return NULL;
  ng_scatter_add(out, x, ids, n, inner, segments);
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value ng_register_rows(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"gather", NULL, fn_gather, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scatterAdd", NULL, fn_scatter_add, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}
