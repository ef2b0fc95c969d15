/*
 * Work split across the trial's threads for the fused kernels that are independent per head or
 * per row (attention, softmax cross-entropy). OpenBLAS threads only the matmuls; with these split
 * too, a trial on 2 threads runs its attention on both cores. Deterministic: each item is computed
 * whole by one thread with BLAS single-threaded inside, so the bits do not depend on the split;
 * with one thread the items run in order on the caller's thread, exactly as before the split.
 */
#include <cblas.h>
#include <pthread.h>

#include "common.h"

#define NG_MAX_WORKERS 64

static int threads = 0; /* 0: not set yet, take OpenBLAS's count */

void ng_set_threads(int n) { threads = n; }

int ng_threads(void) {
  if (threads < 1) threads = openblas_get_num_threads();
  return threads < 1 ? 1 : threads > NG_MAX_WORKERS ? NG_MAX_WORKERS : threads;
}

typedef struct {
  ng_range_fn fn;
  void *ctx;
  int64_t lo, hi;
  int worker;
} chunk;

static void *run_chunk(void *p) {
  chunk *c = (chunk *)p;
  c->fn(c->ctx, c->lo, c->hi, c->worker);
  return NULL;
}

int ng_parallel_for(int64_t n, ng_range_fn fn, void *ctx) {
  int t = ng_threads();
  if (t > n) t = (int)n;
  if (t <= 1) {
    fn(ctx, 0, n, 0);
    return 1;
  }
  chunk cs[NG_MAX_WORKERS];
  pthread_t ids[NG_MAX_WORKERS];
  int started[NG_MAX_WORKERS] = {0};
  for (int w = 0; w < t; w++) cs[w] = (chunk){fn, ctx, n * w / t, n * (w + 1) / t, w};
  /* each item's matmuls on its own thread, single-threaded; the BLAS count is restored after */
  openblas_set_num_threads(1);
  for (int w = 1; w < t; w++) started[w] = pthread_create(&ids[w], NULL, run_chunk, &cs[w]) == 0;
  run_chunk(&cs[0]);
  for (int w = 1; w < t; w++) {
    if (started[w]) pthread_join(ids[w], NULL);
    else run_chunk(&cs[w]); /* no thread to be had: do it here */
  }
  openblas_set_num_threads(threads);
  return t;
}

int ng_parallel_for_work(int64_t n, int64_t cost, ng_range_fn fn, void *ctx) {
  if (n < 1) return 1;
  if (n * cost < NG_PAR_MIN_WORK || ng_threads() == 1) {
    fn(ctx, 0, n, 0);
    return 1;
  }
  return ng_parallel_for(n, fn, ctx);
}
