/**
 * Row gather (GatherV2), its gradient (UnsortedSegmentSum) and the routed experts' grouped matmul
 * on wasm (the addon's kernels when built, ours otherwise): against index arithmetic done here,
 * exactly, and the grouped matmul against per-expert slices and matmuls (the stock path: the same
 * products, so the same bits) and a float64 product.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { groupedMatMul } from '../../src/model/grouped-matmul.js';
import { rand, setup, worst } from './util.js';

const { path } = await setup();

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `element ${i}: ${a[i]} vs ${b[i]}`;
  return 'same';
};

describe(`GatherV2 (${path})`, () => {
  it('rows of a float32 matrix, repeats and any order', () => {
    const [R, C] = [7, 5];
    const x = rand(R * C);
    const idx = [6, 0, 3, 3, 1, 6, 2];
    const got = tf.tidy(() => tf.gather(tf.tensor2d(x, [R, C]), tf.tensor1d(idx, 'int32')).dataSync());
    const want = idx.flatMap((r) => Array.from(x.subarray(r * C, (r + 1) * C)));
    expect(sameBits(got, want)).toBe('same');
  });

  it('int32 along axis 1 with batchDims 1', () => {
    // x [B=2, D=4, S=3], idx [B, 2] -> out [B, 2, S]
    const x = Int32Array.from({ length: 24 }, (_, i) => i * 7 - 50);
    const idx = [3, 0, 1, 1];
    const got = tf.tidy(() =>
      tf.gather(tf.tensor3d(x, [2, 4, 3], 'int32'), tf.tensor2d(idx, [2, 2], 'int32'), 1, 1).dataSync(),
    );
    const want: number[] = [];
    for (let b = 0; b < 2; b++)
      for (let j = 0; j < 2; j++) for (let s = 0; s < 3; s++) want.push(x[b * 12 + idx[b * 2 + j] * 3 + s]);
    expect(Array.from(got)).toEqual(want);
  });

  it('an index outside the rows is an error naming it', () => {
    expect(() =>
      tf.tidy(() => tf.gather(tf.tensor2d(rand(6), [3, 2]), tf.tensor1d([0, 3], 'int32')).dataSync()),
    ).toThrow(/index value 3 is not in \[0, 2\]/);
  });
});

describe(`UnsortedSegmentSum (${path})`, () => {
  it('adds rows in index order in float32; ids outside the segments are dropped', () => {
    const [n, inner, segments] = [40, 6, 5];
    const x = rand(n * inner, -3, 3);
    // ids 0..5 with 5 segments: 5 and the -7 at i = 9 fall outside and are dropped
    const ids = Int32Array.from({ length: n }, (_, i) => (i === 9 ? -7 : (i * 3) % 6));
    const want = new Float32Array(segments * inner);
    for (let i = 0; i < n; i++) {
      if (ids[i] < 0 || ids[i] >= segments) continue;
      for (let j = 0; j < inner; j++)
        want[ids[i] * inner + j] = Math.fround(want[ids[i] * inner + j] + x[i * inner + j]);
    }
    const got = tf.tidy(() =>
      tf.unsortedSegmentSum(tf.tensor2d(x, [n, inner]), tf.tensor1d(ids, 'int32'), segments).dataSync(),
    );
    expect(sameBits(got, want)).toBe('same');
  });

  it("is tf.gather's gradient", () => {
    const x = tf.tensor2d(rand(12), [4, 3]);
    const idx = tf.tensor1d([2, 0, 2, 2], 'int32');
    const dy = rand(12);
    const g = tf
      .grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), tf.tensor2d(dy, [4, 3]))))(x)
      .dataSync();
    const want = new Float32Array(12);
    [2, 0, 2, 2].forEach((r, i) => {
      for (let j = 0; j < 3; j++) want[r * 3 + j] = Math.fround(want[r * 3 + j] + dy[i * 3 + j]);
    });
    expect(sameBits(g, want)).toBe('same');
    tf.dispose([x, idx]);
  });
});

describe(`groupedMatMul (${path})`, () => {
  // 6 experts, two of them empty; 23 rows sorted by expert
  const sizes = Int32Array.from([5, 0, 9, 1, 0, 8]);
  const [E, K, N, M] = [6, 16, 12, 23];
  const x = rand(M * K);
  const w = rand(E * K * N);
  const dy = rand(M * N);

  /** value, dx, dw of f, weighted by dy */
  function run(f: (a: tf.Tensor2D, b: tf.Tensor3D) => tf.Tensor) {
    const [xt, wt, dyt] = [tf.tensor2d(x, [M, K]), tf.tensor3d(w, [E, K, N]), tf.tensor2d(dy, [M, N])];
    const y = f(xt, wt);
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(f(a as tf.Tensor2D, b as tf.Tensor3D), dyt)),
    )([xt, wt]);
    const out = [y, gx, gw].map((t) => t.dataSync().slice());
    tf.dispose([xt, wt, dyt, y, gx, gw]);
    return out;
  }

  /** one slice and matmul per non-empty expert, concatenated */
  const perExpert = (a: tf.Tensor2D, b: tf.Tensor3D) => {
    const parts: tf.Tensor[] = [];
    for (let e = 0, off = 0; e < E; off += sizes[e], e++)
      if (sizes[e])
        parts.push(
          tf.matMul(tf.slice(a, [off, 0], [sizes[e], K]), tf.reshape(tf.slice(b, [e, 0, 0], [1, K, N]), [K, N])),
        );
    return tf.concat(parts, 0);
  };

  it('gives the bits of per-expert slices and matmuls, value and both gradients', () => {
    const got = run((a, b) => groupedMatMul(a, b, sizes));
    const want = run(perExpert);
    for (let i = 0; i < 3; i++) expect(sameBits(got[i], want[i])).toBe('same');
  });

  it('matches a float64 product; experts with no rows get a zero gradient', () => {
    const [y, , gw] = run((a, b) => groupedMatMul(a, b, sizes));
    const want = new Float64Array(M * N);
    for (let e = 0, off = 0; e < E; off += sizes[e], e++)
      for (let r = off; r < off + sizes[e]; r++)
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += x[r * K + k] * w[(e * K + k) * N + j];
          want[r * N + j] = s;
        }
    expect(worst(y, want, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    for (const e of [1, 4])
      expect(Array.from(gw.subarray(e * K * N, (e + 1) * K * N)).every((v) => v === 0)).toBe(true);
  });
});
