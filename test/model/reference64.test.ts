/**
 * The Transformer's wiring against an independent float64 forward written from the spec
 * (test/helpers/reference-model64.ts): block order, where the Engram residual enters, the MoE
 * routing, OverEncoding's mean, the final norm and the untied head (issue 14, defect 5). The
 * backend test (transformer.test.ts) runs one class on two backends, which checks kernels only.
 * Every parameter is set to random values first (the init leaves the conv at zero, norms at one
 * and biases at zero, which would hide their wiring), and the router gets a nonzero selection bias.
 * Runs on tfjs' JS CPU backend (stock kernels) and on the path trials use (wasm, + native addon).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/model/config.js';
import { crossEntropy } from '../../src/model/loss.js';
import { Transformer, type MemoryRows } from '../../src/model/transformer.js';
import { crossEntropy64, referenceForward, type Params } from '../helpers/reference-model64.js';
import { onCpu, rand, setup, worst } from '../native/util.js';

const { path } = await setup();

const base: ModelConfig = {
  vocabSize: 41,
  dModel: 16,
  nLayers: 3,
  nHeads: 2,
  seqLen: 9,
  ffnHidden: 20,
  ropeBase: 10000,
  normEps: 1e-6,
};
const memory = { maxNgram: 3, headsPerNgram: 2, dimPerNgram: 8, baseSizes: [31, 37], initStd: 0.02, seed: 7 };
const moe = { shared: 2, routed: 5, topK: 2, expertHidden: 6, gamma: 1e-3, seqBalance: 0 };
// Engram at blocks 0 and 2 with different rows: a layer mix-up or a skipped block shows
const engram = { ...memory, layerIds: [0, 2], kernelSize: 3, signedSqrt: true, hcMult: 1 };
const configs: Record<string, ModelConfig> = {
  dense: base,
  moe: { ...base, moe },
  engram: { ...base, engram },
  overencoding: { ...base, overEncoding: memory },
  'engram + moe': { ...base, moe, engram },
  'overencoding + moe': { ...base, moe, overEncoding: memory },
};

const B = 2;
const T = base.seqLen;
const D_MEM = 16; // (N - 1) orders x 8 dims
const ids = Int32Array.from(rand(B * T, 0, base.vocabSize), Math.floor); // [B*T]
const targets = Int32Array.from(rand(B * T, 0, base.vocabSize), Math.floor); // [B*T]
const rows = new Map([0, 2].map((l) => [l, rand(B * T * D_MEM, -1, 1)])); // per layer [B*T, d_mem]
const oeRows = rand(B * T * D_MEM, -1, 1); // [B*T, d_mem]

/**
 * Random values of a scale that keeps activations O(1): matrices U(-1, 1) sqrt(3 / fan_in),
 * norm weights 1 +- 0.3, biases +- 0.2, conv +- 0.5; the router twice as wide, so routing
 * margins stay well above float32 noise.
 */
function randomValues(name: string, shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (/Norm(\.\d+)?$/.test(name)) return rand(n, 0.7, 1.3);
  if (/Bias(\.\d+)?$/.test(name)) return rand(n, -0.2, 0.2);
  if (name.endsWith('.conv')) return rand(n, -0.5, 0.5);
  const fanIn = name === 'embed' ? 1 : shape[shape.length - 2];
  const a = Math.sqrt(3 / fanIn) * (name.endsWith('router') ? 2 : 1);
  return rand(n, -a, a);
}

/** One model's weights (randomised) and router biases; the same values on every backend. */
function weightsFor(config: ModelConfig) {
  const model = new Transformer(config, 1);
  const values = new Map(model.weights.specs.map((s) => [s.name, randomValues(s.name, s.shape)]));
  const bias = model.routers.map((r) => rand(r.bias.length, -0.1, 0.1));
  model.dispose();
  return { values, bias };
}

/** The tfjs model's logits [B*T, V] and loss, with the given weights. */
function modelForward(config: ModelConfig, w: ReturnType<typeof weightsFor>) {
  const model = new Transformer(config, 1);
  for (const [name, v] of w.values) model.weights.assign(name, v);
  model.routers.forEach((r, l) => r.bias.set(w.bias[l]));
  const input: MemoryRows = { engram: new Map() };
  for (const l of config.engram?.layerIds ?? []) input.engram.set(l, tf.tensor2d(rows.get(l)!, [B * T, D_MEM]));
  if (config.overEncoding) input.overEncoding = tf.tensor2d(oeRows, [B * T, D_MEM]);
  const idt = tf.tensor2d(ids, [B, T], 'int32');
  const r = model.forward(idt, input);
  const loss = tf.tidy(() => crossEntropy(r.logits, targets).dataSync()[0]);
  const logits = Float64Array.from(r.logits.dataSync());
  tf.dispose([idt, r.logits, ...r.gates.values(), ...input.engram.values()]);
  if (input.overEncoding) input.overEncoding.dispose();
  if (r.aux) r.aux.dispose();
  model.dispose();
  return { logits, loss };
}

function reference(config: ModelConfig, w: ReturnType<typeof weightsFor>) {
  const params: Params = new Map([...w.values].map(([n, v]) => [n, Float64Array.from(v)]));
  const out = referenceForward(config, params, {
    B,
    T,
    ids,
    engramRows: new Map([...rows].map(([l, v]) => [l, Float64Array.from(v)])),
    overEncodingRows: Float64Array.from(oeRows),
    routerBias: w.bias.map((b) => Float64Array.from(b)),
  });
  return { ...out, loss: crossEntropy64(out.logits, targets, config.vocabSize) };
}

describe('Transformer against the float64 reference forward', () => {
  for (const [name, config] of Object.entries(configs)) {
    const w = weightsFor(config);
    const ref = reference(config, w);

    it(`${name}: the reference is well posed (routing not decided by float32 noise, logits not flat)`, () => {
      expect(ref.routingMargin).toBeGreaterThan(1e-4);
      const spread = Math.max(...ref.logits) - Math.min(...ref.logits);
      expect(spread).toBeGreaterThan(1);
    });

    for (const backend of ['cpu', path]) {
      it(`${name} on ${backend}: logits within 2e-4 (rel and abs), loss within 1e-5 relative`, async () => {
        const here = backend === 'cpu' ? await onCpu(() => modelForward(config, w)) : modelForward(config, w);
        expect(worst(here.logits, ref.logits, 2e-4, 2e-4), `${name}: logits`).toBeLessThanOrEqual(1);
        expect(Math.abs(here.loss - ref.loss)).toBeLessThan(1e-5 * ref.loss);
      });
    }
  }
});
