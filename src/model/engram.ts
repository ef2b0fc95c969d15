import * as tf from '@tensorflow/tfjs';
import { type CustomGradFn, FUSED, hasKernel } from './fused-op.js';
import { rmsNorm } from './norm.js';

/** float32 machine epsilon: the reference's RMSNorm eps for the gate's query and key norms */
export const GATE_EPS = 1.1920929e-7;
/** eps of the short conv's RMSNorm */
export const CONV_EPS = 1e-5;

export interface EngramWeights {
  value: tf.Tensor; // [d_mem, d]
  valueBias: tf.Tensor; // [d]
  key: tf.Tensor[]; // per branch [d_mem, d]
  keyBias: tf.Tensor[]; // per branch [d]
  keyNorm: tf.Tensor[]; // per branch [d]
  queryNorm: tf.Tensor[]; // per branch [d]
  convNorm: tf.Tensor[]; // per branch [d]
  conv: tf.Tensor; // [hc * d, w], channel = g * d + c
}

export interface EngramOptions {
  maxNgram: number; // conv dilation N
  signedSqrt: boolean;
}

/**
 * The Engram fusion of docs/SPEC.md section 3 for hc branches, without the residual:
 *   k = RMSNorm_g(e W_K,g + b), q = RMSNorm'_g(h_g), s = q.k / sqrt(d) (then the reference's
 *   signed square root), alpha = sigmoid(s), v~ = alpha (e W_V + b),
 *   Y = SiLU(Conv(RMSNorm_g(v~))) + v~
 * h: [B, T, hc, d] hidden states, e: [B*T, d_mem] looked-up memory rows.
 * Returns out (Y): [B, T, hc, d], gates (alpha): [B, T, hc], value (v~): [B, T, hc, d].
 */
export function engram(h: tf.Tensor4D, e: tf.Tensor2D, w: EngramWeights, o: EngramOptions) {
  if (h.shape[2] === 1 && hasKernel(FUSED.engramGate)) return engramFused(h, e, w, o);
  return engramOps(h, e, w, o);
}

/** engram() in stock tf ops, any hc: the reference the fused kernel must equal bit for bit. */
export function engramOps(h: tf.Tensor4D, e: tf.Tensor2D, w: EngramWeights, o: EngramOptions) {
  return tf.tidy(() => {
    const [B, T, hc, d] = h.shape;
    const v = tf.reshape(tf.add(tf.matMul(e, w.value), w.valueBias), [B, T, d]); // [B, T, d], shared by branches
    const outs: tf.Tensor[] = [];
    const gates: tf.Tensor[] = [];
    const values: tf.Tensor[] = [];
    for (let g = 0; g < hc; g++) {
      const hg = tf.reshape(tf.slice(h, [0, 0, g, 0], [B, T, 1, d]), [B, T, d]);
      const k = rmsNorm(tf.add(tf.matMul(e, w.key[g]), w.keyBias[g]), w.keyNorm[g], GATE_EPS); // [B*T, d]
      const q = rmsNorm(tf.reshape(hg, [B * T, d]), w.queryNorm[g], GATE_EPS); // [B*T, d]
      let s = tf.div(tf.sum(tf.mul(q, k), 1), Math.sqrt(d)); // [B*T]
      if (o.signedSqrt) s = tf.mul(tf.sign(s), tf.sqrt(tf.maximum(tf.abs(s), 1e-6)));
      const alpha = tf.reshape(tf.sigmoid(s), [B, T, 1]); // [B, T, 1]
      const vt = tf.mul(alpha, v); // [B, T, d]
      const conv = causalConv(rmsNorm(vt, w.convNorm[g], CONV_EPS) as tf.Tensor3D, w.conv, g, o.maxNgram); // [B, T, d]
      outs.push(tf.add(tf.mul(conv, tf.sigmoid(conv)), vt));
      gates.push(alpha);
      values.push(vt);
    }
    return {
      out: tf.stack(outs, 2) as tf.Tensor4D, // [B, T, hc, d]
      gates: tf.concat(gates, 2) as tf.Tensor3D, // [B, T, hc]
      value: tf.stack(values, 2) as tf.Tensor4D, // [B, T, hc, d]
    };
  });
}

