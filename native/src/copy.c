/*
 * Strided copy: the one kernel behind Transpose, Slice, SplitV, Unpack and Concat. JS collapses
 * the shapes first, so most copies are runs of contiguous elements (memcpy); a transpose that
 * moves the last axis walks 2-D tiles so both sides stay in cache.
 */
#include <string.h>

#include "common.h"

#define TILE 32

/* out[i * os0 + j * os1] = x[i * xs0 + j * xs1] over an n0 x n1 block, in TILE x TILE tiles. */
static void copy2d(uint32_t *out, const uint32_t *x, int64_t n0, int64_t n1, int64_t os0, int64_t os1,
                   int64_t xs0, int64_t xs1) {
  for (int64_t i0 = 0; i0 < n0; i0 += TILE)
    for (int64_t j0 = 0; j0 < n1; j0 += TILE) {
      const int64_t ie = i0 + TILE < n0 ? i0 + TILE : n0, je = j0 + TILE < n1 ? j0 + TILE : n1;
      for (int64_t i = i0; i < ie; i++)
        for (int64_t j = j0; j < je; j++) out[i * os0 + j * os1] = x[i * xs0 + j * xs1];
    }
}

void ng_copy(uint32_t *out, const uint32_t *x, int rank, const int32_t *shape, const int32_t *os,
             const int32_t *xs) {
  if (rank == 0) {
    out[0] = x[0];
    return;
  }
  const int64_t n = shape[rank - 1], on = os[rank - 1], xn = xs[rank - 1];
  /* A transpose of the last two axes: tile them. */
  const int tiled = rank >= 2 && !(on == 1 && xn == 1) && n >= 8 && shape[rank - 2] >= 8;
  const int loops = tiled ? rank - 2 : rank - 1;
  int64_t outer = 1;
  for (int d = 0; d < loops; d++) outer *= shape[d];
  int32_t idx[NG_MAX_RANK] = {0};
  int64_t oo = 0, xo = 0;
  for (int64_t o = 0; o < outer; o++) {
    if (tiled) {
      copy2d(out + oo, x + xo, shape[rank - 2], n, os[rank - 2], on, xs[rank - 2], xn);
    } else if (on == 1 && xn == 1) {
      memcpy(out + oo, x + xo, (size_t)n * 4);
    } else {
      for (int64_t i = 0; i < n; i++) out[oo + i * on] = x[xo + i * xn];
    }
    for (int d = loops - 1; d >= 0; d--) {
      idx[d]++;
      oo += os[d];
      xo += xs[d];
      if (idx[d] < shape[d]) break;
      oo -= (int64_t)os[d] * shape[d];
      xo -= (int64_t)xs[d] * shape[d];
      idx[d] = 0;
    }
  }
}
