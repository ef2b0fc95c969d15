/**
 * adamwInPlace and sumOfSquares (src/backend/native/optim.ts): the in-place AdamW must give the same
 * bits as src/train/adamw.ts's tf ops (emulated here in float32 with Math.fround, op by op),
 * and must refuse (returning false, changing nothing) where writing in place would be unsafe.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { adamwInPlace, sumOfSquares } from '../../src/backend/index.js';
import { AdamW } from '../../src/train/adamw.js';
import { rand, setup, skipNative } from './util.js';

const { info } = await setup();
const skip = skipNative(info, 'test/native/optim.test.ts');
const f = Math.fround;

/** A variable that alone holds its memory (tf.variable shares its initial tensor's until that is disposed). */
function own(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, false);
  t.dispose();
  return v;
}

/** src/train/adamw.ts's step for one tensor, one float32 operation at a time. */
function reference(
  p: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array,
  s: { lr: number; b1: number; b2: number; bc1: number; bc2: number; eps: number; decay: number; scale: number },
) {
  const P = new Float32Array(p);
  const Mo = new Float32Array(m);
  const Vo = new Float32Array(v);
  for (let i = 0; i < p.length; i++) {
    const gi = s.scale === 1 ? g[i] : f(g[i] * f(s.scale));
    const mi = f(f(m[i] * f(s.b1)) + f(gi * f(1 - s.b1)));
    const vi = f(f(v[i] * f(s.b2)) + f(f(gi * gi) * f(1 - s.b2)));
    const u = f(f(mi / f(s.bc1)) / f(f(Math.sqrt(f(vi / f(s.bc2)))) + f(s.eps)));
    Mo[i] = mi;
    Vo[i] = vi;
    P[i] = f((s.decay ? f(p[i] * f(1 - s.lr * s.decay)) : p[i]) - f(u * f(s.lr)));
  }
  return { P, Mo, Vo };
}

describe.skipIf(skip)('adamwInPlace', () => {
  const n = 1000;
  const [p0, g0] = [rand(n), rand(n, -0.1, 0.1)];
  const [m0, v0] = [rand(n, -0.01, 0.01), rand(n, 0, 1e-4)];
  for (const [decay, scale] of [
    [0.1, 1],
    [0, 0.37],
  ]) {
    it(`matches the tf-op update bit for bit (decay ${decay}, scale ${scale})`, () => {
      const s = { lr: 3e-3, b1: 0.9, b2: 0.95, bc1: 1 - 0.9 ** 3, bc2: 1 - 0.95 ** 3, eps: 1e-8, decay, scale };
      const [p, m, v, g] = [p0, m0, v0, g0].map((a) => own(tf.tensor1d(a)));
      expect(
        adamwInPlace(p, m, v, g, {
          lr: s.lr,
          beta1: s.b1,
          beta2: s.b2,
          bc1: s.bc1,
          bc2: s.bc2,
          eps: s.eps,
          decay,
          scale,
        }),
      ).toBe(true);
      const r = reference(p0, m0, v0, g0, s);
      expect(Array.from(p.dataSync())).toEqual(Array.from(r.P));
      expect(Array.from(m.dataSync())).toEqual(Array.from(r.Mo));
      expect(Array.from(v.dataSync())).toEqual(Array.from(r.Vo));
      tf.dispose([p, m, v, g]);
    });
  }

  it('and so matches the AdamW class (tf ops) on a [20, 50] matrix over three steps', () => {
    const ref = new AdamW({ beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
    const p = own(tf.tensor2d(p0, [20, 50]));
    const q = own(tf.tensor2d(p0, [20, 50]));
    const m = own(tf.zeros([20, 50]));
    const v = own(tf.zeros([20, 50]));
    for (let t = 1; t <= 3; t++) {
      const g = tf.tensor2d(rand(n, -0.1, 0.1), [20, 50]);
      ref.step([q], [g], 1e-2, 0.5);
      expect(
        adamwInPlace(p, m, v, g, {
          lr: 1e-2,
          beta1: 0.9,
          beta2: 0.95,
          bc1: 1 - 0.9 ** t,
          bc2: 1 - 0.95 ** t,
          eps: 1e-8,
          decay: 0.1,
          scale: 0.5,
        }),
      ).toBe(true);
      g.dispose();
    }
    expect(Array.from(p.dataSync())).toEqual(Array.from(q.dataSync()));
    ref.dispose();
    tf.dispose([p, q, m, v]);
  });

  it('refuses shared memory, mismatched sizes and other dtypes, changing nothing', () => {
    const p = tf.tensor1d(p0);
    const alias = tf.reshape(p, [10, 100]); // shares p's memory
    const [m, v, g] = [m0, v0, g0].map((a) => tf.tensor1d(a));
    const s = { lr: 1e-3, beta1: 0.9, beta2: 0.95, bc1: 0.1, bc2: 0.05, eps: 1e-8, decay: 0, scale: 1 };
    expect(adamwInPlace(p, m, v, g, s)).toBe(false);
    expect(adamwInPlace(alias, m, v, tf.tensor1d(g0.subarray(0, 10)), s)).toBe(false);
    expect(adamwInPlace(m, m, v, g, s)).toBe(false);
    expect(Array.from(p.dataSync())).toEqual(Array.from(p0));
    expect(Array.from(m.dataSync())).toEqual(Array.from(m0));
    tf.dispose([p, alias, m, v, g]);
  });
});

describe.skipIf(skip)('sumOfSquares', () => {
  it('is the float64 sum of squares', () => {
    const x = rand(12345, -3, 3);
    const t = tf.tensor1d(x);
    const ref = x.reduce((s, v) => s + v * v, 0);
    expect(Math.abs(sumOfSquares(t)! - ref) / ref).toBeLessThan(1e-12);
    expect(sumOfSquares(tf.zeros([0]))).toBe(0);
    t.dispose();
  });
});
