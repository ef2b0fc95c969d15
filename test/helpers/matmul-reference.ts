/**
 * The independent reference of the matmul tests (test/backend, test/native): a float64 product
 * with transposes and numpy batch broadcasting, written out loop by loop.
 */
/** float64 product with numpy batch broadcasting, and the bound (K+2) u sum_k |a b| per element. */
export function matMulReference(
  a: Float32Array,
  as: number[],
  b: Float32Array,
  bs: number[],
  ta: boolean,
  tb: boolean,
) {
  const M = ta ? as.at(-1)! : as.at(-2)!;
  const K = ta ? as.at(-2)! : as.at(-1)!;
  const N = tb ? bs.at(-2)! : bs.at(-1)!;
  const ba = as.slice(0, -2);
  const bb = bs.slice(0, -2);
  const r = Math.max(ba.length, bb.length);
  const pa = [...Array(r - ba.length).fill(1), ...ba];
  const pb = [...Array(r - bb.length).fill(1), ...bb];
  const bo = pa.map((d, i) => Math.max(d, pb[i]));
  const nb = bo.reduce((x, y) => x * y, 1);
  const v = new Float64Array(nb * M * N);
  const bound = new Float64Array(nb * M * N);
  const u = 2 ** -24;
  for (let o = 0; o < nb; o++) {
    let rest = o;
    let ia = 0;
    let ib = 0;
    for (let d = r - 1, sa = 1, sb = 1; d >= 0; d--) {
      const c = rest % bo[d];
      rest = Math.floor(rest / bo[d]);
      ia += (pa[d] === 1 ? 0 : c) * sa;
      ib += (pb[d] === 1 ? 0 : c) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        let abs = 0;
        for (let k = 0; k < K; k++) {
          const x = a[ia * M * K + (ta ? k * M + i : i * K + k)];
          const y = b[ib * K * N + (tb ? j * K + k : k * N + j)];
          s += x * y;
          abs += Math.abs(x * y);
        }
        v[(o * M + i) * N + j] = s;
        bound[(o * M + i) * N + j] = (K + 2) * u * abs + 1e-30;
      }
    }
  }
  return { v, bound, shape: [...bo, M, N] };
}
