import * as tf from '@tensorflow/tfjs';
import { type CustomGradFn, FUSED, hasKernel } from './fused-op.js';

/**
 * Grouped matmul for routed experts: rows of x are sorted by expert; group e (sizes[e] rows)
 * is multiplied by w[e]. Compute scales with the rows routed, not with the number of experts
 * (empty groups cost nothing), which is what keeps a rho = 1 step near a rho = 0 step.
 * x: [M, K], w: [E, K, N], sizes: [E] with sum = M  ->  [M, N]
 */
export function groupedMatMul(x: tf.Tensor2D, w: tf.Tensor3D, sizes: Int32Array): tf.Tensor2D {
  if (hasKernel(FUSED.groupedMatMul)) return fusedGroupedMatMul(x, w, sizes);
  const [E, K, N] = w.shape;
  const op = tf.customGrad(((xs: tf.Tensor, ws: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xs, ws]);
    const value = tf.tidy(() =>
      concatRows(
        groups(sizes).map(([e, off, c]) => tf.matMul(rows(xs, off, c), expert(ws, e))),
        N,
      ),
    );
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xv, wv] = saved;
      return tf.tidy(() => {
        const gs = groups(sizes);
        const dx = concatRows(
          gs.map(([e, off, c]) => tf.matMul(rows(dy, off, c), expert(wv, e), false, true)),
          K,
        ); // [M, K]
        const dws: tf.Tensor[] = [];
        for (let e = 0, off = 0; e < E; off += sizes[e], e++) {
          dws.push(
            sizes[e] ? tf.matMul(rows(xv, off, sizes[e]), rows(dy, off, sizes[e]), true, false) : tf.zeros([K, N]),
          ); // [K, N]
        }
        return [dx, tf.stack(dws)];
      });
    };
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, w) as tf.Tensor2D;
}

/** The same products as one kernel each way, reading the groups in place (no slices or concats). */
function fusedGroupedMatMul(x: tf.Tensor2D, w: tf.Tensor3D, sizes: Int32Array): tf.Tensor2D {
  const attrs = { sizes: Array.from(sizes) };
  const op = tf.customGrad(((xs: tf.Tensor, ws: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xs, ws]);
    return {
      value: tf.engine().runKernel(FUSED.groupedMatMul, { x: xs, w: ws }, attrs) as tf.Tensor, // [M, N]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(FUSED.groupedMatMulGrad, { dy, x: saved[0], w: saved[1] }, attrs) as tf.Tensor[], // [M, K], [E, K, N]
    };
  }) as unknown as CustomGradFn);
  return op(x, w) as tf.Tensor2D;
}

/** [expert, row offset, row count] for non-empty groups */
function groups(sizes: Int32Array): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let e = 0, off = 0; e < sizes.length; off += sizes[e], e++) if (sizes[e] > 0) out.push([e, off, sizes[e]]);
  return out;
}

const rows = (t: tf.Tensor, off: number, count: number) => tf.slice(t as tf.Tensor2D, [off, 0], [count, t.shape[1]!]);
const expert = (w: tf.Tensor, e: number) =>
  tf.squeeze(tf.slice(w as tf.Tensor3D, [e, 0, 0], [1, w.shape[1]!, w.shape[2]!]), [0]);
const concatRows = (parts: tf.Tensor[], cols: number) => (parts.length ? tf.concat(parts, 0) : tf.zeros([0, cols]));
