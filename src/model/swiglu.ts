import * as tf from '@tensorflow/tfjs';

/** SwiGLU FFN: down(SiLU(x Wg) * (x Wu)), with Wg and Wu fused as wgu: [d, 2h]. x: [N, d] -> [N, d] */
export function swiglu(x: tf.Tensor2D, wgu: tf.Tensor, wdown: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const h = wdown.shape[0];
    const [g, u] = tf.split(tf.matMul(x, wgu), [h, h], 1); // each [N, h]
    return tf.matMul(tf.mul(tf.mul(g, tf.sigmoid(g)), u), wdown) as tf.Tensor2D;
  });
}
