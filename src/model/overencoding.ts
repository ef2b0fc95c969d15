import * as tf from '@tensorflow/tfjs';

/**
 * OverEncoding input (Huang et al. 2025, as ENGRAM-SPEC 4 sets the baseline): each hashed head's
 * row projected to d without bias, summed with the token embedding, divided by 1 + (N-1)K.
 * The per-head projections stack into one [d_mem, d] matrix, so the sum is one matmul.
 * tok: [N, d], rows: [N, d_mem], proj: [d_mem, d] -> [N, d]
 */
export function overEncoding(tok: tf.Tensor2D, rows: tf.Tensor2D, proj: tf.Tensor, tables: number): tf.Tensor2D {
  return tf.tidy(() => tf.div(tf.add(tok, tf.matMul(rows, proj)), 1 + tables) as tf.Tensor2D);
}
