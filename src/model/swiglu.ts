/**
 * SwiGLU FFN (Shazeer 2020, "GLU Variants Improve Transformer"): down(SiLU(x Wg) * (x Wu)).
 * Wg and Wu are one matrix wgu = [Wg | Wu]: [d, 2h], so the up-projection is one matmul.
 */
import * as tf from '@tensorflow/tfjs';
import { type CustomGradFn, FUSED, hasKernel } from './fused-op.js';

/** SiLU(g) * u for gu = [g | u] along the last axis: [N, 2h] -> [N, h] */
export function swigluActivation(gu: tf.Tensor2D): tf.Tensor2D {
  const h = gu.shape[1] / 2;
  if (!hasKernel(FUSED.swiglu)) {
    return tf.tidy(() => {
      const [g, u] = tf.split(gu, [h, h], 1); // [N, h] each
      return tf.mul(tf.mul(g, tf.sigmoid(g)), u) as tf.Tensor2D; // SiLU(g) = g sigmoid(g)
    });
  }
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return {
      value: tf.engine().runKernel(FUSED.swiglu, { gu: x }) as tf.Tensor, // [N, h]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(FUSED.swigluGrad, { dy, gu: saved[0] }) as tf.Tensor, // [N, 2h]
    };
  }) as unknown as CustomGradFn);
  return op(gu) as tf.Tensor2D;
}

/** x: [N, d], wgu: [d, 2h], wdown: [h, d] -> [N, d] */
export function swiglu(x: tf.Tensor2D, wgu: tf.Tensor, wdown: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const gu = tf.matMul(x, wgu) as tf.Tensor2D; // [N, 2h]
    return tf.matMul(swigluActivation(gu), wdown) as tf.Tensor2D; // [N, h] -> [N, d]
  });
}
