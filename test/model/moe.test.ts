import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { groupedMatMul } from '../../src/model/grouped-matmul.js';
import { moe, newRouterState, selectExperts, updateBias } from '../../src/model/moe.js';
import { Rng } from '../../src/util/rng.js';
import { quietCpuBanner } from '../../src/backend/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  quietCpuBanner();
});

const rand = (n: number, seed: number, std = 1) => new Rng(seed).normal(new Float32Array(n), std);
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('selectExperts', () => {
  it('picks the top-k of score + bias and sorts (token, slot) pairs by expert', () => {
    const N = 5,
      E = 4,
      k = 2;
    const s = rand(N * E, 1);
    const state = newRouterState(E);
    state.bias.set([0, 0.5, 0, -0.5]);
    const r = selectExperts(s, N, E, k, state);
    const token = r.token.dataSync();
    const inverse = r.inverse.dataSync();
    for (let n = 0; n < N; n++) {
      const want = [0, 1, 2, 3]
        .sort((a, b) => s[n * E + b] + state.bias[b] - (s[n * E + a] + state.bias[a]))
        .slice(0, k);
      expect(Array.from(r.chosen.subarray(n * k, n * k + k))).toEqual(want);
      for (let j = 0; j < k; j++) expect(token[inverse[n * k + j]]).toBe(n);
    }
    expect(r.sizes.reduce((a, b) => a + b, 0)).toBe(N * k);
    // the load is an output of the forward, not routing state (evaluation must not record it)
    expect(Object.keys(state)).toEqual(['bias']);
    // rows of the sorted order are grouped by expert, ascending
    const expertOfRow = Array.from({ length: N * k }, (_, row) => r.chosen[Array.from(inverse).indexOf(row)]);
    expect(expertOfRow).toEqual([...expertOfRow].sort((a, b) => a - b));
  });
});

describe('updateBias', () => {
  it('raises under-loaded experts and lowers over-loaded ones by gamma', () => {
    const st = newRouterState(3);
    updateBias(st, [10, 2, 6], 1e-3);
    expect(Array.from(st.bias)).toEqual([Math.fround(-1e-3), Math.fround(1e-3), 0]);
  });
});

describe('groupedMatMul', () => {
  it('matches per-group matmuls, forward and gradients, with empty groups', () => {
    const E = 4,
      K = 3,
      N = 2;
    const sizes = Int32Array.from([2, 0, 3, 1]);
    const M = 6;
    const x = tf.tensor2d(rand(M * K, 2), [M, K]);
    const w = tf.tensor3d(rand(E * K * N, 3), [E, K, N]);
    const dy = rand(M * N, 4);
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(groupedMatMul(a as tf.Tensor2D, b as tf.Tensor3D, sizes), tf.tensor2d(dy, [M, N]))),
    )([x, w]);
    const y = groupedMatMul(x, w, sizes).dataSync();
    const xs = x.dataSync(),
      ws = w.dataSync();
    const wantY = new Float64Array(M * N),
      wantGx = new Float64Array(M * K),
      wantGw = new Float64Array(E * K * N);
    for (let e = 0, off = 0; e < E; off += sizes[e], e++) {
      for (let r = off; r < off + sizes[e]; r++) {
        for (let j = 0; j < N; j++) {
          for (let i = 0; i < K; i++) {
            wantY[r * N + j] += xs[r * K + i] * ws[(e * K + i) * N + j];
            wantGx[r * K + i] += dy[r * N + j] * ws[(e * K + i) * N + j];
            wantGw[(e * K + i) * N + j] += xs[r * K + i] * dy[r * N + j];
          }
        }
      }
    }
    const close = (a: ArrayLike<number>, b: ArrayLike<number>) =>
      Array.from(a).forEach((v, i) => expect(v).toBeCloseTo(b[i], 5));
    close(y, wantY);
    close(gx.dataSync(), wantGx);
    close(gw.dataSync(), wantGw);
  });
});

describe('moe', () => {
  it('equals a float64 per-token recomputation of shared + gated routed SwiGLU experts', () => {
    const N = 6,
      d = 4,
      h = 3,
      E = 5,
      k = 2;
    const c = { shared: 1, routed: E, topK: k, expertHidden: h, gamma: 1e-3, seqBalance: 0 };
    const x = rand(N * d, 10),
      router = rand(d * E, 11),
      wgu = rand(E * d * 2 * h, 12),
      wdown = rand(E * h * d, 13);
    const sgu = rand(d * 2 * h, 14),
      sdown = rand(h * d, 15);
    const state = newRouterState(E);
    state.bias.set([0.3, 0, 0, -0.2, 0.1]);
    const out = moe(
      tf.tensor2d(x, [N, d]),
      {
        router: tf.tensor2d(router, [d, E]),
        routedWgu: tf.tensor3d(wgu, [E, d, 2 * h]),
        routedWdown: tf.tensor3d(wdown, [E, h, d]),
        sharedWgu: tf.tensor2d(sgu, [d, 2 * h]),
        sharedWdown: tf.tensor2d(sdown, [h, d]),
      },
      c,
      state,
      N,
    ).y.dataSync();
    const swiglu = (xr: number[], gu: Float32Array, gOff: number, dn: Float32Array, dOff: number) => {
      const a = Array.from({ length: h }, (_, j) => {
        let g = 0,
          u = 0;
        for (let i = 0; i < d; i++) {
          g += xr[i] * gu[gOff + i * 2 * h + j];
          u += xr[i] * gu[gOff + i * 2 * h + h + j];
        }
        return g * sigmoid(g) * u;
      });
      return Array.from({ length: d }, (_, o) => a.reduce((s, v, j) => s + v * dn[dOff + j * d + o], 0));
    };
    for (let n = 0; n < N; n++) {
      const xr = Array.from(x.subarray(n * d, n * d + d));
      const s = Array.from({ length: E }, (_, e) => sigmoid(xr.reduce((acc, v, i) => acc + v * router[i * E + e], 0)));
      const top = [...Array(E).keys()].sort((a, b) => s[b] + state.bias[b] - s[a] - state.bias[a]).slice(0, k);
      const z = top.reduce((a, e) => a + s[e], 0);
      const want = swiglu(xr, sgu, 0, sdown, 0);
      for (const e of top)
        swiglu(xr, wgu, e * d * 2 * h, wdown, e * h * d).forEach((v, o) => (want[o] += (s[e] / z) * v));
      for (let o = 0; o < d; o++) expect(out[n * d + o]).toBeCloseTo(want[o], 4);
    }
  });
});

describe('selectExperts with NaN scores', () => {
  it('still routes every token to k distinct experts, so a diverging run reaches the NaN check', () => {
    const N = 3,
      E = 4,
      k = 2;
    const r = selectExperts(new Float32Array(N * E).fill(NaN), N, E, k, newRouterState(E));
    expect(r.sizes.reduce((a, b) => a + b, 0)).toBe(N * k);
    for (let n = 0; n < N; n++) expect(r.chosen[n * k]).not.toBe(r.chosen[n * k + 1]);
  });
});
