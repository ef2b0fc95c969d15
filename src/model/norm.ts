/**
 * RMSNorm (Zhang & Sennrich 2019): y = x / sqrt(mean(x^2) + eps) * w over the last axis.
 * No mean subtraction and no bias, unlike LayerNorm.
 */
import * as tf from '@tensorflow/tfjs';
import { type CustomGradFn, FUSED, hasKernel } from './fused-op.js';

/** x: [..., d], w: [d] -> [..., d] */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  if (!hasKernel(FUSED.rmsNorm)) {
    return tf.tidy(() => {
      const inv = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)); // [..., 1]
      return tf.mul(tf.mul(x, inv), w); // [..., d]
    });
  }
  const op = tf.customGrad(((xs: tf.Tensor, ws: tf.Tensor, save: tf.GradSaveFunc) => {
    // inv: [rows], 1 / rms per row, kept so the backward pass need not recompute it
    const [y, inv] = tf.engine().runKernel(FUSED.rmsNorm, { x: xs, w: ws }, { eps }) as tf.Tensor[];
    save([xs, ws, inv]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw, sinv] = saved;
        return tf.engine().runKernel(FUSED.rmsNormGrad, { dy, x: sx, w: sw, inv: sinv }) as tf.Tensor[]; // [dx, dw]
      },
    };
  }) as unknown as CustomGradFn);
  return op(x, w);
}
