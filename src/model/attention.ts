import * as tf from '@tensorflow/tfjs';
import type { Rope } from './rope.js';

/**
 * Causal multi-head self-attention with RoPE. x: [B, T, d] -> [B, T, d].
 * wqkv: [d, 3d], wo: [d, d]. mask: [T, T] additive (0 on and below the diagonal, -1e9 above).
 */
export function attention(
  x: tf.Tensor3D,
  wqkv: tf.Tensor,
  wo: tf.Tensor,
  nHeads: number,
  rope: Rope,
  mask: tf.Tensor2D,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T, d] = x.shape;
    const dh = d / nHeads;
    const qkv = tf.matMul(tf.reshape(x, [B * T, d]), wqkv); // [B*T, 3d]
    const heads = tf.transpose(tf.reshape(qkv, [B, T, 3, nHeads, dh]), [2, 0, 3, 1, 4]); // [3, B, H, T, dh]
    const [q, k, v] = tf.unstack(heads, 0) as tf.Tensor4D[]; // each [B, H, T, dh]
    const qr = tf.reshape(rope.apply(q), [B * nHeads, T, dh]);
    const kr = tf.reshape(rope.apply(k), [B * nHeads, T, dh]);
    const scores = tf.add(tf.mul(tf.matMul(qr, kr, false, true), 1 / Math.sqrt(dh)), mask); // [B*H, T, T]
    const probs = tf.softmax(scores, -1);
    const ctx = tf.matMul(probs, tf.reshape(v, [B * nHeads, T, dh])); // [B*H, T, dh]
    const merged = tf.reshape(tf.transpose(tf.reshape(ctx, [B, nHeads, T, dh]), [0, 2, 1, 3]), [B * T, d]);
    return tf.reshape(tf.matMul(merged, wo), [B, T, d]) as tf.Tensor3D;
  });
}

export function causalMask(T: number): tf.Tensor2D {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
  return tf.keep(tf.tensor2d(m, [T, T]));
}
