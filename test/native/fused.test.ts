/**
 * The fused ops (the layers of src/model/, their kernels in src/backend/native/fused-kernels.ts) and the sparse softmax cross-entropy kernel: values and
 * gradients against float64 formulas written here, and against the same ops on the JS CPU
 * backend, where they run as stock tf ops (the composite fallback).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { sparseSoftmaxCrossEntropy } from '../../src/backend/index.js';
import { causalAttention } from '../../src/model/attention.js';
import { rmsNorm } from '../../src/model/norm.js';
import { rope } from '../../src/model/rope.js';
import { swiglu, swigluActivation } from '../../src/model/swiglu.js';
import { onCpu, rand, setup, worst } from './util.js';

const { path } = await setup();

/** f's value and gradients w.r.t. its inputs, weighted by dy, as float64 arrays. */
function valueAndGrads(f: (...t: tf.Tensor[]) => tf.Tensor, inputs: [Float32Array, number[]][], dy: Float32Array) {
  const ts = inputs.map(([v, s]) => tf.tensor(v, s));
  const y = f(...ts);
  const w = tf.tensor(dy, y.shape);
  const gs = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), w)))(ts);
  const out = { value: Float64Array.from(y.dataSync()), grads: gs.map((t) => Float64Array.from(t.dataSync())) };
  tf.dispose([...ts, y, w, ...gs]);
  return out;
}

