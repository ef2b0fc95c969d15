import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, quietCpuBanner } from '../../src/backend/index.js';
import { matMulReference } from '../helpers/matmul-reference.js';

interface Input {
  data: Float32Array;
  shape: number[];
}

let seed = 12345;
/** Deterministic uniform values in [-1, 1) (an LCG; no dependence on tf's RNG). */
function rand(shape: number[]): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    data[i] = seed / 2 ** 31 - 1;
  }
  return { data, shape };
}

async function run(backend: string, f: (...t: tf.Tensor[]) => tf.Tensor, inputs: Input[]) {
  await tf.setBackend(backend);
  quietCpuBanner();
  const out = tf.tidy(() => f(...inputs.map((i) => tf.tensor(i.data, i.shape))));
  const values = Float64Array.from(out.dataSync());
  const shape = out.shape;
  out.dispose();
  return { values, shape };
}

/** Float64 matmul with transposes and numpy-style batch broadcasting: the independent reference. */
function refMatMul(a: Input, b: Input, tA: boolean, tB: boolean): { values: Float64Array; shape: number[] } {
  const r = matMulReference(a.data, a.shape, b.data, b.shape, tA, tB);
  return { values: r.v, shape: r.shape };
}

function expectClose(got: { values: Float64Array; shape: number[] }, ref: { values: Float64Array; shape: number[] }) {
  expect(got.shape).toEqual(ref.shape);
  let worst = 0;
  for (let i = 0; i < ref.values.length; i++) {
    const err = Math.abs(got.values[i] - ref.values[i]) / Math.max(1, Math.abs(ref.values[i]));
    worst = Math.max(worst, err);
  }
  expect(worst).toBeLessThan(1e-4);
}

/** Stored shapes for logical [..., M, K] x [..., K, N] with the given transposes. */
function stored(batch: number[], rows: number, cols: number, t: boolean): number[] {
  return t ? [...batch, cols, rows] : [...batch, rows, cols];
}

beforeAll(async () => {
  await initBackend('wasm');
});

const combos: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

// [batchA, batchB, M, K, N]
const cases: [number[], number[], number, number, number][] = [
  [[], [], 7, 5, 3],
  [[], [], 33, 64, 17],
  [[], [], 1, 9, 1],
  [[4], [4], 6, 5, 7],
  [[2, 3], [2, 3], 5, 8, 4],
  [[4], [], 6, 5, 7], // shared right side: folds into one [B*M, K] product
  [[], [4], 6, 5, 7], // shared left side
  [[3], [1], 6, 5, 7],
];

describe('BatchMatMul on wasm', () => {
  for (const [batchA, batchB, M, K, N] of cases) {
    for (const [tA, tB] of combos) {
      it(`[${batchA}] ${M}x${K} . [${batchB}] ${K}x${N}, transposeA=${tA}, transposeB=${tB}`, async () => {
        const a = rand(stored(batchA, M, K, tA));
        const b = rand(stored(batchB, K, N, tB));
        const f = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, tA, tB);
        const wasm = await run('wasm', f, [a, b]);
        expectClose(wasm, refMatMul(a, b, tA, tB));
        expectClose(wasm, await run('cpu', f, [a, b]));
      });
    }
  }

  it('broadcasts batch axes both ways ([2,1] with [1,3]), where the CPU backend cannot', async () => {
    for (const [tA, tB] of combos) {
      const a = rand(stored([2, 1], 4, 6, tA));
      const b = rand(stored([1, 3], 6, 5, tB));
      const wasm = await run('wasm', (x, y) => tf.matMul(x, y, tA, tB), [a, b]);
      expectClose(wasm, refMatMul(a, b, tA, tB));
    }
  });

  it('handles empty and K = 0 products', async () => {
    const z = await run('wasm', (x, y) => tf.matMul(x, y), [rand([3, 0]), rand([0, 4])]);
    expect(z.shape).toEqual([3, 4]);
    expect(Array.from(z.values)).toEqual(new Array(12).fill(0));
    const e = await run('wasm', (x, y) => tf.matMul(x, y), [rand([0, 5]), rand([5, 4])]);
    expect(e.shape).toEqual([0, 4]);
  });

  it('leaves no tensors behind (temporary transposes are freed)', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor(rand([4, 9, 6]).data, [4, 9, 6]);
    const b = tf.tensor(rand([4, 5, 9]).data, [4, 5, 9]);
    const before = tf.engine().backend.numDataIds();
    for (let i = 0; i < 5; i++) tf.matMul(a, b, true, true).dispose();
    expect(tf.engine().backend.numDataIds()).toBe(before);
    a.dispose();
    b.dispose();
  });

  it('rejects mismatched inner sizes', async () => {
    await tf.setBackend('wasm');
    expect(() => tf.matMul(tf.zeros([2, 3]), tf.zeros([4, 2]))).toThrow(/inner shapes \(3\) and \(4\)/);
  });
});

describe('_FusedMatMul on wasm', () => {
  const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;
  for (const activation of activations) {
    for (const [tA, tB] of combos) {
      it(`${activation}, transposeA=${tA}, transposeB=${tB}, with bias`, async () => {
        const a = rand(stored([2], 5, 6, tA));
        const b = rand(stored([2], 6, 4, tB));
        const bias = rand([4]);
        const alpha = rand([4]);
        const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor, w: tf.Tensor) =>
          tf.fused.matMul({
            a: x,
            b: y,
            transposeA: tA,
            transposeB: tB,
            bias: z,
            activation,
            preluActivationWeights: activation === 'prelu' ? w : undefined,
            leakyreluAlpha: 0.3,
          });
        expectClose(await run('wasm', f, [a, b, bias, alpha]), await run('cpu', f, [a, b, bias, alpha]));
      });
    }
  }

  it('stock fast path (2-D, no transposes, rank-1 bias) agrees too', async () => {
    const a = rand([9, 6]);
    const b = rand([6, 4]);
    const bias = rand([4]);
    const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
      tf.fused.matMul({ a: x, b: y, bias: z, activation: 'relu' });
    expectClose(await run('wasm', f, [a, b, bias]), await run('cpu', f, [a, b, bias]));
  });
});