/**
 * engram() for hc = 1 with the gate and short conv as one native kernel each way
 * (src/backend/native/engram-gate.ts); the memory projections stay matmuls, in the same order
 * as engramOps, so the gradient of e sums its two parts in the same order too.
 */
function engramFused(h: tf.Tensor4D, e: tf.Tensor2D, w: EngramWeights, o: EngramOptions) {
  const [B, T, , d] = h.shape;
  const attrs = { B, T, dilation: o.maxNgram, signedSqrt: o.signedSqrt, gateEps: GATE_EPS, convEps: CONV_EPS };
  // the gates [B*T] and v~ [B*T, d] leave the op beside its value: no gradient flows through them
  let side: tf.Tensor[] = [];
  type T = tf.Tensor;
  const op = tf.customGrad(((
    hs: T,
    kpre: T,
    v: T,
    keyNorm: T,
    queryNorm: T,
    convNorm: T,
    conv: T,
    save: tf.GradSaveFunc,
  ) => {
    const inputs = { h: hs, kpre, v, keyNorm, queryNorm, convNorm, conv };
    const [out, a, vt, saved] = tf.engine().runKernel(FUSED.engramGate, inputs, attrs as never) as tf.Tensor[];
    side = [tf.keep(a), tf.keep(vt)];
    save([hs, kpre, v, keyNorm, queryNorm, convNorm, conv, a, vt, saved]);
    return {
      value: out, // [B*T, d]
      gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => {
        const [sh, sk, sv, skn, sqn, scn, sc, sa, svt, ssaved] = s;
        const ins = { dy, h: sh, kpre: sk, v: sv, keyNorm: skn, queryNorm: sqn, convNorm: scn, conv: sc };
        // [dh, dkpre, dv, dKeyNorm, dQueryNorm, dConvNorm, dConv]
        return tf
          .engine()
          .runKernel(
            FUSED.engramGateGrad,
            { ...ins, alpha: sa, vt: svt, saved: ssaved },
            attrs as never,
          ) as tf.Tensor[];
      },
    };
  }) as unknown as CustomGradFn);
  return tf.tidy(() => {
    const v = tf.add(tf.matMul(e, w.value), w.valueBias); // [B*T, d]
    const kpre = tf.add(tf.matMul(e, w.key[0]), w.keyBias[0]); // [B*T, d]
    const hs = tf.reshape(h, [B * T, d]); // [B*T, d]
    const out = op(hs, kpre, v, w.keyNorm[0], w.queryNorm[0], w.convNorm[0], w.conv) as tf.Tensor; // [B*T, d]
    const [a, vt] = side;
    const gates = tf.reshape(a, [B, T, 1]) as tf.Tensor3D; // [B, T, hc]
    const value = tf.reshape(vt, [B, T, 1, d]) as tf.Tensor4D; // [B, T, hc, d]
    tf.dispose(side);
    return { out: tf.reshape(out, [B, T, 1, d]) as tf.Tensor4D, gates, value };
  });
}

/**
 * Depthwise causal conv with dilation N: y[t, c] = sum_j W[c, j] x[t - (w-1-j) N, c], zero before
 * t = 0. Done as w shifted slices of a front-padded x (gradients exist on every backend).
 * x: [B, T, d], conv: [hc * d, w] (branch g uses rows g*d .. g*d + d - 1) -> [B, T, d]
 */
export function causalConv(x: tf.Tensor3D, conv: tf.Tensor, g: number, dilation: number): tf.Tensor3D {
  const [B, T, d] = x.shape;
  const width = conv.shape[1]!;
  const xp = tf.pad(x, [
    [0, 0],
    [(width - 1) * dilation, 0],
    [0, 0],
  ]); // [B, T + (w-1)N, d]
  let y: tf.Tensor | null = null;
  for (let j = 0; j < width; j++) {
    const wj = tf.reshape(tf.slice(conv as tf.Tensor2D, [g * d, j], [d, 1]), [d]); // [d]
    const term = tf.mul(tf.slice(xp, [0, j * dilation, 0], [B, T, d]), wj);
    y = y ? tf.add(y, term) : term;
  }
  return y as tf.Tensor3D;
}
