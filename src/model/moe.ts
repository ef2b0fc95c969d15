import * as tf from '@tensorflow/tfjs';
import type { MoeConfig } from './config.js';
import type { CustomGradFn } from './fused-op.js';
import { groupedMatMul } from './grouped-matmul.js';
import { swiglu, swigluActivation } from './swiglu.js';

/**
 * Per-layer routing state outside the graph: the selection bias. The load of a forward is one of
 * its outputs (moe() returns it), so an evaluation pass never touches what training records.
 */
export interface RouterState {
  /** added to the scores for selection only (auxiliary-loss-free balancing) */
  bias: Float32Array; // [E]
}

export const newRouterState = (routed: number): RouterState => ({ bias: new Float32Array(routed) });

export interface MoeWeights {
  sharedWgu?: tf.Tensor;
  sharedWdown?: tf.Tensor;
  router: tf.Tensor; // [d, E]
  routedWgu: tf.Tensor; // [E, d, 2h]
  routedWdown: tf.Tensor; // [E, h, d]
}

/**
 * DeepSeekMoE / V3 FFN (docs/SPEC.md section 5). Scores s = sigmoid(x Wr); the topK experts by s + bias
 * are chosen outside the tape (no gradient through top-k); the gate weights are s over the
 * selected experts normalised to sum 1. x: [N, d] -> { y: [N, d], load: [E] (tokens routed to each
 * expert), balance?: scalar }
 * seqLen is needed for the sequence-wise balance loss (tokens of one sequence are contiguous).
 */
export function moe(x: tf.Tensor2D, w: MoeWeights, c: MoeConfig, state: RouterState, seqLen: number) {
  const [N, d] = x.shape;
  const E = c.routed;
  const k = c.topK;
  let route!: Route;
  const out = tf.tidy(() => {
    const scores = tf.sigmoid(tf.matMul(x, w.router)) as tf.Tensor2D; // [N, E]
    route = selectExperts(scores.dataSync() as Float32Array, N, E, k, state);
    const picked = tf.gather(tf.reshape(scores, [N * E]), route.scoreIndex); // [N*k]
    const gates = tf.reshape(picked, [N, k]);
    const weights = tf.div(gates, tf.sum(gates, 1, true)); // [N, k]
    const xs = tf.gather(x, route.token) as tf.Tensor2D; // [N*k, d] sorted by expert
    const gu = groupedMatMul(xs, w.routedWgu as tf.Tensor3D, route.sizes); // [N*k, 2h]
    const act = swigluActivation(gu); // [N*k, h]
    const ys = groupedMatMul(act, w.routedWdown as tf.Tensor3D, route.sizes); // [N*k, d]
    const perSlot = tf.reshape(tf.gather(ys, route.inverse), [N, k, d]); // back to (token, slot) order
    let y = sumSlots(tf.mul(perSlot, tf.expandDims(weights, 2)) as tf.Tensor3D); // [N, d]
    if (w.sharedWgu && w.sharedWdown) y = tf.add(y, swiglu(x, w.sharedWgu, w.sharedWdown));
    const balance =
      c.seqBalance > 0 ? seqBalanceLoss(scores, route.chosen, N / seqLen, seqLen, E, k, c.seqBalance) : null;
    return balance ? { y, balance } : { y };
  }) as { y: tf.Tensor2D; balance?: tf.Scalar };
  return { ...out, load: route.sizes };
}

/**
 * tf.sum(x, 1) for x [N, k, d], with the gradient dy broadcast over the k slots by a multiply
 * with ones [1, k, 1]. The stock Sum gradient multiplies dy by ones of x's whole shape, built on
 * the host every step; x * 1 = x for every float, so both give the same bits.
 */
function sumSlots(x: tf.Tensor3D): tf.Tensor2D {
  const op = tf.customGrad(((xs: tf.Tensor) => ({
    value: tf.sum(xs, 1), // [N, d]
    // [N, 1, d] * [1, k, 1] -> [N, k, d]: the broadcast in the native multiply (wasm's Tile is slow)
    gradFunc: (dy: tf.Tensor) => tf.mul(tf.expandDims(dy, 1), tf.ones([1, xs.shape[1]!, 1])),
  })) as unknown as CustomGradFn);
  return op(x) as tf.Tensor2D;
}

