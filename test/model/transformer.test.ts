/**
 * The whole model, forward and backward, on the path a trial uses (wasm with the native addon's
 * fused kernels when it is built, our wasm kernels otherwise) against the same model on tfjs' JS
 * CPU backend, where every op is a stock tfjs kernel: loss, every parameter gradient and the
 * gradient of the looked-up memory rows.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/model/config.js';
import { crossEntropy } from '../../src/model/loss.js';
import { Transformer, type MemoryRows } from '../../src/model/transformer.js';
import { onCpu, rand, setup, worst } from '../native/util.js';

const { path } = await setup();

const base: ModelConfig = {
  vocabSize: 97,
  dModel: 32,
  nLayers: 2,
  nHeads: 4,
  seqLen: 12,
  ffnHidden: 48,
  ropeBase: 10000,
  normEps: 1e-6,
};
const memory = { maxNgram: 3, headsPerNgram: 2, dimPerNgram: 16, baseSizes: [31, 37], initStd: 0.02, seed: 7 };
const configs: Record<string, ModelConfig> = {
  dense: base,
  'moe + engram': {
    ...base,
    moe: { shared: 1, routed: 6, topK: 2, expertHidden: 16, gamma: 1e-3, seqBalance: 1e-4 },
    engram: { ...memory, layerIds: [1], kernelSize: 4, signedSqrt: true, hcMult: 1 },
  },
  overencoding: { ...base, overEncoding: memory },
};

const B = 3;
const T = base.seqLen;
const ids = Int32Array.from(rand(B * T, 0, base.vocabSize), Math.floor);
const targets = Int32Array.from(rand(B * T, 0, base.vocabSize), Math.floor);
const rows = rand(B * T * 32, -1, 1); // [B*T, d_mem]: (N - 1) orders x 16 dims

/** loss and the gradients of every parameter and of the memory rows, as float64 arrays. */
function lossAndGrads(config: ModelConfig) {
  const model = new Transformer(config, 3);
  const mem = tf.tensor2d(rows, [B * T, 32]);
  const input: MemoryRows = { engram: new Map() };
  if (config.engram) input.engram.set(1, mem);
  if (config.overEncoding) input.overEncoding = mem;
  const idt = tf.tensor2d(ids, [B, T], 'int32');
  const vars = model.weights.list();
  const xs = config.engram || config.overEncoding ? [...vars, mem] : vars;
  const { value, grads } = tf.engine().gradients(() => {
    const r = model.forward(idt, input);
    r.gates.forEach((g) => g.dispose());
    const ce = crossEntropy(r.logits, targets);
    return r.aux ? tf.add(ce, r.aux) : ce;
  }, xs) as { value: tf.Scalar; grads: tf.Tensor[] };
  const out = {
    loss: value.dataSync()[0],
    grads: grads.map((g) => Float64Array.from(g.dataSync())),
    names: xs.map((v) => (v === mem ? 'memory rows' : (v as tf.Variable).name.split('#')[0])),
  };
  tf.dispose([value, ...grads, mem, idt]);
  model.weights.dispose();
  return out;
}

describe(`Transformer forward and backward (${path}) against the CPU backend`, () => {
  for (const [name, config] of Object.entries(configs)) {
    it(name, async () => {
      const here = lossAndGrads(config);
      const cpu = await onCpu(() => lossAndGrads(config));
      expect(here.names).toEqual(cpu.names);
      expect(Math.abs(here.loss - cpu.loss)).toBeLessThan(1e-5 * cpu.loss);
      here.grads.forEach((g, i) => {
        const w = worst(g, cpu.grads[i], 2e-3, 2e-6);
        expect(w, `${name}: gradient of ${here.names[i]}`).toBeLessThanOrEqual(1);
      });
    });
  }
});
