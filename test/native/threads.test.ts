/**
 * The kernels split across the trial's threads (attention per head, softmax cross-entropy,
 * RMSNorm, SwiGLU and row sums per row, the norm weights' gradient per column, element-wise ops
 * and AdamW per element; native/src/parallel.c) compute each item whole on one thread with BLAS
 * single-threaded inside, so 1, 2 and 3 threads give the same bits. The light kernels split only
 * above 65,536 elements, so the shapes here are above that. Needs the addon (the wasm path has no
 * split).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { adamwInPlace, registerNativeKernels, sparseSoftmaxCrossEntropy } from '../../src/backend/index.js';
import { causalAttention } from '../../src/model/attention.js';
import { rmsNorm } from '../../src/model/norm.js';
import { swigluActivation } from '../../src/model/swiglu.js';
import { rand, setup, skipNative } from './util.js';

const { info } = await setup();

const [B, T, H, dh] = [2, 24, 3, 8];
const data = {
  qkv: rand(B * T * 3 * H * dh),
  dy: rand(B * T * H * dh),
  cos: rand(T * dh),
  sin: rand(T * dh),
  logits: rand(37 * 50, -4, 4),
  // the light kernels: [rows, d] with rows * d above the split threshold, uneven row count
  x: rand(1031 * 96, -2, 2),
  w: rand(96, 0.5, 1.5),
  gu: rand(1031 * 192, -3, 3),
  bias: rand(96),
};

/** RMSNorm, SwiGLU, broadcast add, sigmoid, row sums and their gradients; one AdamW update */
function runLight(threads: number): Float32Array[] {
  registerNativeKernels({ threads });
  const x = tf.tensor2d(data.x, [1031, 96]);
  const w = tf.tensor1d(data.w);
  const gu = tf.tensor2d(data.gu, [1031, 192]);
  const bias = tf.tensor1d(data.bias);
  const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.add(tf.sigmoid(tf.add(rmsNorm(a, b, 1e-6), c)), swigluActivation(tf.concat([a, a], 1) as tf.Tensor2D));
  const y = f(x, w, bias);
  const rowSums = tf.sum(y, 1);
  const [gx, gw, gb] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c), a)))([
    x,
    w,
    bias,
  ]);
  const gs = swigluActivation(gu as tf.Tensor2D);
  const p = tf.tensor1d(data.gu.slice(0, 70_000));
  const m = tf.zerosLike(p);
  const v = tf.zerosLike(p);
  const g = tf.tensor1d(data.gu.slice(70_000, 140_000));
  const s = { scale: 0.5, beta1: 0.9, beta2: 0.95, bc1: 0.1, bc2: 0.05, eps: 1e-8, lr: 1e-3, decay: 0.1 };
  expect(adamwInPlace(p, m, v, g, s)).toBe(true);
  const out = [y, rowSums, gx, gw, gb, gs, p, m, v].map((t) => t.dataSync().slice() as Float32Array);
  tf.dispose([x, w, gu, bias, y, rowSums, gx, gw, gb, gs, p, m, v, g]);
  return out;
}

/** attention value and qkv gradient, and the cross-entropy loss and logits gradient, as arrays */
function run(threads: number): Float32Array[] {
  registerNativeKernels({ threads });
  const qkv = tf.tensor3d(data.qkv, [B, T, 3 * H * dh]);
  const dy = tf.tensor3d(data.dy, [B, T, H * dh]);
  const cos = tf.tensor2d(data.cos, [T, dh]);
  const sin = tf.tensor2d(data.sin, [T, dh]);
  const f = (x: tf.Tensor) => causalAttention(x as tf.Tensor3D, H, cos, sin);
  const y = f(qkv);
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), dy)))(qkv);
  const logits = tf.tensor2d(data.logits, [37, 50]);
  const labels = tf.tensor1d(
    Int32Array.from({ length: 37 }, (_, i) => (i * 13) % 50),
    'int32',
  );
  const ce = (z: tf.Tensor) => tf.sum(sparseSoftmaxCrossEntropy(z as tf.Tensor2D, labels));
  const loss = ce(logits);
  const gz = tf.grad(ce)(logits);
  const out = [y, g, loss, gz].map((t) => t.dataSync() as Float32Array);
  tf.dispose([qkv, dy, cos, sin, y, g, logits, labels, loss, gz]);
  return out;
}

describe.skipIf(skipNative(info, 'test/native/threads.test.ts'))('fused kernels on several threads', () => {
  /** each output of run(threads) on 2 and 3 threads has the bits of 1 thread */
  const sameBits = (run: (threads: number) => Float32Array[]) => {
    const before = info.blas!.threads;
    try {
      const one = run(1);
      for (const t of [2, 3]) {
        const got = run(t);
        for (let i = 0; i < one.length; i++)
          expect({ i, same: Buffer.from(got[i].buffer).equals(Buffer.from(one[i].buffer)) }).toEqual({ i, same: true });
      }
    } finally {
      registerNativeKernels({ threads: before });
    }
  };

  it('give the bits of one thread', () => sameBits(run));

  it('the light kernels (norms, SwiGLU, element-wise, row sums, AdamW) give the bits of one thread', () =>
    sameBits(runLight));
});
