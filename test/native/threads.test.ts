/**
 * The fused kernels split across the trial's threads (attention per head, softmax cross-entropy
 * per row; native/src/parallel.c) compute each item whole on one thread with BLAS single-threaded
 * inside, so 1, 2 and 3 threads give the same bits. Needs the addon (the wasm path has no split).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { registerNativeKernels, sparseSoftmaxCrossEntropy } from '../../src/backend/index.js';
import { causalAttention } from '../../src/model/attention.js';
import { rand, setup, skipNative } from './util.js';

const { info } = await setup();

const [B, T, H, dh] = [2, 24, 3, 8];
const data = {
  qkv: rand(B * T * 3 * H * dh),
  dy: rand(B * T * H * dh),
  cos: rand(T * dh),
  sin: rand(T * dh),
  logits: rand(37 * 50, -4, 4),
};

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
  it('give the bits of one thread', () => {
    const before = info.blas!.threads;
    try {
      const one = run(1);
      for (const t of [2, 3]) {
        const got = run(t);
        for (let i = 0; i < one.length; i++)
          expect(Buffer.from(got[i].buffer).equals(Buffer.from(one[i].buffer))).toBe(true);
      }
    } finally {
      registerNativeKernels({ threads: before });
    }
  });
});
