/**
 * The native Engram gate + short conv (native/src/engram_gate.c) against the stock tf ops it
 * replaces (engramOps, run on the same backend with the addon's elementwise kernels): the layer's
 * output, gates and v~, and the gradient of a weighted sum of the output with respect to h, e and
 * every weight, must be the same float32 bits. The stock ops are themselves checked against a
 * float64 re-computation in test/model/engram-layer.test.ts; here equality, not closeness, is the
 * point: committed Engram trials were trained on the stock ops and must reproduce to the last digit.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { FUSED } from '../../src/backend/index.js';
import { engram, engramOps, type EngramWeights } from '../../src/model/engram.js';
import { rand, setup, skipNative } from './util.js';

const { info } = await setup();
const skip = skipNative(info, 'test/native/engram-gate.test.ts');

interface Case {
  B: number;
  T: number;
  d: number;
  m: number; // d_mem
  w: number; // conv kernel width
  N: number; // dilation (max n-gram)
  signedSqrt: boolean;
}

function weights(c: Case): EngramWeights {
  const t = (n: number, shape: number[], lo: number, hi: number) => tf.tensor(rand(n, lo, hi), shape);
  return {
    value: t(c.m * c.d, [c.m, c.d], -0.5, 0.5),
    valueBias: t(c.d, [c.d], -0.1, 0.1),
    key: [t(c.m * c.d, [c.m, c.d], -0.5, 0.5)],
    keyBias: [t(c.d, [c.d], -0.1, 0.1)],
    keyNorm: [t(c.d, [c.d], 0.6, 1.4)],
    queryNorm: [t(c.d, [c.d], 0.6, 1.4)],
    convNorm: [t(c.d, [c.d], 0.6, 1.4)],
    conv: t(c.d * c.w, [c.d, c.w], -0.8, 0.8),
  };
}

type Layer = typeof engramOps;

/** out, gates, v~ and d(sum(out * R))/d(h, e, each weight), as raw float32 arrays */
function run(layer: Layer, c: Case, w: EngramWeights, h: tf.Tensor4D, e: tf.Tensor2D, r: tf.Tensor) {
  const list = [w.value, w.valueBias, w.key[0], w.keyBias[0], w.keyNorm[0], w.queryNorm[0], w.convNorm[0], w.conv];
  const opts = { maxNgram: c.N, signedSqrt: c.signedSqrt };
  const fwd = layer(h, e, w, opts);
  const grads = tf.grads((...xs: tf.Tensor[]) => {
    const [hh, ee, value, valueBias, key, keyBias, keyNorm, queryNorm, convNorm, conv] = xs;
    const ws: EngramWeights = {
      value,
      valueBias,
      key: [key],
      keyBias: [keyBias],
      keyNorm: [keyNorm],
      queryNorm: [queryNorm],
      convNorm: [convNorm],
      conv,
    };
    return tf.sum(tf.mul(layer(hh as tf.Tensor4D, ee as tf.Tensor2D, ws, opts).out, r));
  })([h, e, ...list]);
  const out = {
    out: fwd.out.dataSync().slice() as Float32Array,
    gates: fwd.gates.dataSync().slice() as Float32Array,
    value: fwd.value.dataSync().slice() as Float32Array,
    grads: grads.map((g) => g.dataSync().slice() as Float32Array),
  };
  tf.dispose([fwd.out, fwd.gates, fwd.value, ...grads]);
  return out;
}

/** index of the first element whose bits differ, or -1 */
function firstDiff(a: Float32Array, b: Float32Array): number {
  const ai = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const bi = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (ai[i] !== bi[i]) return i;
  return -1;
}

const NAMES = ['h', 'e', 'value', 'valueBias', 'key', 'keyBias', 'keyNorm', 'queryNorm', 'convNorm', 'conv'];

describe.skipIf(skip)('native Engram gate: the same bits as the stock ops', () => {
  const cases: [string, Case][] = [
    ['small, signed sqrt, dilation 3', { B: 2, T: 7, d: 8, m: 6, w: 4, N: 3, signedSqrt: true }],
    ['d not a multiple of 16, plain sigmoid', { B: 3, T: 11, d: 21, m: 10, w: 3, N: 2, signedSqrt: false }],
    ['sequence shorter than the conv span', { B: 2, T: 2, d: 16, m: 8, w: 4, N: 3, signedSqrt: true }],
    ['kernel width 1', { B: 1, T: 5, d: 12, m: 4, w: 1, N: 2, signedSqrt: true }],
    ['trial-sized: d 128, T 64, d_mem 128', { B: 4, T: 64, d: 128, m: 128, w: 4, N: 3, signedSqrt: true }],
  ];
  for (const [name, c] of cases) {
    it(name, () => {
      expect(tf.getKernel(FUSED.engramGate, 'wasm')).toBeDefined();
      const w = weights(c);
      const h = tf.tensor4d(rand(c.B * c.T * c.d, -2, 2), [c.B, c.T, 1, c.d]);
      const e = tf.tensor2d(rand(c.B * c.T * c.m, -1, 1), [c.B * c.T, c.m]);
      const r = tf.tensor(rand(c.B * c.T * c.d, -1, 1), [c.B, c.T, 1, c.d]);
      const before = tf.memory().numTensors;
      const fused = run(engram, c, w, h, e, r);
      expect(tf.memory().numTensors).toBe(before); // nothing leaks from the fused path
      const stock = run(engramOps, c, w, h, e, r);
      expect(firstDiff(fused.out, stock.out)).toBe(-1);
      expect(firstDiff(fused.gates, stock.gates)).toBe(-1);
      expect(firstDiff(fused.value, stock.value)).toBe(-1);
      stock.grads.forEach((g, i) => {
        expect({ grad: NAMES[i], first: firstDiff(fused.grads[i], g) }).toEqual({ grad: NAMES[i], first: -1 });
        // a real signal: no gradient is all zeros
        expect(g.some((x) => Math.abs(x) > 1e-6)).toBe(true);
      });
      tf.dispose([h, e, r, ...Object.values(w).flat()]);
    });
  }

  it('a shape that does not fit is refused, not read out of bounds', () => {
    const c: Case = { B: 2, T: 4, d: 8, m: 4, w: 2, N: 2, signedSqrt: true };
    const w = weights(c);
    const inputs = {
      h: tf.zeros([c.B * c.T, c.d]),
      kpre: tf.zeros([c.B * c.T, c.d]),
      v: tf.zeros([c.B * c.T - 1, c.d]), // one row short
      keyNorm: w.keyNorm[0],
      queryNorm: w.queryNorm[0],
      convNorm: w.convNorm[0],
      conv: w.conv,
    };
    const attrs = { B: c.B, T: c.T, dilation: c.N, signedSqrt: true, gateEps: 1e-7, convEps: 1e-5 };
    expect(() => tf.engine().runKernel(FUSED.engramGate, inputs, attrs as never)).toThrow(/do not fit B 2 x T 4/);
    tf.dispose([inputs.h, inputs.kpre, inputs.v, ...Object.values(w).flat()]);
  });
});
