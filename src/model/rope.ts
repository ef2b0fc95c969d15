import * as tf from '@tensorflow/tfjs';
import { rope } from '../native/fused.js';

/**
 * Rotary position embedding in the rotate-half form: x * cos + rotate_half(x) * sin, where
 * rotate_half([x1, x2]) = [-x2, x1]. Equivalent to the interleaved-pairs form up to a fixed
 * permutation of head dims (absorbed by the projections); uses only slice/concat, which have
 * gradients on every backend (strided slices have none in tfjs). One fused kernel each way when
 * the native addon is active (src/native/fused.ts).
 */
export class Rope {
  readonly cos: tf.Tensor2D; // [T, Dh]
  readonly sin: tf.Tensor2D; // [T, Dh]

  constructor(seqLen: number, headDim: number, base: number) {
    const half = headDim / 2;
    const cos = new Float32Array(seqLen * headDim);
    const sin = new Float32Array(seqLen * headDim);
    for (let t = 0; t < seqLen; t++) {
      for (let i = 0; i < half; i++) {
        const angle = t / Math.pow(base, (2 * i) / headDim);
        for (const j of [i, i + half]) {
          cos[t * headDim + j] = Math.cos(angle);
          sin[t * headDim + j] = Math.sin(angle);
        }
      }
    }
    this.cos = tf.keep(tf.tensor2d(cos, [seqLen, headDim]));
    this.sin = tf.keep(tf.tensor2d(sin, [seqLen, headDim]));
  }

  /** x: [B, H, T, Dh] -> same shape */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return rope(x, this.cos, this.sin) as tf.Tensor4D;
  }

  dispose(): void {
    this.cos.dispose();
    this.sin.dispose();
  }
}
