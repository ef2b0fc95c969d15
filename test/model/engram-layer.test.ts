/**
 * The tfjs Engram layer (src/model/engram.ts) on the cpu backend against a float64 re-computation
 * of docs/SPEC.md section 3 written here, in the trainer's layout (linear weights [in, out], y = x W + b),
 * and its gradients wrt e and h against central finite differences of that re-computation.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { engram, type EngramWeights } from '../../src/model/engram.js';
import { Rng } from '../../src/util/rng.js';
import { quietCpuBanner } from '../../src/backend/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  quietCpuBanner();
});

interface Case {
  B: number;
  T: number;
  hc: number;
  d: number;
  m: number; // d_mem
  w: number; // kernel
  N: number; // dilation
  signedSqrt: boolean;
}

/** All parameters as float32-exact float64 arrays, in the trainer's layout. */
interface Params {
  value: number[];
  valueBias: number[];
  key: number[][];
  keyBias: number[][];
  keyNorm: number[][];
  queryNorm: number[][];
  convNorm: number[][];
  conv: number[];
}

const f32 = (rng: Rng, n: number, std: number, mean = 0) =>
  Array.from(rng.normal(new Float32Array(n), std), (x) => Math.fround(x + mean));

function randomParams(c: Case, seed: number): Params {
  const rng = new Rng(seed);
  const per = (n: number, std: number, mean = 0) => Array.from({ length: c.hc }, () => f32(rng, n, std, mean));
  return {
    value: f32(rng, c.m * c.d, 0.4),
    valueBias: f32(rng, c.d, 0.1),
    key: per(c.m * c.d, 0.4),
    keyBias: per(c.d, 0.1),
    keyNorm: per(c.d, 0.2, 1),
    queryNorm: per(c.d, 0.2, 1),
    convNorm: per(c.d, 0.2, 1),
    conv: f32(rng, c.hc * c.d * c.w, 0.6), // nonzero: the paper's zero init would hide the conv
  };
}

function toTf(p: Params, c: Case): EngramWeights {
  const v = (x: number[], shape: number[]) => tf.tensor(x, shape, 'float32');
  return {
    value: v(p.value, [c.m, c.d]),
    valueBias: v(p.valueBias, [c.d]),
    key: p.key.map((x) => v(x, [c.m, c.d])),
    keyBias: p.keyBias.map((x) => v(x, [c.d])),
    keyNorm: p.keyNorm.map((x) => v(x, [c.d])),
    queryNorm: p.queryNorm.map((x) => v(x, [c.d])),
    convNorm: p.convNorm.map((x) => v(x, [c.d])),
    conv: v(p.conv, [c.hc * c.d, c.w]),
  };
}

/** docs/SPEC.md section 3 in float64. h: [B, T, hc, d], e: [B*T, m] -> out, gates, value (flat, same layouts as tfjs). */
function reference(p: Params, c: Case, h: number[], e: number[]) {
  const { B, T, hc, d, m, w, N } = c;
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  const rms = (x: number[], g: number[], eps: number) => {
    const s = 1 / Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length + eps);
    return x.map((v, i) => v * s * g[i]);
  };
  const xW = (x: number[], W: number[], b: number[]) =>
    b.map((bj, j) => x.reduce((a, xi, i) => a + xi * W[i * d + j], bj));
  const gates: number[] = [],
    value: number[] = [],
    out: number[] = [];
  const vt: number[][][] = []; // [B*T][hc][d]
  for (let i = 0; i < B * T; i++) {
    const ei = e.slice(i * m, i * m + m);
    const v = xW(ei, p.value, p.valueBias);
    vt.push([]);
    for (let g = 0; g < hc; g++) {
      const k = rms(xW(ei, p.key[g], p.keyBias[g]), p.keyNorm[g], 1.1920929e-7);
      const q = rms(h.slice((i * hc + g) * d, (i * hc + g + 1) * d), p.queryNorm[g], 1.1920929e-7);
      let s = q.reduce((a, x, j) => a + x * k[j], 0) / Math.sqrt(d);
      if (c.signedSqrt) s = Math.sign(s) * Math.sqrt(Math.max(Math.abs(s), 1e-6));
      gates.push(sig(s));
      vt[i].push(v.map((x) => x * sig(s)));
      value.push(...vt[i][g]);
    }
  }
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let g = 0; g < hc; g++) {
        const normed = (tt: number) => rms(vt[b * T + tt][g], p.convNorm[g], 1e-5);
        const y = new Array(d).fill(0);
        for (let j = 0; j < w; j++) {
          const src = t - (w - 1 - j) * N;
          if (src < 0) continue;
          const x = normed(src);
          for (let ch = 0; ch < d; ch++) y[ch] += p.conv[(g * d + ch) * w + j] * x[ch];
        }
        out.push(...y.map((yc, ch) => yc * sig(yc) + vt[b * T + t][g][ch]));
      }
  return { gates, value, out };
}

function inputs(c: Case, seed: number) {
  const rng = new Rng(seed);
  return { h: f32(rng, c.B * c.T * c.hc * c.d, 1), e: f32(rng, c.B * c.T * c.m, 1) };
}

