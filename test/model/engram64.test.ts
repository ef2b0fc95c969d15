import { describe, expect, it } from 'vitest';
import { CONV_EPS, GATE_EPS } from '../../src/model/engram.js';
import { engram64, lookupRows64, tableOffsets, type Engram64Weights } from '../../src/model/engram64.js';
import { Rng } from '../../src/util/rng.js';

const randn = (rng: Rng, n: number, std = 1) => Float64Array.from(rng.normal(new Float32Array(n), std));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

interface Dims {
  d: number;
  hc: number;
  kernel: number;
  headDim: number;
  sizes: number[];
}

function randomWeights(dm: Dims, seed: number): Engram64Weights {
  const rng = new Rng(seed);
  const { d, hc, kernel, headDim, sizes } = dm;
  const dMem = sizes.length * headDim;
  const rows = sizes.reduce((a, b) => a + b, 0);
  const per = (n: number, std: number, mean = 0) =>
    Array.from({ length: hc }, () => randn(rng, n, std).map((x) => x + mean));
  return {
    d,
    dMem,
    hc,
    kernel,
    headDim,
    sizes,
    table: randn(rng, rows * headDim),
    value: randn(rng, d * dMem, 0.3),
    valueBias: randn(rng, d, 0.1),
    key: per(d * dMem, 0.3),
    keyBias: per(d, 0.1),
    keyNorm: per(d, 0.2, 1),
    queryNorm: per(d, 0.2, 1),
    convNorm: per(d, 0.2, 1),
    conv: randn(rng, hc * d * kernel, 0.5),
  };
}

function zeroWeights(d: number, dMem: number, hc: number, kernel: number): Engram64Weights {
  const z = (n: number) => new Float64Array(n);
  const ones = () => Array.from({ length: hc }, () => new Float64Array(d).fill(1));
  return {
    d,
    dMem,
    hc,
    kernel,
    headDim: dMem,
    sizes: [2],
    table: z(2 * dMem),
    value: z(d * dMem),
    valueBias: z(d),
    key: Array.from({ length: hc }, () => z(d * dMem)),
    keyBias: Array.from({ length: hc }, () => z(d)),
    keyNorm: ones(),
    queryNorm: ones(),
    convNorm: ones(),
    conv: z(hc * d * kernel),
  };
}

describe('lookupRows64', () => {
  it('reads row offset_j + idx of every table, offsets = running sums of the primes', () => {
    const sizes = [5, 7, 11];
    expect(tableOffsets(sizes)).toEqual([0, 5, 12]);
    const w = { ...zeroWeights(1, 6, 1, 1), sizes, headDim: 2, table: new Float64Array(23 * 2) };
    for (let r = 0; r < 23; r++) w.table.set([r, -r], 2 * r);
    const ids = [4, 0, 10, 0, 6, 3]; // two positions, three tables
    const e = lookupRows64(w, ids, 2);
    expect(Array.from(e)).toEqual([4, -4, 5, -5, 22, -22, 0, -0, 11, -11, 15, -15]);
  });
});

describe('engram64 gate (known answers)', () => {
  // key projection zero, bias b: k = RMSNorm(b); query h; s = q.k / sqrt(d)
  const gateCase = (h: number[], b: number[], signedSqrt: boolean) => {
    const w = zeroWeights(2, 2, 1, 1);
    w.keyBias[0].set(b);
    w.valueBias.set([1, 2]);
    return engram64(Float64Array.from(h), new Float64Array(2), w, 1, 1, { maxNgram: 2, signedSqrt });
  };
  const rms = (x: number[]) => Math.sqrt((x[0] ** 2 + x[1] ** 2) / 2 + GATE_EPS);

  it('s = q.k / sqrt(d), then sign(s) sqrt(|s|) before the sigmoid', () => {
    const s = ((1 / rms([1, 0])) * (3 / rms([3, 4]))) / Math.sqrt(2); // about 0.8485
    const on = gateCase([1, 0], [3, 4], true);
    expect(on.gates[0]).toBeCloseTo(sigmoid(Math.sqrt(s)), 14);
    // value = alpha * (W_V e + b); a zero conv leaves out = value (the paper's init)
    expect(Array.from(on.value)).toEqual([on.gates[0], 2 * on.gates[0]]);
    expect(Array.from(on.out)).toEqual(Array.from(on.value));
    expect(gateCase([1, 0], [3, 4], false).gates[0]).toBeCloseTo(sigmoid(s), 14);
    expect(gateCase([-1, 0], [3, 4], true).gates[0]).toBeCloseTo(sigmoid(-Math.sqrt(s)), 14);
  });

  it('s = 0 gives alpha = 1/2 exactly (sign(0) = 0), tiny |s| is floored at 1e-6 before the root', () => {
    expect(gateCase([0, 1], [3, 0], true).gates[0]).toBe(0.5);
    // q along x, k nearly along y: q.k/sqrt(d) is about 1.4e-9 (and -1.4e-9), floored to 1e-6 before the root
    expect(gateCase([1, 0], [1e-9, 1], true).gates[0]).toBeCloseTo(sigmoid(1e-3), 15);
    expect(gateCase([-1, 0], [1e-9, 1], true).gates[0]).toBeCloseTo(sigmoid(-1e-3), 15);
    expect(gateCase([1, 0], [1e-9, 1], false).gates[0]).toBeCloseTo(sigmoid(Math.SQRT2 * 1e-9), 15);
  });
});

