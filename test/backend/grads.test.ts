import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, quietCpuBanner, sparseSoftmaxCrossEntropy } from '../../src/backend/index.js';

let seed = 4242;
function uniform(n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed / 2 ** 31 - 1) * scale;
  });
}

const B = 2;
const T = 6;
const D = 8;
const H = 2;
const V = 11;

/** Parameters as plain arrays, so each backend builds its own tensors from the same numbers. */
const params = {
  emb: { data: uniform(V * D, 1), shape: [V, D] },
  wqkv: { data: uniform(D * 3 * D, 0.5), shape: [3 * D, D] }, // torch layout: used transposed
  conv: { data: uniform(D * D, 0.3), shape: [D, D] }, // a channel mix
  dw: { data: uniform(4 * D, 0.5), shape: [4, D] }, // causal taps per channel, as the Engram short conv
  head: { data: uniform(D * V, 0.5), shape: [D, V] },
};
const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % V);
const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % V);
const routed = Int32Array.from([0, 3, 4, 7, 8, 11]); // rows sent through an "expert" and added back

/** A small LM-like graph touching every kernel of the backward pass we replaced or added. */
function loss(emb: tf.Tensor, wqkv: tf.Tensor, conv: tf.Tensor, dw: tf.Tensor, head: tf.Tensor): tf.Scalar {
  const x = tf.gather(emb, tf.tensor1d(tokens, 'int32')); // [B*T, D]
  const qkv = tf
    .matMul(x, wqkv, false, true)
    .reshape([B, T, 3, H, D / H])
    .transpose([2, 0, 3, 1, 4]);
  const [q, k, v] = tf.unstack(qkv); // [B, H, T, Dh]
  const q3 = q.reshape([B * H, T, D / H]);
  const k3 = k.reshape([B * H, T, D / H]);
  const v3 = v.reshape([B * H, T, D / H]);
  const half = D / H / 2;
  const rot = tf.concat([q3.slice([0, 0, half], [-1, -1, half]), q3.slice([0, 0, 0], [-1, -1, half]).neg()], -1);
  const att = tf.softmax(tf.matMul(rot, k3, false, true)); // [B*H, T, T]
  const o = tf
    .matMul(att, v3)
    .reshape([B, H, T, D / H])
    .transpose([0, 2, 1, 3])
    .reshape([B * T, D]);
  const c = tf.matMul(o, conv).reshape([B, T, D]); // [B, T, D]
  // a causal depthwise conv of width 4 as the model writes it: shifted slices of a left-padded input
  const padded = tf.pad(c, [
    [0, 0],
    [3, 0],
    [0, 0],
  ]); // [B, T + 3, D]
  let d = tf.zeros([B, T, D]);
  for (let j = 0; j < 4; j++) d = d.add(padded.slice([0, j, 0], [B, T, D]).mul(dw.slice([j, 0], [1, D])));
  const h = d.reshape([B * T, D]);
  const idx = tf.tensor1d(routed, 'int32');
  const expert = tf.unsortedSegmentSum(tf.sigmoid(tf.gather(h, idx)).mul(2), idx, B * T); // [B*T, D]
  const logits = tf.matMul(h.add(expert), head); // [B*T, V]
  return sparseSoftmaxCrossEntropy(logits as tf.Tensor2D, tf.tensor1d(targets, 'int32')).mean() as tf.Scalar;
}

async function gradsOn(backend: string) {
  await tf.setBackend(backend);
  quietCpuBanner();
  const ps = Object.values(params).map((p) => tf.tensor(p.data, p.shape));
  const { value, grads } = tf.tidy(() => {
    const g = tf.valueAndGrads((...a: tf.Tensor[]) => loss(a[0], a[1], a[2], a[3], a[4]))(ps);
    return { value: g.value, grads: g.grads };
  });
  const out = { loss: value.dataSync()[0], grads: grads.map((g) => Float64Array.from(g.dataSync())) };
  tf.dispose([value, ...grads, ...ps]);
  return out;
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('gradients on wasm vs cpu', () => {
  it('gather, matmuls (transposed, batched), transposes, slices, concat, pad, a causal short conv, segment sum, cross-entropy', async () => {
    const cpu = await gradsOn('cpu');
    const wasm = await gradsOn('wasm');
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(1e-4 * Math.abs(cpu.loss));
    const names = Object.keys(params);
    cpu.grads.forEach((g, k) => {
      const scale = Math.max(...g.map(Math.abs));
      expect(scale, `${names[k]} gradient is not trivially zero`).toBeGreaterThan(1e-4);
      g.forEach((r, i) => {
        expect(Math.abs(wasm.grads[k][i] - r), `${names[k]}[${i}]`).toBeLessThanOrEqual(
          1e-4 * Math.max(Math.abs(r), scale),
        );
      });
    });
  });
});