describe(`rmsNorm (${path})`, () => {
  const rows = 6;
  const d = 20;
  const x = rand(rows * d, -2, 2);
  const w = rand(d, 0.5, 1.5);
  const dy = rand(rows * d);
  const eps = 1e-6;
  // float64: y = x inv w; dx = inv (g - xh mean(g xh)) with g = dy w, xh = x inv; dw = sum dy xh
  const y = new Float64Array(rows * d);
  const dx = new Float64Array(rows * d);
  const dw = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[r * d + j] ** 2;
    const inv = 1 / Math.sqrt(ss / d + eps);
    let m = 0;
    for (let j = 0; j < d; j++) m += (dy[r * d + j] * w[j] * x[r * d + j] * inv) / d;
    for (let j = 0; j < d; j++) {
      const xh = x[r * d + j] * inv;
      y[r * d + j] = xh * w[j];
      dx[r * d + j] = inv * (dy[r * d + j] * w[j] - xh * m);
      dw[j] += dy[r * d + j] * xh;
    }
  }

  it('value and gradients match float64', () => {
    const got = valueAndGrads(
      (a, b) => rmsNorm(a, b, eps),
      [
        [x, [2, 3, d]],
        [w, [d]],
      ],
      dy,
    );
    expect(worst(got.value, y, 2e-6, 1e-7)).toBeLessThanOrEqual(1);
    expect(worst(got.grads[0], dx, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    expect(worst(got.grads[1], dw, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });

  it('agrees with the stock ops on the CPU backend', async () => {
    const f = (a: tf.Tensor, b: tf.Tensor) => rmsNorm(a, b, eps);
    const here = valueAndGrads(
      f,
      [
        [x, [rows, d]],
        [w, [d]],
      ],
      dy,
    );
    const cpu = await onCpu(() =>
      valueAndGrads(
        f,
        [
          [x, [rows, d]],
          [w, [d]],
        ],
        dy,
      ),
    );
    expect(worst(here.value, cpu.value, 2e-6, 1e-7)).toBeLessThanOrEqual(1);
    here.grads.forEach((g, i) => expect(worst(g, cpu.grads[i], 1e-5, 1e-6)).toBeLessThanOrEqual(1));
  });
});

describe(`swiglu (${path})`, () => {
  const rows = 5;
  const h = 7;
  const gu = rand(rows * 2 * h, -4, 4);
  const dy = rand(rows * h);
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const y = new Float64Array(rows * h);
  const dgu = new Float64Array(rows * 2 * h);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < h; j++) {
      const g = gu[r * 2 * h + j];
      const u = gu[r * 2 * h + h + j];
      const s = sig(g);
      y[r * h + j] = g * s * u;
      dgu[r * 2 * h + j] = dy[r * h + j] * u * s * (1 + g * (1 - s));
      dgu[r * 2 * h + h + j] = dy[r * h + j] * g * s;
    }
  }

  it('activation value and gradient match float64', () => {
    const got = valueAndGrads((t) => swigluActivation(t as tf.Tensor2D), [[gu, [rows, 2 * h]]], dy);
    expect(worst(got.value, y, 1e-6, 1e-7)).toBeLessThanOrEqual(1);
    expect(worst(got.grads[0], dgu, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });

  it('the FFN agrees with the stock ops on the CPU backend (values and all three gradients)', async () => {
    const d = 6;
    const x = rand(rows * d);
    const wgu = rand(d * 2 * h);
    const wd = rand(h * d);
    const dyo = rand(rows * d);
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => swiglu(a as tf.Tensor2D, b, c);
    const inputs: [Float32Array, number[]][] = [
      [x, [rows, d]],
      [wgu, [d, 2 * h]],
      [wd, [h, d]],
    ];
    const here = valueAndGrads(f, inputs, dyo);
    const cpu = await onCpu(() => valueAndGrads(f, inputs, dyo));
    expect(worst(here.value, cpu.value, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    here.grads.forEach((g, i) => expect(worst(g, cpu.grads[i], 1e-5, 1e-6)).toBeLessThanOrEqual(1));
  });
});

/** Rotate-half RoPE tables [T, dh] with base 10000, computed here in float64 (then float32). */
function ropeTables(T: number, dh: number): { cos: Float32Array; sin: Float32Array } {
  const cos = new Float32Array(T * dh);
  const sin = new Float32Array(T * dh);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < dh / 2; i++) {
      const a = t / 10000 ** ((2 * i) / dh);
      for (const j of [i, i + dh / 2]) [cos[t * dh + j], sin[t * dh + j]] = [Math.cos(a), Math.sin(a)];
    }
  }
  return { cos, sin };
}

describe(`rope (${path})`, () => {
  const [B, H, T, dh] = [2, 3, 5, 8];
  const { cos, sin } = ropeTables(T, dh);
  const x = rand(B * H * T * dh);
  const dy = rand(B * H * T * dh);
  // float64: rotate-half form, and its transpose for the gradient
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  for (let o = 0; o < B * H * T; o++) {
    const t = o % T;
    for (let j = 0; j < dh / 2; j++) {
      const [i1, i2] = [o * dh + j, o * dh + j + dh / 2];
      const [c1, c2, s1, s2] = [cos[t * dh + j], cos[t * dh + j + dh / 2], sin[t * dh + j], sin[t * dh + j + dh / 2]];
      y[i1] = x[i1] * c1 - x[i2] * s1;
      y[i2] = x[i2] * c2 + x[i1] * s2;
      dx[i1] = dy[i1] * c1 + dy[i2] * s2;
      dx[i2] = dy[i2] * c2 - dy[i1] * s1;
    }
  }

  it('value and gradient match float64', () => {
    const c = tf.tensor2d(cos, [T, dh]);
    const s = tf.tensor2d(sin, [T, dh]);
    const got = valueAndGrads((t) => rope(t, c, s), [[x, [B, H, T, dh]]], dy);
    tf.dispose([c, s]);
    expect(worst(got.value, y, 1e-6, 1e-7)).toBeLessThanOrEqual(1);
    expect(worst(got.grads[0], dx, 1e-6, 1e-7)).toBeLessThanOrEqual(1);
  });
});

describe(`causal attention (${path})`, () => {
  const [B, T, H, dh] = [2, 6, 2, 4];
  const d = H * dh;
  const { cos, sin } = ropeTables(T, dh);
  const qkv = rand(B * T * 3 * d, -2, 2);
  const dy = rand(B * T * d);
  /** float64: per (b, h) RoPE'd q, k from [B, T, 3, H, dh], causal softmax(q k^T / sqrt(dh)) v, merged [B, T, H, dh] */
  function reference(): Float64Array {
    const out = new Float64Array(B * T * d);
    const at = (b: number, t: number, s: number, h: number, j: number) => qkv[(((b * T + t) * 3 + s) * H + h) * dh + j];
    const roped = (b: number, t: number, s: number, h: number) =>
      Array.from({ length: dh }, (_, j) => {
        const half = dh / 2;
        const rot = j < half ? -at(b, t, s, h, j + half) : at(b, t, s, h, j - half);
        return at(b, t, s, h, j) * cos[t * dh + j] + rot * sin[t * dh + j];
      });
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < T; i++) {
          const q = roped(b, i, 0, h);
          const sc = Array.from(
            { length: i + 1 },
            (_, j) => roped(b, j, 1, h).reduce((acc, kv, c) => acc + kv * q[c], 0) / Math.sqrt(dh),
          );
          const m = Math.max(...sc);
          const e = sc.map((v) => Math.exp(v - m));
          const z = e.reduce((a, c) => a + c, 0);
          for (let c = 0; c < dh; c++)
            out[((b * T + i) * H + h) * dh + c] = e.reduce((acc, p, j) => acc + (p / z) * at(b, j, 2, h, c), 0);
        }
      }
    }
    return out;
  }

  it('value matches float64; value and gradient match the stock ops on the CPU backend', async () => {
    // the tables are made inside the traced function on purpose: the op must keep them for backward
    const f = (x: tf.Tensor) =>
      tf.tidy(() => causalAttention(x as tf.Tensor3D, H, tf.tensor2d(cos, [T, dh]), tf.tensor2d(sin, [T, dh])));
    const here = valueAndGrads(f, [[qkv, [B, T, 3 * d]]], dy);
    expect(worst(here.value, reference(), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    const cpu = await onCpu(() => valueAndGrads(f, [[qkv, [B, T, 3 * d]]], dy));
    expect(worst(here.value, cpu.value, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    expect(worst(here.grads[0], cpu.grads[0], 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    // the gradient reaches q, k and v (none of the three slots is left zero)
    for (let s = 0; s < 3; s++) {
      const slot = here.grads[0].filter((_, i) => Math.floor(i / d) % 3 === s);
      expect(Math.max(...slot.map(Math.abs))).toBeGreaterThan(1e-3);
    }
  });
});

describe(`sparse softmax cross-entropy (${path})`, () => {
  const [n, v] = [7, 300];
  const logits = rand(n * v, -6, 6);
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 97) % v);
  const loss = new Float64Array(n);
  const grad = new Float64Array(n * v);
  for (let i = 0; i < n; i++) {
    const row = Array.from(logits.subarray(i * v, i * v + v));
    const m = Math.max(...row);
    const s = row.reduce((a, z) => a + Math.exp(z - m), 0);
    loss[i] = Math.log(s) + m - row[labels[i]];
    row.forEach((z, j) => (grad[i * v + j] = (Math.exp(z - m) / s - (j === labels[i] ? 1 : 0)) / n));
  }

  it('per-row loss and the gradient of the mean match float64', () => {
    const lab = tf.tensor1d(labels, 'int32');
    const x = tf.tensor2d(logits, [n, v]);
    const l = sparseSoftmaxCrossEntropy(x, lab);
    const g = tf.grad((t: tf.Tensor) => tf.mean(sparseSoftmaxCrossEntropy(t as tf.Tensor2D, lab)))(x);
    const got = { l: Float64Array.from(l.dataSync()), g: Float64Array.from(g.dataSync()) };
    tf.dispose([lab, x, l, g]);
    expect(worst(got.l, loss, 1e-6, 1e-6)).toBeLessThanOrEqual(1);
    expect(worst(got.g, grad, 1e-5, 1e-9)).toBeLessThanOrEqual(1);
  });

  it('a label outside [0, V) throws, naming the row', () => {
    const lab = tf.tensor1d([0, v], 'int32');
    expect(() => tf.tidy(() => sparseSoftmaxCrossEntropy(tf.zeros([2, v]) as tf.Tensor2D, lab))).toThrow(
      /label 300 at row 1/,
    );
    lab.dispose();
  });
});
