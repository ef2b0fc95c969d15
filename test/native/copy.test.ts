/**
 * Transpose, Slice, SplitV, Unpack and Concat on wasm (the addon's strided copy when built)
 * against index arithmetic done here, element by element; float32, int32, and bool (which the
 * addon leaves to the previous kernel).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { copyDims } from '../../src/backend/native/copy.js';
import { setup, size, values } from './util.js';

const { path } = await setup();

const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

/** Coordinates of flat index i in shape. */
function coords(i: number, shape: number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return c;
}
const flat = (c: number[], shape: number[]) => c.reduce((acc, v, d) => acc * shape[d] + v, 0);

describe(`Transpose (${path})`, () => {
  const cases: [number[], number[]][] = [
    [
      [5, 7],
      [1, 0],
    ],
    [
      [48, 40],
      [1, 0],
    ], // tiled path
    [
      [2, 3, 4],
      [0, 2, 1],
    ],
    [
      [2, 3, 4],
      [2, 0, 1],
    ],
    [
      [4, 6, 3, 4, 8],
      [2, 0, 3, 1, 4],
    ], // fused QKV split [B, T, 3, H, dh] -> [3, B, H, T, dh]
    [
      [4, 4, 6, 8],
      [0, 2, 1, 3],
    ], // head merge
    [
      [1, 3, 1, 5],
      [3, 2, 1, 0],
    ],
  ];
  for (const [shape, perm] of cases) {
    it(`[${shape}] by [${perm}]`, () => {
      const x = iota(size(shape));
      const got = values(() => tf.transpose(tf.tensor(x, shape), perm));
      const outShape = perm.map((p) => shape[p]);
      expect(got.shape).toEqual(outShape);
      const ref = Array.from({ length: x.length }, (_, o) => {
        const oc = coords(o, outShape);
        const ic = new Array<number>(shape.length);
        perm.forEach((p, d) => (ic[p] = oc[d]));
        return x[flat(ic, shape)];
      });
      expect(Array.from(got.v)).toEqual(ref);
    });
  }

  it('int32 and bool', () => {
    expect(Array.from(values(() => tf.transpose(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'))).v)).toEqual([
      1, 4, 2, 5, 3, 6,
    ]);
    expect(Array.from(values(() => tf.transpose(tf.tensor2d([1, 0, 0, 1, 1, 0], [2, 3], 'bool'))).v)).toEqual([
      1, 1, 0, 1, 0, 0,
    ]);
  });
});

describe(`Slice, SplitV, Unpack, Concat (${path})`, () => {
  const shape = [3, 4, 5];
  const x = iota(size(shape));
  const sliceRef = (begin: number[], sz: number[]) =>
    Array.from(
      { length: size(sz) },
      (_, o) =>
        x[
          flat(
            coords(o, sz).map((c, d) => c + begin[d]),
            shape,
          )
        ],
    );

  for (const [begin, sz] of [
    [
      [0, 0, 0],
      [3, 4, 5],
    ],
    [
      [1, 1, 2],
      [2, 2, 3],
    ],
    [
      [0, 3, 0],
      [3, 1, 5],
    ],
    [
      [2, 0, 4],
      [1, 4, 1],
    ],
    [
      [1, 0, 0],
      [0, 4, 5],
    ],
  ]) {
    it(`slice at [${begin}] size [${sz}]`, () => {
      const got = values(() => tf.slice(tf.tensor(x, shape), begin, sz));
      expect(got.shape).toEqual(sz);
      expect(Array.from(got.v)).toEqual(sliceRef(begin, sz));
    });
  }

  for (const axis of [0, 1, 2]) {
    it(`split into unequal parts along axis ${axis}, and unstack`, () => {
      const n = shape[axis];
      const sizes = [1, n - 1];
      const parts = tf.split(tf.tensor(x, shape), sizes, axis);
      let at = 0;
      for (const [k, p] of parts.entries()) {
        const begin = [0, 0, 0];
        const sz = [...shape];
        begin[axis] = at;
        sz[axis] = sizes[k];
        expect(p.shape).toEqual(sz);
        expect(Array.from(p.dataSync())).toEqual(sliceRef(begin, sz));
        at += sizes[k];
      }
      tf.dispose(parts);
      const un = tf.unstack(tf.tensor(x, shape), axis);
      un.forEach((u, i) => {
        const begin = [0, 0, 0];
        const sz = [...shape];
        begin[axis] = i;
        sz[axis] = 1;
        expect(u.shape).toEqual(shape.filter((_, d) => d !== axis));
        expect(Array.from(u.dataSync())).toEqual(sliceRef(begin, sz));
      });
      tf.dispose(un);
    });

    it(`concat three parts (one empty) along axis ${axis}`, () => {
      const s1 = [...shape];
      const s0 = [...shape];
      s0[axis] = 0;
      s1[axis] = 2;
      const a = iota(size(shape));
      const b = iota(size(s1)).map((v) => 1000 + v);
      const got = values(() => tf.concat([tf.tensor(a, shape), tf.zeros(s0), tf.tensor(b, s1)], axis));
      const out = [...shape];
      out[axis] += 2;
      expect(got.shape).toEqual(out);
      const ref = Array.from({ length: size(out) }, (_, o) => {
        const c = coords(o, out);
        if (c[axis] < shape[axis]) return a[flat(c, shape)];
        c[axis] -= shape[axis];
        return b[flat(c, s1)];
      });
      expect(Array.from(got.v)).toEqual(ref);
    });
  }

  it('int32 concat and bool slice', () => {
    expect(Array.from(values(() => tf.concat([tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3], 'int32')])).v)).toEqual([
      1, 2, 3,
    ]);
    expect(Array.from(values(() => tf.slice(tf.tensor1d([1, 0, 1, 1], 'bool'), [1], [2])).v)).toEqual([0, 1]);
  });

  it('copyDims merges runs that are contiguous on both sides', () => {
    // transpose [4, 6, 3, 4, 8] by [2, 0, 3, 1, 4]: no merges, inner runs of 8
    expect(Array.from(copyDims([3, 4, 4, 6, 8], [768, 192, 48, 8, 1], [32, 576, 8, 96, 1])!)).toEqual([
      3, 4, 4, 6, 8, 768, 192, 48, 8, 1, 32, 576, 8, 96, 1,
    ]);
    // a slice keeping whole trailing rows collapses to one run per leading index
    expect(Array.from(copyDims([2, 4, 5], [20, 5, 1], [20, 5, 1])!)).toEqual([40, 1, 1]);
    expect(Array.from(copyDims([2, 1, 5], [5, 5, 1], [20, 5, 1])!)).toEqual([2, 5, 5, 1, 20, 1]);
  });
});