export interface Route {
  scoreIndex: tf.Tensor1D; // [N*k] flat index n*E + e of each (token, slot)
  token: tf.Tensor1D; // [N*k] token of each row, rows sorted by expert
  inverse: tf.Tensor1D; // [N*k] row of (token, slot) in the sorted order
  sizes: Int32Array; // [E] rows per expert
  chosen: Int32Array; // [N*k] expert of each (token, slot)
}

/** Top-k by s + bias per token, then a counting sort of (token, slot) pairs by expert. */
export function selectExperts(s: Float32Array, N: number, E: number, k: number, state: RouterState): Route {
  const chosen = new Int32Array(N * k);
  const sizes = new Int32Array(E);
  for (let n = 0; n < N; n++) {
    const base = n * E;
    for (let j = 0; j < k; j++) {
      let best = -1;
      let bestScore = -Infinity;
      for (let e = 0; e < E; e++) {
        const v = s[base + e] + state.bias[e];
        if (v > bestScore && !taken(chosen, n * k, j, e)) {
          best = e;
          bestScore = v;
        }
      }
      // NaN scores (a diverging run) select nothing: take the first free expert so the shapes
      // hold and the NaN loss is recorded as divergence by the trainer
      if (best < 0) for (best = 0; taken(chosen, n * k, j, best); best++);
      chosen[n * k + j] = best;
      sizes[best]++;
    }
  }
  const start = new Int32Array(E);
  for (let e = 1; e < E; e++) start[e] = start[e - 1] + sizes[e - 1];
  const token = new Int32Array(N * k);
  const inverse = new Int32Array(N * k);
  const scoreIndex = new Int32Array(N * k);
  for (let i = 0; i < N * k; i++) {
    const e = chosen[i];
    const row = start[e]++;
    token[row] = Math.floor(i / k);
    inverse[i] = row;
    scoreIndex[i] = Math.floor(i / k) * E + e;
  }
  return {
    scoreIndex: tf.tensor1d(scoreIndex, 'int32'),
    token: tf.tensor1d(token, 'int32'),
    inverse: tf.tensor1d(inverse, 'int32'),
    sizes,
    chosen,
  };
}

function taken(chosen: Int32Array, at: number, j: number, e: number): boolean {
  for (let i = 0; i < j; i++) if (chosen[at + i] === e) return true;
  return false;
}

/**
 * DeepSeek-V3's sequence-wise balance loss: alpha * sum_i f_i P_i per sequence, with
 * f_i = E / (k T) * (tokens of the sequence routed to i) and P_i the mean over the sequence of
 * the scores normalised over all experts. Averaged over sequences.
 */
function seqBalanceLoss(
  scores: tf.Tensor2D,
  chosen: Int32Array,
  B: number,
  T: number,
  E: number,
  k: number,
  alpha: number,
) {
  const f = new Float32Array(B * E);
  for (let i = 0; i < B * T * k; i++) f[Math.floor(i / (T * k)) * E + chosen[i]] += E / (k * T);
  return tf.tidy(() => {
    const s = tf.reshape(scores, [B, T, E]);
    const p = tf.mean(tf.div(s, tf.sum(s, 2, true)), 1); // [B, E]
    return tf.mul(tf.mean(tf.sum(tf.mul(tf.tensor2d(f, [B, E]), p), 1)), alpha);
  });
}

/** Nudge the selection bias toward under-loaded experts (docs/SPEC.md section 5), after each training step. */
export function updateBias(state: RouterState, load: ArrayLike<number>, gamma: number): void {
  const E = load.length;
  let mean = 0;
  for (let e = 0; e < E; e++) mean += load[e] / E;
  for (let e = 0; e < E; e++) state.bias[e] += gamma * Math.sign(mean - load[e]);
}
