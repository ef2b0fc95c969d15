/**
 * A float64 forward of the whole language model in plain JS arithmetic, written from
 * docs/SPEC.md section 3-5 and DESIGN.md (not from src/model/transformer.ts), to check the tfjs model's
 * wiring: token embedding (OverEncoding: + projected n-gram rows, averaged), then per block
 * [Engram residual H <- H + Y] -> pre-norm causal attention with RoPE -> pre-norm FFN (SwiGLU, or
 * DeepSeekMoE: shared experts + top-k routed on sigmoid scores with a selection-only bias,
 * weights normalised over the selected), final RMSNorm, untied head.
 * Only parameter names and layouts come from src/model/params.ts: linear weights are [in, out]
 * (y = x W), wqkv's columns are [q | k | v] with heads [H, dh] inside each, SwiGLU's wgu is
 * [gate | up]. Where the spec leaves a convention open, the comment says which one is taken.
 * Arrays are row-major Float64Arrays; shapes are in the comments.
 */
import type { ModelConfig } from '../../src/model/config.js';

/** Parameter values by the names of params.ts, as float64. */
export type Params = Map<string, Float64Array>;

export interface ReferenceInput {
  B: number;
  T: number;
  ids: Int32Array; // [B*T]
  /** looked-up rows e_t per Engram layer id: [B*T, d_mem] */
  engramRows?: Map<number, Float64Array>;
  /** OverEncoding rows: [B*T, d_mem] */
  overEncodingRows?: Float64Array;
  /** per block: the router's selection bias [E] (MoE only) */
  routerBias?: Float64Array[];
}

export interface ReferenceOutput {
  logits: Float64Array; // [B*T, V]
  /** smallest gap between the k-th and (k+1)-th selection score over tokens and blocks: a
   *  float32 model can pick other experts where it is tiny, so callers check it is not */
  routingMargin: number;
}

// docs/SPEC.md section 3: the gate's key and query norms use float32 machine epsilon, the conv's norm 1e-5.
const GATE_EPS = 1.1920929e-7;
const CONV_EPS = 1e-5;
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const silu = (z: number) => z * sigmoid(z);

type F64 = Float64Array;
type EngramConfig = NonNullable<ModelConfig['engram']>;

/** x [N, n] W [n, m] (+ b [m]) -> [N, m]; W may be one slice of a stacked tensor (offset). */
function linear(x: F64, N: number, n: number, W: F64, m: number, b?: F64, offset = 0): F64 {
  const y = new Float64Array(N * m);
  for (let r = 0; r < N; r++) {
    for (let j = 0; j < m; j++) {
      let s = b ? b[j] : 0;
      for (let i = 0; i < n; i++) s += x[r * n + i] * W[offset + i * m + j];
      y[r * m + j] = s;
    }
  }
  return y;
}

/** RMSNorm(x) = x / sqrt(mean(x^2) + eps) * w per row (docs/SPEC.md section 3). x [N, d] -> [N, d] */
function rmsNorm(x: F64, N: number, d: number, w: F64, eps: number): F64 {
  const y = new Float64Array(N * d);
  for (let r = 0; r < N; r++) {
    let ms = 0;
    for (let c = 0; c < d; c++) ms += x[r * d + c] ** 2 / d;
    const inv = 1 / Math.sqrt(ms + eps);
    for (let c = 0; c < d; c++) y[r * d + c] = x[r * d + c] * inv * w[c];
  }
  return y;
}

/** SwiGLU: (SiLU(x Wg) * (x Wu)) Wdown with wgu = [Wg | Wu]. x [N, d] -> [N, d] */
function swiglu(x: F64, N: number, d: number, wgu: F64, wdown: F64, h: number, gOff = 0, dOff = 0): F64 {
  const gu = linear(x, N, d, wgu, 2 * h, undefined, gOff); // [N, 2h]
  const a = new Float64Array(N * h); // [N, h]
  for (let r = 0; r < N; r++) {
    for (let j = 0; j < h; j++) a[r * h + j] = silu(gu[r * 2 * h + j]) * gu[r * 2 * h + h + j];
  }
  return linear(a, N, h, wdown, d, undefined, dOff);
}

/**
 * Causal multi-head self-attention with RoPE on q and k, scores scaled by 1/sqrt(dh).
 * RoPE: the spec names none; the model's convention is the rotate-half pairing (dim i with
 * i + dh/2) at angle t / base^(2i/dh), t the position in the window from 0. (The interleaved
 * pairing is the same model up to a permutation of head dims, but not for the same weights.)
 * x [B*T, d] -> [B*T, d]
 */
