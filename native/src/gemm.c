/*
 * Strided batched sgemm through cblas (OpenBLAS): C_i = alpha op(A_i) op(B_i) + beta C_i for
 * i < batch, row-major, A_i = A + i sa, B_i = B + i sb, C_i = C + i sc (a stride of 0 broadcasts
 * that side). Why: the wasm backend runs every transposed or batched matmul through a scalar
 * loop at ~2-3.5 GFLOP/s; OpenBLAS does ~118 GFLOP/s per core here (FIELD-NOTES).
 */
#include <cblas.h>

#include "common.h"

void ng_sgemm_batch(int batch, int ta, int tb, int M, int N, int K, float alpha,
                    const float *A, int64_t sa, const float *B, int64_t sb,
                    float beta, float *C, int64_t sc) {
  const int lda = ta ? M : K;
  const int ldb = tb ? K : N;
  const enum CBLAS_TRANSPOSE opa = ta ? CblasTrans : CblasNoTrans;
  const enum CBLAS_TRANSPOSE opb = tb ? CblasTrans : CblasNoTrans;
  /* A shared right side with untransposed, packed left sides: one product of batch * M rows. */
  if (batch > 1 && sb == 0 && !ta && sa == (int64_t)M * K && sc == (int64_t)M * N) {
    cblas_sgemm(CblasRowMajor, opa, opb, batch * M, N, K, alpha, A, lda, B, ldb, beta, C, N);
    return;
  }
  for (int i = 0; i < batch; i++) {
    cblas_sgemm(CblasRowMajor, opa, opb, M, N, K, alpha, A + i * sa, lda, B + i * sb, ldb, beta,
                C + i * sc, N);
  }
}
