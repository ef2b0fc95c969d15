/**
 * The Engram layer of docs/SPEC.md section 3 in float64 with plain typed arrays: the parity path of
 * `engram-sweep engram-forward` (docs/SPEC.md section 6) and a yardstick for the tfjs layer (engram.ts).
 * Written straight from the spec, one loop per formula, weights in the torch layout
 * ([out, in], y = W x + b) so a reference state dict maps onto it without transposes.
 */
import { CONV_EPS, GATE_EPS } from './engram.js';

/** One Engram layer's parameters, float64, torch layout (names of docs/SPEC.md section 6 in comments). */
export interface Engram64Weights {
  d: number; // hidden size
  dMem: number; // (N - 1) * d_order
  hc: number; // branches (hc_mult)
  kernel: number; // short conv width w
  headDim: number; // D_h = d_order / K
  sizes: number[]; // this layer's primes, order-major: the tables of multi_head_embedding
  table: Float64Array; // multi_head_embedding.embedding.weight [sum(sizes), D_h]
  value: Float64Array; // value_proj.weight [d, d_mem]
  valueBias: Float64Array; // value_proj.bias [d]
  key: Float64Array[]; // key_projs.{g}.weight [d, d_mem]
  keyBias: Float64Array[]; // key_projs.{g}.bias [d]
  keyNorm: Float64Array[]; // norm1.{g}.weight [d]
  queryNorm: Float64Array[]; // norm2.{g}.weight [d]
  convNorm: Float64Array[]; // short_conv.norms.{g}.weight [d]
  conv: Float64Array; // short_conv.conv.weight [hc * d, 1, w] stored as [hc * d, w]
}

export interface Engram64Options {
  /** N: the conv's dilation */
  maxNgram: number;
  /** the reference's s <- sign(s) sqrt(max(|s|, 1e-6)) before the sigmoid */
  signedSqrt: boolean;
}

export interface Engram64Result {
  gates: Float64Array; // [B, T, hc] alpha
  value: Float64Array; // [B, T, hc, d] alpha * v
  out: Float64Array; // [B, T, hc, d] value + SiLU(conv(norm(value))), no residual
}

/** Running sums of the table sizes: the first row of each table in the shared row space (spec 2.6). */
export function tableOffsets(sizes: readonly number[]): number[] {
  const off: number[] = [];
  let acc = 0;
  for (const p of sizes) {
    off.push(acc);
    acc += p;
  }
  return off;
}

/**
 * e_t = concat over tables j of table[offset_j + idx[t, j]] (spec 2.6).
 * hashIds: [B*T, J] per-table indices (J = (N-1)K) -> [B*T, J * D_h]. Indices must be in range.
 */
export function lookupRows64(w: Engram64Weights, hashIds: ArrayLike<number>, BT: number): Float64Array {
  const J = w.sizes.length;
  const Dh = w.headDim;
  const off = tableOffsets(w.sizes);
  const e = new Float64Array(BT * J * Dh);
  for (let i = 0; i < BT; i++) {
    for (let j = 0; j < J; j++) {
      const row = off[j] + hashIds[i * J + j];
      e.set(w.table.subarray(row * Dh, row * Dh + Dh), (i * J + j) * Dh);
    }
  }
  return e;
}

/** y = W x + b for one vector: W [out, in] row-major, x = src[xOff .. xOff + in). */
function linear(W: Float64Array, b: Float64Array, src: Float64Array, xOff: number, nIn: number, y: Float64Array): void {
  for (let o = 0; o < y.length; o++) {
    let acc = b[o];
    const r = o * nIn;
    for (let i = 0; i < nIn; i++) acc += W[r + i] * src[xOff + i];
    y[o] = acc;
  }
}

/** RMSNorm(x) = x / sqrt(mean(x^2) + eps) * w (spec 3), x = src[off .. off + d), in place into y. */
function rmsNorm(src: Float64Array, off: number, w: Float64Array, eps: number, y: Float64Array): void {
  const d = w.length;
  let ms = 0;
  for (let c = 0; c < d; c++) ms += src[off + c] * src[off + c];
  const r = 1 / Math.sqrt(ms / d + eps);
  for (let c = 0; c < d; c++) y[c] = src[off + c] * r * w[c];
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Gate alpha and value v~ = alpha v for every position and branch (spec 3). */
function gateAndValue(h: Float64Array, e: Float64Array, w: Engram64Weights, BT: number, o: Engram64Options) {
  const { d, dMem, hc } = w;
  const gates = new Float64Array(BT * hc);
  const value = new Float64Array(BT * hc * d);
  const v = new Float64Array(d),
    k = new Float64Array(d),
    kn = new Float64Array(d),
    qn = new Float64Array(d);
  for (let i = 0; i < BT; i++) {
    linear(w.value, w.valueBias, e, i * dMem, dMem, v); // v = W_V e + b, shared by branches
    for (let g = 0; g < hc; g++) {
      linear(w.key[g], w.keyBias[g], e, i * dMem, dMem, k);
      rmsNorm(k, 0, w.keyNorm[g], GATE_EPS, kn);
      rmsNorm(h, (i * hc + g) * d, w.queryNorm[g], GATE_EPS, qn);
      let s = 0;
      for (let c = 0; c < d; c++) s += qn[c] * kn[c];
      s /= Math.sqrt(d);
      if (o.signedSqrt) s = Math.sign(s) * Math.sqrt(Math.max(Math.abs(s), 1e-6));
      const alpha = sigmoid(s);
      gates[i * hc + g] = alpha;
      const base = (i * hc + g) * d;
      for (let c = 0; c < d; c++) value[base + c] = alpha * v[c];
    }
  }
  return { gates, value };
}

/**
 * Y = SiLU(Conv(RMSNorm_g(v~))) + v~ with the depthwise causal conv of spec 3:
 * y[t, c] = sum_j W[c, j] x[t - (w-1-j) N, c], x = 0 before t = 0, channel = g * d + c.
 */
function shortConv(value: Float64Array, w: Engram64Weights, B: number, T: number, dilation: number): Float64Array {
  const { d, hc, kernel } = w;
  const normed = new Float64Array(value.length); // [B, T, hc, d]
  const tmp = new Float64Array(d);
  for (let i = 0; i < B * T; i++) {
    for (let g = 0; g < hc; g++) {
      rmsNorm(value, (i * hc + g) * d, w.convNorm[g], CONV_EPS, tmp);
      normed.set(tmp, (i * hc + g) * d);
    }
  }
  const out = new Float64Array(value.length);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let g = 0; g < hc; g++) {
        for (let c = 0; c < d; c++) {
          const ch = g * d + c;
          let y = 0;
          for (let j = 0; j < kernel; j++) {
            const src = t - (kernel - 1 - j) * dilation;
            if (src >= 0) y += w.conv[ch * kernel + j] * normed[((b * T + src) * hc + g) * d + c];
          }
          const at = ((b * T + t) * hc + g) * d + c;
          out[at] = y * sigmoid(y) + value[at];
        }
      }
    }
  }
  return out;
}

/**
 * The Engram fusion (spec 3) without the residual. h: [B, T, hc, d] hidden states,
 * e: [B*T, d_mem] looked-up rows (lookupRows64). Inputs are assumed validated (engram-io.ts).
 */
export function engram64(
  h: Float64Array,
  e: Float64Array,
  w: Engram64Weights,
  B: number,
  T: number,
  o: Engram64Options,
): Engram64Result {
  const { gates, value } = gateAndValue(h, e, w, B * T, o);
  return { gates, value, out: shortConv(value, w, B, T, o.maxNgram) };
}