function attention(x: F64, B: number, T: number, d: number, H: number, base: number, wqkv: F64, wo: F64): F64 {
  const dh = d / H;
  const half = dh / 2;
  const qkv = linear(x, B * T, d, wqkv, 3 * d); // [B*T, 3d] = [q | k | v], each [H, dh]
  const rotate = (v: Float64Array, t: number) => {
    const out = new Float64Array(dh);
    for (let i = 0; i < half; i++) {
      const a = t / base ** ((2 * i) / dh);
      out[i] = v[i] * Math.cos(a) - v[i + half] * Math.sin(a);
      out[i + half] = v[i + half] * Math.cos(a) + v[i] * Math.sin(a);
    }
    return out;
  };
  const ctx = new Float64Array(B * T * d); // [B*T, H*dh]
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const part = (t: number, which: number) => {
        const at = (b * T + t) * 3 * d + which * d + h * dh; // which: 0 q, 1 k, 2 v
        return qkv.subarray(at, at + dh);
      };
      const q = Array.from({ length: T }, (_, t) => rotate(part(t, 0), t));
      const k = Array.from({ length: T }, (_, t) => rotate(part(t, 1), t));
      for (let t = 0; t < T; t++) {
        const s = new Float64Array(t + 1); // keys 0..t only: causal
        for (let u = 0; u <= t; u++) for (let i = 0; i < dh; i++) s[u] += (q[t][i] * k[u][i]) / Math.sqrt(dh);
        const mx = Math.max(...s);
        let z = 0;
        for (let u = 0; u <= t; u++) z += s[u] = Math.exp(s[u] - mx);
        for (let u = 0; u <= t; u++) {
          const v = part(u, 2);
          for (let i = 0; i < dh; i++) ctx[(b * T + t) * d + h * dh + i] += (s[u] / z) * v[i];
        }
      }
    }
  }
  return linear(ctx, B * T, d, wo, d);
}

/**
 * DeepSeekMoE FFN (docs/SPEC.md section 5): s = sigmoid(x Wr); the topK experts by s + bias (bias for
 * selection only; ties to the lower index); weights s / sum of the selected s. The spec leaves a
 * routed scaling factor open (DeepSeek-V3 multiplies by 2.5): the model uses none, nor this.
 * Shared experts are always on, their outputs summed: stacked on the hidden axis they are one
 * SwiGLU of width shared * h, which is how params.ts stores them. x [N, d] -> [N, d]
 */
function moe(x: F64, N: number, d: number, c: NonNullable<ModelConfig['moe']>, p: (n: string) => F64, bias: F64) {
  const { routed: E, topK: k, expertHidden: h } = c;
  const scores = linear(x, N, d, p('router'), E).map(sigmoid); // [N, E]
  const y = c.shared > 0 ? swiglu(x, N, d, p('shared.wgu'), p('shared.wdown'), c.shared * h) : new Float64Array(N * d);
  let margin = Infinity;
  for (let n = 0; n < N; n++) {
    const s = scores.subarray(n * E, (n + 1) * E);
    const order = Array.from({ length: E }, (_, e) => e).sort((a, b) => s[b] + bias[b] - (s[a] + bias[a]) || a - b);
    const chosen = order.slice(0, k);
    if (k < E) margin = Math.min(margin, s[order[k - 1]] + bias[order[k - 1]] - s[order[k]] - bias[order[k]]);
    const total = chosen.reduce((a, e) => a + s[e], 0);
    const xn = x.subarray(n * d, (n + 1) * d);
    for (const e of chosen) {
      const ye = swiglu(xn, 1, d, p('routed.wgu'), p('routed.wdown'), h, e * d * 2 * h, e * h * d); // expert e: [1, d]
      for (let i = 0; i < d; i++) y[n * d + i] += (s[e] / total) * ye[i];
    }
  }
  return { y, margin };
}

/**
 * The Engram module of docs/SPEC.md section 3 with one branch (no hyper-connections), without the
 * residual: k = RMSNorm(e W_K + b), q = RMSNorm'(h), s = q.k / sqrt(d), then the reference's
 * signed square root, alpha = sigmoid(s), v~ = alpha (e W_V + b), Y = SiLU(Conv(RMSNorm(v~))) + v~
 * with a depthwise causal conv of width w and dilation N. h [B*T, d], e [B*T, d_mem] -> [B*T, d]
 */
