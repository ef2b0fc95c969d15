import * as tf from '@tensorflow/tfjs';
import { sparseSoftmaxCrossEntropy } from '../backend/index.js';

/**
 * Mean token cross-entropy in nats from logits and integer targets. The fused op (a kernel on
 * wasm and cpu, stock ops elsewhere) takes one exp and builds no [N, V] one-hot; its gradient is
 * (softmax - onehot) scaled by dy.
 * logits: [N, V], targets: [N] -> scalar
 */
export function crossEntropy(logits: tf.Tensor2D, targets: Int32Array): tf.Scalar {
  return tf.tidy(() => tf.mean(sparseSoftmaxCrossEntropy(logits, tf.tensor1d(targets, 'int32'))) as tf.Scalar);
}
