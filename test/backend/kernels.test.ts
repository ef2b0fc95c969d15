import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  SPARSE_SOFTMAX_CE,
  initBackend,
  quietCpuBanner,
  registerCpuKernels,
  sparseSoftmaxCrossEntropy,
} from '../../src/backend/index.js';
import { simplifyPermutation } from '../../src/backend/kernels/transpose.js';

type Dtype = 'float32' | 'int32' | 'bool';
interface Input {
  data: Float32Array | Int32Array | Uint8Array;
  shape: number[];
  dtype: Dtype;
}

let seed = 777;
function next(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
}
function rand(shape: number[]): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => next() * 2 - 1), shape, dtype: 'float32' };
}
function ints(shape: number[], lo: number, hi: number): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Int32Array.from({ length: n }, () => lo + Math.floor(next() * (hi - lo))), shape, dtype: 'int32' };
}
function bools(shape: number[]): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Uint8Array.from({ length: n }, () => (next() < 0.5 ? 1 : 0)), shape, dtype: 'bool' };
}

type Result = { values: number[]; shape: number[]; dtype: string };

async function run(
  backend: string,
  f: (...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  inputs: Input[],
): Promise<Result[]> {
  await tf.setBackend(backend);
  quietCpuBanner();
  const outs = tf.tidy(() => {
    const o = f(...inputs.map((i) => tf.tensor(i.data, i.shape, i.dtype)));
    return Array.isArray(o) ? o : [o];
  });
  const res = outs.map((o) => ({ values: Array.from(o.dataSync()), shape: o.shape, dtype: o.dtype }));
  tf.dispose(outs);
  return res;
}

function expectClose(got: Result[], ref: Result[], rtol = 1e-4) {
  expect(got.length).toBe(ref.length);
  got.forEach((g, k) => {
    expect(g.shape).toEqual(ref[k].shape);
    expect(g.dtype).toBe(ref[k].dtype);
    g.values.forEach((v, i) => {
      const r = ref[k].values[i];
      expect(Math.abs(v - r)).toBeLessThanOrEqual(rtol * Math.max(1, Math.abs(r)));
    });
  });
}

/** Same outputs on wasm and on the stock CPU backend. */
async function sameAsCpu(f: (...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[], inputs: Input[], rtol = 1e-4) {
  expectClose(await run('wasm', f, inputs), await run('cpu', f, inputs), rtol);
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('UnsortedSegmentSum', () => {
  /** Float64 scatter-add written out directly; ids outside [0, n) dropped. */
  function ref(x: Input, ids: Input, n: number): Result {
    const rows = ids.data.length;
    const inner = x.data.length / Math.max(rows, 1);
    const out = new Array<number>(n * inner).fill(0);
    for (let i = 0; i < rows; i++) {
      const s = ids.data[i];
      if (s >= 0 && s < n) for (let j = 0; j < inner; j++) out[s * inner + j] += x.data[i * inner + j];
    }
    return { values: out, shape: [n, ...x.shape.slice(ids.shape.length)], dtype: x.dtype };
  }
  const f = (n: number) => (x: tf.Tensor, ids: tf.Tensor) => tf.unsortedSegmentSum(x, ids as tf.Tensor1D, n);

  it.each([
    [[10, 3], 6],
    [[40, 2, 5], 7],
    [[1, 4], 1],
    [[300, 16], 1000],
  ])('x %j into %i segments', async (shape, n) => {
    const x = rand(shape);
    const ids = ints([shape[0]], -1, n + 1); // includes out-of-range ids on both sides
    expectClose(await run('wasm', f(n), [x, ids]), [ref(x, ids, n)]);
  });

  it('int32 values and 2-D segment ids', async () => {
    const x = ints([4, 3, 2], -50, 50);
    const ids = ints([4, 3], 0, 5);
    const [got] = await run('wasm', f(5), [x, ids]);
    const want = ref(x, ids, 5);
    expect(got.dtype).toBe('int32');
    expect(got.shape).toEqual([5, 2]);
    expect(got.values).toEqual(want.values);
  });

  it('CPU variant (registerCpuKernels) agrees with the reference', async () => {
    registerCpuKernels();
    const x = rand([50, 4]);
    const ids = ints([50], -2, 30);
    expectClose(await run('cpu', f(30), [x, ids]), [ref(x, ids, 30)]);
  });
});

describe('data movement kernels', () => {
  it.each([
    [
      [16, 12, 3, 4, 8],
      [2, 0, 3, 1, 4],
    ],
    [
      [3, 16, 4, 12, 8],
      [1, 3, 0, 2, 4],
    ],
    [
      [4, 5, 6, 7],
      [0, 2, 1, 3],
    ],
    [
      [70, 40],
      [1, 0],
    ],
    [
      [5, 1, 7],
      [2, 1, 0],
    ],
    [
      [2, 3, 4],
      [0, 1, 2],
    ],
    [
      [1, 1],
      [1, 0],
    ],
    [
      [3, 4, 5, 6],
      [3, 2, 1, 0],
    ],
  ])('Transpose %j by %j', async (shape, perm) => {
    await sameAsCpu((x) => tf.transpose(x, perm), [rand(shape)], 0);
    await sameAsCpu((x) => tf.transpose(x, perm), [ints(shape, -9, 9)], 0);
    await sameAsCpu((x) => tf.transpose(x, perm), [bools(shape)], 0);
  });

  it('simplifyPermutation drops unit axes and merges neighbours', () => {
    expect(simplifyPermutation([16, 128, 3, 4, 32], [2, 0, 3, 1, 4])).toEqual({
      shape: [16, 128, 3, 4, 32],
      perm: [2, 0, 3, 1, 4],
    });
    expect(simplifyPermutation([2, 3, 4, 5], [0, 2, 3, 1])).toEqual({ shape: [2, 3, 20], perm: [0, 2, 1] });
    expect(simplifyPermutation([5, 1, 7], [2, 1, 0])).toEqual({ shape: [5, 7], perm: [1, 0] });
    expect(simplifyPermutation([2, 3], [0, 1])).toEqual({ shape: [6], perm: [0] });
  });

  it.each([
    [
      [16, 4, 12, 8],
      [0, 0, 0, 4],
      [-1, -1, -1, 4],
    ],
    [
      [6, 7],
      [1, 2],
      [3, 4],
    ],
    [
      [6, 7],
      [2, 0],
      [3, 7],
    ],
    [
      [2, 3, 4, 5, 6],
      [1, 0, 1, 2, 0],
      [1, 3, 2, 2, 6],
    ],
    [[9], [3], [4]],
  ])('Slice %j from %j size %j', async (shape, begin, size) => {
    await sameAsCpu((x) => tf.slice(x, begin, size), [rand(shape)], 0);
    await sameAsCpu((x) => tf.slice(x, begin, size), [ints(shape, 0, 100)], 0);
  });

  it('SplitV, Unpack and Concat', async () => {
    await sameAsCpu((x) => tf.split(x, [3, 1, 4], 1), [rand([5, 8, 3])], 0);
    await sameAsCpu((x) => tf.split(x, 2, -1), [rand([4, 3, 6])], 0);
    await sameAsCpu((x) => tf.unstack(x, 2), [rand([2, 3, 4, 5])], 0);
    await sameAsCpu((x) => tf.unstack(x), [ints([3, 4], 0, 9)], 0);
    await sameAsCpu(
      (a, b, c) => tf.concat([a, b, c], 3),
      [rand([2, 4, 3, 8]), rand([2, 4, 3, 1]), rand([2, 4, 3, 300])],
      0,
    );
    await sameAsCpu((a, b) => tf.concat([a, b], 0), [rand([2, 5]), rand([3, 5])], 0);
    await sameAsCpu((a, b) => tf.concat([a, b], 1), [bools([2, 5]), bools([2, 0])], 0);
  });

  it('GatherV2 over axes and batch dims; bad index throws', async () => {
    await sameAsCpu((x, i) => tf.gather(x, i), [rand([50, 16]), ints([40], 0, 50)], 0);
    await sameAsCpu((x, i) => tf.gather(x, i, 1), [rand([3, 10, 4]), ints([2, 5], 0, 10)], 0);
    await sameAsCpu((x, i) => tf.gather(x, i, 1, 1), [rand([3, 10, 4]), ints([3, 6], 0, 10)], 0);
    await sameAsCpu((x, i) => tf.gather(x, i), [ints([20, 300], -5, 5), ints([7], 0, 20)], 0);
    await tf.setBackend('wasm');
    expect(() => tf.gather(tf.zeros([4, 2]), tf.tensor1d([0, 4], 'int32'))).toThrow(/index value 4 is not in \[0, 3\]/);
  });

  it('Identity shares the buffer (refcounted) and survives disposal of the source', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(tf.engine().state.numTensors);
  });

  it.each([
    [
      [7, 1],
      [7, 5],
    ],
    [
      [3, 4],
      [3, 4],
    ],
    [
      [2, 1, 4],
      [3, 1],
    ],
    [[], [2, 2]],
  ])('LogicalAnd %j with %j', async (sa, sb) => {
    await sameAsCpu((a, b) => tf.logicalAnd(a, b), [bools(sa), bools(sb)], 0);
  });
});

describe('Sum', () => {
  it.each([
    [[1024, 64], [0], false],
    [[16, 64, 64], [0, 1], false],
    [[16, 64, 64], [1, 0], true],
    [[5, 3], [0], true],
    [[4, 5, 6], [-1], false], // innermost: the stock kernel
    [[4, 5, 6], [0, 2], false], // not a prefix: the stock kernel
    [[4, 5], [0, 1], false], // everything: the stock kernel
  ])('x %j over axes %j keepDims %s', async (shape, axis, keepDims) => {
    await sameAsCpu((x) => tf.sum(x, axis, keepDims), [rand(shape)]);
  });

  it('int32 goes to the stock kernel', async () => {
    await sameAsCpu((x) => tf.sum(x, 0), [ints([6, 3], -9, 9)], 0);
  });
});

describe('Exp (via XNNPACK sigmoid)', () => {
  async function expOn(backend: string, values: Float32Array): Promise<Float32Array> {
    await tf.setBackend(backend);
    quietCpuBanner();
    const y = tf.tidy(() => tf.exp(tf.tensor1d(values)));
    const out = y.dataSync() as Float32Array;
    y.dispose();
    return out;
  }

  it('matches Math.exp to 1e-6 relative over [-110, 90], both paths, with the special values', async () => {
    const sweep = Float32Array.from({ length: 20001 }, (_, i) => -110 + i * 0.01);
    const mostlyPositive = Float32Array.from({ length: 9000 }, (_, i) => (i % 7 === 0 ? -3 : 0) + (i % 100) / 9);
    for (const values of [sweep, mostlyPositive]) {
      const got = await expOn('wasm', values);
      values.forEach((v, i) => {
        const want = Math.exp(v);
        if (want < 1e-37) expect(got[i]).toBeLessThan(1e-37);
        else if (!Number.isFinite(Math.fround(want))) expect(got[i]).toBe(Infinity);
        else expect(Math.abs(got[i] - want) / want, `exp(${v})`).toBeLessThan(1e-6);
      });
    }
    const special = await expOn('wasm', Float32Array.from([-Infinity, Infinity, NaN, 0, -0, -1e-9, 1e-9]));
    expect(Array.from(special)).toEqual([0, Infinity, NaN, 1, 1, 1, 1]);
  });

  it('int32 input goes to the stock kernel', async () => {
    await sameAsCpu((x) => tf.exp(x), [ints([5], -3, 3)], 1e-6);
  });
});

describe('sparseSoftmaxCrossEntropy', () => {
  /** Float64 per-row loss and d(sum of loss * w)/dlogits. */
  function ref(logits: Input, labels: Input, w: Input): Result[] {
    const [n, v] = logits.shape;
    const loss: number[] = [];
    const grad: number[] = [];
    for (let i = 0; i < n; i++) {
      const row = Array.from(logits.data.subarray(i * v, i * v + v));
      const m = Math.max(...row);
      const s = row.reduce((acc, x) => acc + Math.exp(x - m), 0);
      loss.push(Math.log(s) + m - row[labels.data[i]]);
      row.forEach((x, j) => grad.push((Math.exp(x - m) / s - (j === labels.data[i] ? 1 : 0)) * w.data[i]));
    }
    return [
      { values: loss, shape: [n], dtype: 'float32' },
      { values: grad, shape: [n, v], dtype: 'float32' },
    ];
  }
  const f = (lg: tf.Tensor, lab: tf.Tensor, w: tf.Tensor) => {
    const loss = sparseSoftmaxCrossEntropy(lg as tf.Tensor2D, lab as tf.Tensor1D);
    const g = tf.grad((x: tf.Tensor) =>
      tf.sum(tf.mul(sparseSoftmaxCrossEntropy(x as tf.Tensor2D, lab as tf.Tensor1D), w)),
    )(lg);
    return [loss, g];
  };

  it('wasm kernel, CPU kernel and the composite fallback match a float64 reference', async () => {
    const logits = rand([37, 53]);
    for (let i = 0; i < logits.data.length; i++) logits.data[i] *= 20; // large logits: needs the max shift
    const labels = ints([37], 0, 53);
    const w = rand([37]);
    const want = ref(logits, labels, w);
    expectClose(await run('wasm', f, [logits, labels, w]), want);
    registerCpuKernels();
    expectClose(await run('cpu', f, [logits, labels, w]), want);
    // Without the kernel (as on the tensorflow backend) the op falls back to stock tf ops.
    const cpuKernel = tf.getKernel(SPARSE_SOFTMAX_CE, 'cpu');
    expect(cpuKernel).toBeDefined();
    tf.unregisterKernel(SPARSE_SOFTMAX_CE, 'cpu');
    try {
      expectClose(await run('cpu', f, [logits, labels, w]), want);
    } finally {
      tf.registerKernel(cpuKernel!);
    }
  });

  it('rejects labels outside [0, V)', async () => {
    await tf.setBackend('wasm');
    expect(() => sparseSoftmaxCrossEntropy(tf.zeros([2, 3]), tf.tensor1d([0, 3], 'int32'))).toThrow(/label 3 at row 1/);
  });
});