function engram(hs: F64, e: F64, B: number, T: number, d: number, c: EngramConfig, p: (n: string) => F64) {
  const N = B * T;
  const m = (c.maxNgram - 1) * c.dimPerNgram;
  const v = linear(e, N, m, p('value'), d, p('valueBias')); // [N, d]
  const key = rmsNorm(linear(e, N, m, p('key.0'), d, p('keyBias.0')), N, d, p('keyNorm.0'), GATE_EPS);
  const query = rmsNorm(hs, N, d, p('queryNorm.0'), GATE_EPS);
  const vt = new Float64Array(N * d); // [N, d]
  for (let r = 0; r < N; r++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += (query[r * d + i] * key[r * d + i]) / Math.sqrt(d);
    if (c.signedSqrt) s = Math.sign(s) * Math.sqrt(Math.max(Math.abs(s), 1e-6));
    const alpha = sigmoid(s);
    for (let i = 0; i < d; i++) vt[r * d + i] = alpha * v[r * d + i];
  }
  const xn = rmsNorm(vt, N, d, p('convNorm.0'), CONV_EPS);
  const W = p('conv'); // [d, w]: y[t, c] = sum_j W[c, j] x[t - (w-1-j) N, c], zero before t = 0
  const w = c.kernelSize;
  const Y = new Float64Array(N * d);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let ch = 0; ch < d; ch++) {
        let y = 0;
        for (let j = 0; j < w; j++) {
          const src = t - (w - 1 - j) * c.maxNgram; // within this sequence only
          if (src >= 0) y += W[ch * w + j] * xn[(b * T + src) * d + ch];
        }
        Y[(b * T + t) * d + ch] = silu(y) + vt[(b * T + t) * d + ch];
      }
    }
  }
  return Y;
}

/** The logits of the whole model, and the routing margin (Infinity without MoE). */
export function referenceForward(c: ModelConfig, params: Params, input: ReferenceInput): ReferenceOutput {
  const { B, T, ids } = input;
  const d = c.dModel;
  const N = B * T;
  const p = (name: string) => {
    const v = params.get(name);
    if (!v) throw new Error(`reference: no parameter ${name}`);
    return v;
  };
  let x = new Float64Array(N * d); // [N, d]
  const embed = p('embed'); // [V, d]
  for (let r = 0; r < N; r++) x.set(embed.subarray(ids[r] * d, (ids[r] + 1) * d), r * d);
  if (c.overEncoding) {
    // docs/SPEC.md section 4.5, the reference's setting: each head's row (D_h dims) projected to d by its own
    // matrix (the head's D_h rows of overEncoding.proj), summed with the token embedding, / (1 + (N-1)K)
    const heads = (c.overEncoding.maxNgram - 1) * c.overEncoding.headsPerNgram;
    const dh = c.overEncoding.dimPerNgram / c.overEncoding.headsPerNgram;
    const rows = input.overEncodingRows!;
    for (let k = 0; k < heads; k++) {
      const head = new Float64Array(N * dh); // head k's rows: [N, D_h]
      for (let r = 0; r < N; r++) {
        const at = (r * heads + k) * dh;
        head.set(rows.subarray(at, at + dh), r * dh);
      }
      const y = linear(head, N, dh, p('overEncoding.proj'), d, undefined, k * dh * d);
      for (let i = 0; i < N * d; i++) x[i] += y[i];
    }
    x = x.map((v) => v / (1 + heads));
  }
  let margin = Infinity;
  const add = (y: Float64Array) => x.forEach((v, i) => (x[i] = v + y[i]));
  for (let l = 0; l < c.nLayers; l++) {
    const q = (n: string) => p(`layers.${l}.${n}`);
    // docs/SPEC.md section 3: H <- H + Y before the block's attention and FFN
    if (c.engram?.layerIds.includes(l)) {
      add(engram(x, input.engramRows!.get(l)!, B, T, d, c.engram, (n) => q(`engram.${n}`)));
    }
    const an = rmsNorm(x, N, d, q('attnNorm'), c.normEps);
    add(attention(an, B, T, d, c.nHeads, c.ropeBase, q('attn.wqkv'), q('attn.wo')));
    const hn = rmsNorm(x, N, d, q('ffnNorm'), c.normEps);
    if (c.moe) {
      const r = moe(hn, N, d, c.moe, (n) => q(`moe.${n}`), input.routerBias?.[l] ?? new Float64Array(c.moe.routed));
      margin = Math.min(margin, r.margin);
      add(r.y);
    } else {
      add(swiglu(hn, N, d, q('ffn.wgu'), q('ffn.wdown'), c.ffnHidden));
    }
  }
  const logits = linear(rmsNorm(x, N, d, p('finalNorm'), c.normEps), N, d, p('head'), c.vocabSize); // untied head
  return { logits, routingMargin: margin };
}

/** Mean token cross-entropy in nats: logsumexp(logits) - logits[target]. logits [N, V] */
export function crossEntropy64(logits: Float64Array, targets: Int32Array, V: number): number {
  let sum = 0;
  for (let r = 0; r < targets.length; r++) {
    const row = logits.subarray(r * V, (r + 1) * V);
    const mx = Math.max(...row);
    let z = 0;
    for (const v of row) z += Math.exp(v - mx);
    sum += mx + Math.log(z) - row[targets[r]];
  }
  return sum / targets.length;
}
