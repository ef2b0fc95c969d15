import * as tf from '@tensorflow/tfjs';
import type { TokenWeight } from './config.js';

/**
 * OverEncoding input (Huang et al. 2025, docs/SPEC.md section 4.5): each hashed head's row projected to d
 * without bias. The per-head projections stack into one [d_mem, d] matrix, so the sum over the
 * tables = (N-1)K heads is one matmul. How the token embedding enters (tokenWeight):
 *   mean (the reference, the default): (tok + sum) / (1 + tables)
 *   full: tok + sum / tables (the token embedding at full weight, only the n-gram part averaged)
 * tok: [N, d], rows: [N, d_mem], proj: [d_mem, d] -> [N, d]
 */
export function overEncoding(
  tok: tf.Tensor2D,
  rows: tf.Tensor2D,
  proj: tf.Tensor,
  tables: number,
  tokenWeight: TokenWeight = 'mean',
): tf.Tensor2D {
  return tf.tidy(() => {
    const sum = tf.matMul(rows, proj);
    if (tokenWeight === 'full') return tf.add(tok, tf.div(sum, tables)) as tf.Tensor2D;
    return tf.div(tf.add(tok, sum), 1 + tables) as tf.Tensor2D;
  });
}