function runTf(p: Params, c: Case, h: number[], e: number[]) {
  const w = toTf(p, c);
  const r = engram(tf.tensor4d(h, [c.B, c.T, c.hc, c.d]), tf.tensor2d(e, [c.B * c.T, c.m]), w, {
    maxNgram: c.N,
    signedSqrt: c.signedSqrt,
  });
  const res = {
    out: Array.from(r.out.dataSync()),
    gates: Array.from(r.gates.dataSync()),
    value: Array.from(r.value.dataSync()),
  };
  tf.dispose([r.out, r.gates, r.value, ...Object.values(w).flat()]);
  return res;
}

function expectClose(got: number[], want: number[], rel: number) {
  expect(got.length).toBe(want.length);
  let worst = 0;
  want.forEach((x, i) => (worst = Math.max(worst, Math.abs(got[i] - x) / Math.max(1, Math.abs(x)))));
  expect(worst).toBeLessThan(rel);
}

describe('tfjs engram vs float64 (cpu backend)', () => {
  const cases: [string, Case][] = [
    ['hc = 1, signed sqrt', { B: 2, T: 7, hc: 1, d: 8, m: 6, w: 4, N: 3, signedSqrt: true }],
    ['hc = 2, signed sqrt', { B: 2, T: 9, hc: 2, d: 8, m: 12, w: 4, N: 2, signedSqrt: true }],
    ['hc = 2, plain sigmoid', { B: 1, T: 9, hc: 2, d: 5, m: 4, w: 3, N: 3, signedSqrt: false }],
  ];
  for (const [name, c] of cases) {
    it(`${name}: out, gates, value within 1e-5 relative`, () => {
      const p = randomParams(c, 17);
      const { h, e } = inputs(c, 23);
      const got = runTf(p, c, h, e);
      const want = reference(p, c, h, e);
      expectClose(got.gates, want.gates, 1e-5);
      expectClose(got.value, want.value, 1e-5);
      expectClose(got.out, want.out, 1e-5);
      // the conv is live: out differs from value by more than rounding
      expect(Math.max(...got.out.map((x, i) => Math.abs(x - got.value[i])))).toBeGreaterThan(0.05);
    });
  }

  it('signed sqrt changes the gates (the flag is honoured)', () => {
    const c: Case = { B: 1, T: 4, hc: 2, d: 4, m: 4, w: 2, N: 2, signedSqrt: true };
    const p = randomParams(c, 3);
    const { h, e } = inputs(c, 4);
    const on = runTf(p, c, h, e).gates;
    const off = runTf(p, { ...c, signedSqrt: false }, h, e).gates;
    expectClose(on, reference(p, c, h, e).gates, 1e-5);
    expectClose(off, reference(p, { ...c, signedSqrt: false }, h, e).gates, 1e-5);
    expect(Math.max(...on.map((x, i) => Math.abs(x - off[i])))).toBeGreaterThan(1e-3);
  });
});

describe('tfjs engram gradients vs float64 finite differences', () => {
  it('d L / d e and d L / d h for L = sum(R1 * out) + sum(R2 * gates), hc = 2, dilated conv', () => {
    const c: Case = { B: 1, T: 5, hc: 2, d: 3, m: 4, w: 2, N: 2, signedSqrt: true };
    const p = randomParams(c, 31);
    const { h, e } = inputs(c, 37);
    const rng = new Rng(41);
    const r1 = f32(rng, c.B * c.T * c.hc * c.d, 1),
      r2 = f32(rng, c.B * c.T * c.hc, 1);
    const loss64 = (hh: number[], ee: number[]) => {
      const r = reference(p, c, hh, ee);
      return r.out.reduce((a, x, i) => a + x * r1[i], 0) + r.gates.reduce((a, x, i) => a + x * r2[i], 0);
    };
    const w = toTf(p, c);
    const R1 = tf.tensor4d(r1, [c.B, c.T, c.hc, c.d]),
      R2 = tf.tensor3d(r2, [c.B, c.T, c.hc]);
    const f = (ht: tf.Tensor, et: tf.Tensor) => {
      const r = engram(ht as tf.Tensor4D, et as tf.Tensor2D, w, { maxNgram: c.N, signedSqrt: true });
      return tf.add(tf.sum(tf.mul(r.out, R1)), tf.sum(tf.mul(r.gates, R2)));
    };
    const [gh, ge] = tf.grads(f)([tf.tensor4d(h, [c.B, c.T, c.hc, c.d]), tf.tensor2d(e, [c.B * c.T, c.m])]);
    const fd = (x: number[], at: (xx: number[]) => number) =>
      x.map((_, i) => {
        const eps = 1e-5;
        const plus = x.slice(),
          minus = x.slice();
        plus[i] += eps;
        minus[i] -= eps;
        return (at(plus) - at(minus)) / (2 * eps);
      });
    const wantH = fd(h, (hh) => loss64(hh, e)),
      wantE = fd(e, (ee) => loss64(h, ee));
    const gotH = Array.from(gh.dataSync()),
      gotE = Array.from(ge.dataSync());
    for (const [got, want] of [
      [gotH, wantH],
      [gotE, wantE],
    ]) {
      want.forEach((x, i) => expect(Math.abs(got[i] - x)).toBeLessThan(1e-4 * Math.max(1, Math.abs(x))));
    }
    // the test sees a real signal: gradients are not all tiny
    expect(Math.max(...wantH.map(Math.abs))).toBeGreaterThan(0.1);
    expect(Math.max(...wantE.map(Math.abs))).toBeGreaterThan(0.1);
    tf.dispose([gh, ge, R1, R2, ...Object.values(w).flat()]);
  });
});