describe('engram64 short conv', () => {
  it('d = 1, kernel 2, dilation 2: y[t] = W0 x[t-2] + W1 x[t], x = RMSNorm(value), out = SiLU(y) + value', () => {
    const T = 5;
    const w = zeroWeights(1, 1, 1, 2);
    w.value.set([1]); // v = e
    w.convNorm[0].set([1.5]);
    w.conv.set([0.7, -0.4]);
    const e = Float64Array.from([0.5, -1, 2, 0.25, -3]);
    const h = new Float64Array(T); // q = 0: every gate is 1/2
    const r = engram64(h, e, w, 1, T, { maxNgram: 2, signedSqrt: true });
    const val = Array.from(e, (x) => 0.5 * x);
    const xn = val.map((x) => (x / Math.sqrt(x * x + CONV_EPS)) * 1.5);
    for (let t = 0; t < T; t++) {
      const y = 0.7 * (t >= 2 ? xn[t - 2] : 0) + -0.4 * xn[t];
      expect(r.value[t]).toBe(val[t]);
      expect(r.out[t]).toBeCloseTo(y * sigmoid(y) + val[t], 14);
    }
  });

  it('channels are branch-major: conv row g*d + c acts on branch g, channel c only', () => {
    const d = 3,
      hc = 2,
      kernel = 2;
    const w = randomWeights({ d, hc, kernel, headDim: 2, sizes: [3, 5] }, 7);
    w.conv.fill(0);
    w.conv.set([0.9, 1.1], (1 * d + 2) * kernel); // branch 1, channel 2
    const B = 1,
      T = 4;
    const rng = new Rng(3);
    const r = engram64(randn(rng, B * T * hc * d), randn(rng, B * T * w.dMem), w, B, T, {
      maxNgram: 2,
      signedSqrt: true,
    });
    for (let i = 0; i < B * T * hc * d; i++) {
      const onTarget = Math.floor(i / d) % hc === 1 && i % d === 2;
      if (onTarget) expect(Math.abs(r.out[i] - r.value[i])).toBeGreaterThan(1e-6);
      else expect(r.out[i]).toBe(r.value[i]);
    }
  });

  it('is causal with dilation N: a change at t reaches out only at t, t+N, ..., t+(w-1)N, same row and branch', () => {
    const d = 3,
      hc = 2,
      kernel = 3,
      N = 2,
      B = 2,
      T = 9;
    const w = randomWeights({ d, hc, kernel, headDim: 2, sizes: [3, 5, 7, 11] }, 11);
    const rng = new Rng(5);
    const h = randn(rng, B * T * hc * d);
    const e = randn(rng, B * T * w.dMem);
    const base = engram64(h, e, w, B, T, { maxNgram: N, signedSqrt: true });
    const h2 = h.slice();
    h2[((0 * T + 2) * hc + 1) * d + 0] += 0.5; // row 0, t = 2, branch 1
    const moved = engram64(h2, e, w, B, T, { maxNgram: N, signedSqrt: true });
    const reached = new Set<string>();
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let g = 0; g < hc; g++) {
          const gi = (b * T + t) * hc + g;
          if (moved.gates[gi] !== base.gates[gi]) expect([b, t, g]).toEqual([0, 2, 1]);
          for (let c = 0; c < d; c++) if (moved.out[gi * d + c] !== base.out[gi * d + c]) reached.add(`${b},${t},${g}`);
        }
    expect([...reached].sort()).toEqual(['0,2,1', '0,4,1', '0,6,1']);
  });
});

