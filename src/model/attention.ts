/**
 * Causal multi-head self-attention (Vaswani et al. 2017) with RoPE on q and k:
 * softmax(q k^T / sqrt(dh) + mask) v per head, between the qkv and output projections.
 */
import * as tf from '@tensorflow/tfjs';
import { type CustomGradFn, FUSED, hasKernel } from './fused-op.js';
import { rope } from './rope.js';

/** Additive causal masks by length (0 on and below the diagonal, -1e9 above), for the stock-op path. */
const masks = new Map<number, tf.Tensor2D>();
function causalMask(T: number): tf.Tensor2D {
  let m = masks.get(T);
  if (m == null || m.isDisposed) {
    const v = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) v[i * T + j] = -1e9;
    m = tf.keep(tf.tensor2d(v, [T, T])); // [T, T]
    masks.set(T, m);
  }
  return m;
}

/**
 * The part between the projections: qkv [B, T, 3d] laid out [B, T, 3, H, dh] -> merged heads
 * [B, T, d], with RoPE on q and k (cos/sin [T, dh] constants) and the causal mask.
 */
export function causalAttention(qkv: tf.Tensor3D, heads: number, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor3D {
  const [B, T, d3] = qkv.shape;
  const d = d3 / 3;
  const dh = d / heads;
  if (!hasKernel(FUSED.attention)) {
    return tf.tidy(() => {
      const [q, k, v] = tf.unstack(tf.transpose(tf.reshape(qkv, [B, T, 3, heads, dh]), [2, 0, 3, 1, 4])); // [B, H, T, dh] each
      const s = tf.add(
        tf.mul(tf.matMul(rope(q, cos, sin), rope(k, cos, sin), false, true), 1 / Math.sqrt(dh)),
        causalMask(T),
      ); // [B, H, T, T]
      const ctx = tf.matMul(tf.softmax(s, -1), v); // [B, H, T, dh]
      return tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [B, T, d]) as tf.Tensor3D; // [B, T, H, dh] -> [B, T, d]
    });
  }
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    // qr, kr: the rotated q and k, probs: the softmax [B, H, T, T], kept for the backward pass
    const [out, qr, kr, probs] = tf.engine().runKernel(FUSED.attention, { qkv: x, cos, sin }, { heads }) as tf.Tensor[];
    save([x, qr, kr, probs, cos, sin]);
    return {
      value: out, // [B, T, d]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sq, sk, sp, sc, ss] = saved;
        return tf
          .engine()
          .runKernel(
            FUSED.attentionGrad,
            { dy, qkv: sx, qr: sq, kr: sk, probs: sp, cos: sc, sin: ss },
            { heads },
          ) as tf.Tensor; // [B, T, 3d]
      },
    };
  }) as unknown as CustomGradFn);
  return op(qkv) as tf.Tensor3D;
}

/**
 * x: [B, T, d] -> [B, T, d]. wqkv: [d, 3d] (q, k, v heads laid out [3, H, dh]), wo: [d, d];
 * tables: the RoPE cos/sin [T, dh] (a Rope).
 */
export function attention(
  x: tf.Tensor3D,
  wqkv: tf.Tensor,
  wo: tf.Tensor,
  nHeads: number,
  tables: { cos: tf.Tensor2D; sin: tf.Tensor2D },
): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T, d] = x.shape;
    const qkv = tf.reshape(tf.matMul(tf.reshape(x, [B * T, d]), wqkv), [B, T, 3 * d]) as tf.Tensor3D; // [B, T, 3d]
    const ctx = causalAttention(qkv, nHeads, tables.cos, tables.sin); // [B, T, d]
    return tf.reshape(tf.matMul(tf.reshape(ctx, [B * T, d]), wo), [B, T, d]) as tf.Tensor3D; // [B, T, d]
  });
}
