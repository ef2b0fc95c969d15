/**
 * Rotary position embedding (Su et al. 2021, RoFormer) in the rotate-half form:
 * x * cos + rotate_half(x) * sin, where rotate_half([x1, x2]) = [-x2, x1]. Equivalent to the
 * paper's interleaved-pairs form up to a fixed permutation of head dims (absorbed by the
 * projections); uses only slice/concat, which have gradients on every backend (strided slices
 * have none in tfjs).
 */
import * as tf from '@tensorflow/tfjs';
import { type CustomGradFn, FUSED, hasKernel } from './fused-op.js';

/** The cos/sin tables for positions 0..T-1: theta_i = base^(-2i/dh), angle = t theta_i. */
export class Rope {
  readonly cos: tf.Tensor2D; // [T, dh]
  readonly sin: tf.Tensor2D; // [T, dh]

  constructor(seqLen: number, headDim: number, base: number) {
    const half = headDim / 2;
    const cos = new Float32Array(seqLen * headDim);
    const sin = new Float32Array(seqLen * headDim);
    for (let t = 0; t < seqLen; t++) {
      for (let i = 0; i < half; i++) {
        const angle = t / base ** ((2 * i) / headDim);
        // dims i and i + half form one rotated pair in the rotate-half layout
        for (const j of [i, i + half]) {
          cos[t * headDim + j] = Math.cos(angle);
          sin[t * headDim + j] = Math.sin(angle);
        }
      }
    }
    this.cos = tf.keep(tf.tensor2d(cos, [seqLen, headDim]));
    this.sin = tf.keep(tf.tensor2d(sin, [seqLen, headDim]));
  }

  dispose(): void {
    this.cos.dispose();
    this.sin.dispose();
  }
}

/** x: [..., T, dh], cos/sin: [T, dh] constants (no gradient to them) -> [..., T, dh] */
export function rope(x: tf.Tensor, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor {
  const dh = x.shape[x.shape.length - 1];
  if (!hasKernel(FUSED.rope)) {
    return tf.tidy(() => {
      const [x1, x2] = tf.split(x, [dh / 2, dh / 2], x.rank - 1); // [..., T, dh/2] each
      return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(x2), x1], x.rank - 1), sin));
    });
  }
  // cos and sin go through save(): a caller may create them inside the traced function, and
  // tensors made there are disposed before the backward pass runs
  const op = tf.customGrad(((xs: tf.Tensor, save: tf.GradSaveFunc) => {
    save([cos, sin]);
    return {
      value: tf.engine().runKernel(FUSED.rope, { x: xs, cos, sin }, { inverse: false }) as tf.Tensor,
      // the rotation is orthogonal, so its gradient is the inverse rotation of dy
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(FUSED.rope, { x: dy, cos: saved[0], sin: saved[1] }, { inverse: true }) as tf.Tensor,
    };
  }) as unknown as CustomGradFn);
  return op(x);
}