/**
 * The reference forward re-stated in the torch demo's own terms, on nested arrays: embedding
 * with offsets, Linear(x) = x W^T + b, nn.RMSNorm, gate with signed sqrt, Conv1d (cross-
 * correlation) padded by (w-1) N on both sides and cut to the first T outputs.
 */
function torchStyle(w: Engram64Weights, ids: number[][][], h: number[][][][], N: number) {
  const { d, dMem, hc, kernel: k, headDim } = w;
  const off = tableOffsets(w.sizes);
  const lin = (W: Float64Array, b: Float64Array, x: number[]) =>
    Array.from({ length: d }, (_, o) => x.reduce((acc, xi, i) => acc + xi * W[o * dMem + i], b[o]));
  const norm = (x: number[], g: Float64Array, eps: number) => {
    const r = 1 / Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length + eps);
    return x.map((v, i) => v * r * g[i]);
  };
  return ids.map((row, b) => {
    const T = row.length;
    const gates: number[][] = [],
      values: number[][][] = [];
    row.forEach((hid, t) => {
      const emb = hid.flatMap((idx, j) =>
        Array.from(w.table.subarray((off[j] + idx) * headDim, (off[j] + idx + 1) * headDim)),
      );
      const v = lin(w.value, w.valueBias, emb);
      gates.push([]);
      values.push([]);
      for (let g = 0; g < hc; g++) {
        const kk = norm(lin(w.key[g], w.keyBias[g], emb), w.keyNorm[g], GATE_EPS);
        const q = norm(h[b][t][g], w.queryNorm[g], GATE_EPS);
        let s = kk.reduce((a, x, c) => a + x * q[c], 0) / Math.sqrt(d);
        s = Math.sqrt(Math.max(Math.abs(s), 1e-6)) * Math.sign(s);
        gates[t].push(sigmoid(s));
        values[t].push(v.map((x) => x * sigmoid(s)));
      }
    });
    const pad = (k - 1) * N;
    const out = values.map((vt) => vt.map((vg) => vg.slice()));
    for (let g = 0; g < hc; g++) {
      const xn = values.map((vt) => norm(vt[g], w.convNorm[g], CONV_EPS)); // [T][d]
      for (let c = 0; c < d; c++) {
        const xp = [...Array(pad).fill(0), ...xn.map((x) => x[c]), ...Array(pad).fill(0)];
        for (let t = 0; t < T; t++) {
          let y = 0;
          for (let j = 0; j < k; j++) y += w.conv[(g * d + c) * k + j] * xp[t + j * N];
          out[t][g][c] += y * sigmoid(y);
        }
      }
    }
    return { gates, values, out };
  });
}

describe('engram64 vs the torch formulation', () => {
  it('agrees to 1e-12 with hc = 2, 2 orders x 2 heads, kernel 3, dilation 3', () => {
    const N = 3,
      B = 2,
      T = 7,
      hc = 2,
      d = 4;
    const sizes = [5, 7, 11, 13];
    const w = randomWeights({ d, hc, kernel: 3, headDim: 3, sizes }, 21);
    const rng = new Rng(9);
    const ids = Array.from({ length: B }, () => Array.from({ length: T }, () => sizes.map((p) => rng.int(p))));
    const h = Array.from({ length: B }, () =>
      Array.from({ length: T }, () => Array.from({ length: hc }, () => Array.from(randn(rng, d)))),
    );
    const e = lookupRows64(w, ids.flat(2), B * T);
    const r = engram64(Float64Array.from(h.flat(3)), e, w, B, T, { maxNgram: N, signedSqrt: true });
    const ref = torchStyle(w, ids, h, N);
    const flat = (f: (x: (typeof ref)[number]) => unknown[]) => ref.flatMap((x) => f(x).flat(2) as number[]);
    const close = (a: Float64Array, b: number[]) =>
      b.forEach((x, i) => expect(Math.abs(a[i] - x)).toBeLessThan(1e-12 * Math.max(1, Math.abs(x))));
    close(
      r.gates,
      flat((x) => x.gates),
    );
    close(
      r.value,
      flat((x) => x.values),
    );
    close(
      r.out,
      flat((x) => x.out),
    );
  });
});
