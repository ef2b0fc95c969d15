import * as tf from '@tensorflow/tfjs';

/**
 * Mean token cross-entropy in nats from logits and integer targets, fused so the gradient is
 * (softmax - onehot) / N directly, with no [N, V] one-hot on the forward pass.
 * logits: [N, V], targets: [N] -> scalar
 */
export function crossEntropy(logits: tf.Tensor2D, targets: Int32Array): tf.Scalar {
  const [N, V] = logits.shape;
  const op = tf.customGrad(((z: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const logp = tf.logSoftmax(z); // [N, V]
    save([logp]);
    const flat = new Int32Array(N);
    for (let n = 0; n < N; n++) flat[n] = n * V + targets[n]; // index of y_n in the flattened logits
    const value = tf.neg(tf.mean(tf.gather(tf.reshape(logp, [N * V]), tf.tensor1d(flat, 'int32'))));
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const p = tf.exp(saved[0]); // [N, V]
        // int32 then cast: the wasm OneHot kernel ignores a float32 dtype (writes integer bits)
        const onehot = tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), V), 'float32');
        return tf.mul(tf.sub(p, onehot), tf.div(dy, N));
      });
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(logits) as tf.Scalar;
}
