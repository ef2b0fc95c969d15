import * as tf from '@tensorflow/tfjs';

/** RMSNorm(x) = x / sqrt(mean(x^2) + eps) * w over the last axis. x: [..., d], w: [d] */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const ms = tf.mean(tf.square(x), -1, true); // [..., 1]
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
  });
}
