/**
 * BatchMatMul and _FusedMatMul on wasm (the addon's sgemm when built) against float64 products
 * with an error bound, for all four transpose cases and every batch layout the kernel treats
 * differently: 2-D, equal batches, one side broadcast (folded or strided), and a true
 * two-sided broadcast. Also against the JS CPU backend.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { matMulReference as reference } from '../helpers/matmul-reference.js';
import { onCpu, rand, setup, size, values } from './util.js';

const { path } = await setup();

interface Case {
  a: number[];
  b: number[];
  ta: boolean;
  tb: boolean;
}

const SHAPES: [string, number[], number[]][] = [
  ['2-D', [7, 5], [5, 9]],
  ['equal batches', [3, 6, 4], [3, 4, 5]],
  ['b broadcast (folds into one product)', [2, 3, 6, 4], [4, 5]],
  ['a broadcast', [6, 4], [3, 4, 5]],
  ['batch-1 right side, rank 3', [4, 6, 4], [1, 4, 5]],
  ['two-sided broadcast', [2, 1, 6, 4], [1, 3, 4, 5]],
  ['attention-like', [8, 16, 8], [8, 8, 16]],
];

function shaped(s: number[], t: boolean): number[] {
  return t ? [...s.slice(0, -2), s.at(-1)!, s.at(-2)!] : s;
}

describe(`BatchMatMul (${path})`, () => {
  for (const [name, as0, bs0] of SHAPES) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        it(`${name}, transposeA=${ta}, transposeB=${tb}`, () => {
          const c: Case = { a: shaped(as0, ta), b: shaped(bs0, tb), ta, tb };
          const a = rand(size(c.a));
          const b = rand(size(c.b));
          const got = values(() => tf.matMul(tf.tensor(a, c.a), tf.tensor(b, c.b), ta, tb));
          const ref = reference(a, c.a, b, c.b, ta, tb);
          expect(got.shape).toEqual(ref.shape);
          for (let i = 0; i < ref.v.length; i++) {
            if (!(Math.abs(got.v[i] - ref.v[i]) <= ref.bound[i])) {
              expect.fail(`element ${i}: ${got.v[i]} vs ${ref.v[i]} (bound ${ref.bound[i]})`);
            }
          }
        });
      }
    }
  }

  it('agrees with the JS CPU backend on a model-sized product (2048 x 128 x 384, transposeA)', async () => {
    const a = rand(2048 * 128);
    const b = rand(2048 * 384);
    const f = () => tf.matMul(tf.tensor(a, [2048, 128]), tf.tensor(b, [2048, 384]), true, false);
    const got = values(f);
    const cpu = await onCpu(() => values(f));
    expect(got.shape).toEqual([128, 384]);
    let worst = 0;
    for (let i = 0; i < got.v.length; i++) worst = Math.max(worst, Math.abs(got.v[i] - cpu.v[i]));
    expect(worst).toBeLessThan(2e-4); // sums of 2048 terms of size <= 1: ~1e-5 typical
  });

  it('K = 0 gives zeros, and empty outputs work', () => {
    expect(Array.from(values(() => tf.matMul(tf.zeros([2, 0]), tf.zeros([0, 3]))).v)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(values(() => tf.matMul(tf.zeros([0, 4]), tf.ones([4, 3]))).shape).toEqual([0, 3]);
  });

  it('gradients through matMul match float64 (both transposed backward products)', () => {
    const a = rand(6 * 4);
    const b = rand(4 * 5);
    const dy = rand(6 * 5);
    const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.mul(tf.matMul(x, y), tf.tensor(dy, [6, 5])).sum());
    const [da, db] = g([tf.tensor(a, [6, 4]), tf.tensor(b, [4, 5])]);
    const refA = reference(dy, [6, 5], b, [4, 5], false, true); // dA = dy b^T
    const refB = reference(a, [6, 4], dy, [6, 5], true, false); // dB = a^T dy
    const ga = da.dataSync();
    const gb = db.dataSync();
    refA.v.forEach((v, i) => expect(Math.abs(ga[i] - v)).toBeLessThanOrEqual(refA.bound[i] + 1e-7));
    refB.v.forEach((v, i) => expect(Math.abs(gb[i] - v)).toBeLessThanOrEqual(refB.bound[i] + 1e-7));
    tf.dispose([da, db]);
  });
});

describe(`_FusedMatMul (${path})`, () => {
  const a = rand(2 * 5 * 3);
  const b = rand(3 * 4);
  const bias = rand(4);
  const ref = reference(a, [2, 5, 3], b, [3, 4], false, false);
  const act: Record<string, (x: number) => number> = {
    linear: (x) => x,
    relu: (x) => Math.max(0, x),
    sigmoid: (x) => 1 / (1 + Math.exp(-x)),
    elu: (x) => (x > 0 ? x : Math.exp(x) - 1), // not native: goes to the previous kernel
  };
  for (const [name, f] of Object.entries(act)) {
    it(`bias [N] + ${name}`, () => {
      const got = values(() =>
        tf.fused.matMul({
          a: tf.tensor(a, [2, 5, 3]),
          b: tf.tensor(b, [3, 4]),
          bias: tf.tensor(bias),
          activation: name as tf.fused.Activation,
        }),
      );
      expect(got.shape).toEqual([2, 5, 4]);
      got.v.forEach((v, i) => expect(Math.abs(v - f(ref.v[i] + bias[i % 4]))).toBeLessThan(1e-6));
    });
  }

  it('transposed operands without bias, and a scalar bias', () => {
    const at = rand(3 * 5);
    const bt = rand(4 * 3);
    const r = reference(at, [3, 5], bt, [4, 3], true, true);
    const got = values(() =>
      tf.fused.matMul({ a: tf.tensor(at, [3, 5]), b: tf.tensor(bt, [4, 3]), transposeA: true, transposeB: true }),
    );
    got.v.forEach((v, i) => expect(Math.abs(v - r.v[i])).toBeLessThanOrEqual(r.bound[i]));
    const s = values(() =>
      tf.fused.matMul({
        a: tf.tensor(at, [3, 5]),
        b: tf.tensor(bt, [4, 3]),
        transposeA: true,
        transposeB: true,
        bias: tf.scalar(0.5),
      }),
    );
    s.v.forEach((v, i) => expect(Math.abs(v - (r.v[i] + 0.5))).toBeLessThan(1e-6));
  });

  it('a [M, N] bias (not a row) goes to the previous kernel and is still right', () => {
    const full = rand(5 * 4);
    const got = values(() =>
      tf.fused.matMul({
        a: tf.tensor(a.subarray(0, 15), [5, 3]),
        b: tf.tensor(b, [3, 4]),
        bias: tf.tensor(full, [5, 4]),
      }),
    );
    got.v.forEach((v, i) => expect(Math.abs(v - (ref.v[i] + full[i]))).toBeLessThan(1e-6));
  });
});
