/**
 * Every trainable parameter of every variant is wired into the loss: one forward + backward of a
 * tiny model, as the trainer runs it, gives each tensor of model.weights.list() a gradient (zero
 * is fine, e.g. an expert no token was routed to; null is not: such a tensor is counted in P_tot
 * and P_act but never trained), and the looked-up memory rows get gradients too (issue 14,
 * defect 1: with hcMult 2 five engram tensors had none and the first step threw).
 * Models are built from trial configs through parseTrial, so a config the trainer accepts but
 * cannot train fails here.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { InputError } from '../../src/cli/errors.js';
import { crossEntropy } from '../../src/model/loss.js';
import { Transformer, type MemoryRows } from '../../src/model/transformer.js';
import { parseTrial } from '../../src/train/config.js';
import { buildMemories } from '../../src/train/memory-bank.js';
import { modelConfig } from '../../src/train/model-config.js';
import { forwardBackward, type Batch } from '../../src/train/step.js';
import { rand } from '../native/util.js';

const V = 300;
const B = 2;
const T = 8;
const memory = { maxNgram: 3, headsPerNgram: 2, dimPerNgram: 8, baseSizes: [31, 37], initStd: 0.02 };
const moe = { shared: 1, routed: 4, topK: 2, expertHidden: 8, seqBalance: 1e-4 };
const engram = { ...memory, layerIds: [0, 1] };

const variants: Record<string, Record<string, unknown>> = {
  dense: {},
  moe: { moe },
  engram: { engram },
  overencoding: { overEncoding: memory },
  'engram + moe': { moe, engram },
  // refused by the config today; should it ever be accepted, its branches must be trained
  'engram + moe, hcMult 2': { moe, engram: { ...engram, hcMult: 2 } },
};

beforeAll(async () => {
  await initBackend('wasm');
});

/** The trial's model and memories, or null when the trial config refuses the variant. */
function build(extra: Record<string, unknown>) {
  let c: ReturnType<typeof parseTrial>;
  try {
    const model = { dModel: 16, nLayers: 2, nHeads: 2, ffnHidden: 24, ...extra };
    c = parseTrial({ data: { vocabSize: V, seqLen: T }, model }, 'test');
  } catch (e) {
    if (e instanceof InputError) return null;
    throw e;
  }
  const model = new Transformer(modelConfig(c), 1);
  const memories = buildMemories(model.config, V, 1);
  const ids = Int32Array.from(rand(B * T, 0, V), Math.floor); // [B*T], taken as compressed ids
  const targets = Int32Array.from(rand(B * T, 0, V), Math.floor); // [B*T]
  const batch: Batch = { B, T, ids, targets, hashIds: memories.map((m) => m.indices(ids, B, T, 0)) };
  return { model, memories, batch };
}

/** Name -> gradient (null when the tensor is not on the path to the loss) of every parameter and memory. */
function gradients(built: NonNullable<ReturnType<typeof build>>): Map<string, Float32Array | null> {
  const { model, memories, batch } = built;
  const rows: MemoryRows = { engram: new Map() };
  const rowTensors = memories.map((m, i) => {
    const t = tf.tensor2d(m.gather(batch.hashIds[i]), [B * T, m.tablesPerPos * m.table.dim]); // [B*T, d_mem]
    if (m.key === 'overEncoding') rows.overEncoding = t;
    else rows.engram.set(m.key, t);
    return t;
  });
  const vars = model.weights.list();
  const ids = tf.tensor2d(batch.ids, [B, T], 'int32');
  const { value, grads } = tf.engine().gradients(() => {
    const r = model.forward(ids, rows);
    r.gates.forEach((g) => g.dispose());
    const ce = crossEntropy(r.logits, batch.targets);
    return r.aux ? tf.add(ce, r.aux) : ce;
  }, [...vars, ...rowTensors]) as { value: tf.Scalar; grads: (tf.Tensor | null | undefined)[] };
  const names = [...vars.map((v) => v.name.split('#')[0]), ...memories.map((m) => `memory rows ${m.key}`)];
  const out = new Map(names.map((n, i) => [n, grads[i] ? (grads[i]!.dataSync() as Float32Array) : null]));
  tf.dispose([value, ids, ...rowTensors, ...grads.filter((g): g is tf.Tensor => g != null)]);
  return out;
}

describe('every parameter receives a gradient', () => {
  for (const [name, extra] of Object.entries(variants)) {
    it(name, () => {
      const built = build(extra);
      if (!built) return; // refused with exit 2 (test/train/config.test.ts checks the message)
      const grads = gradients(built);
      expect(grads.size).toBe(built.model.weights.list().length + built.memories.length);
      const missing = [...grads].filter(([, g]) => g === null).map(([n]) => n);
      expect(missing, `${name}: parameters without a gradient`).toEqual([]);
      for (const [n, g] of grads) expect(g!.every(Number.isFinite), `${name}: ${n}`).toBe(true);
      // memory rows: gathered per token, every token is on the loss's path
      for (const m of built.memories) {
        expect(
          grads.get(`memory rows ${m.key}`)!.some((x) => x !== 0),
          `${name}: rows ${m.key}`,
        ).toBe(true);
      }
      // and the trainer's own step runs on it
      const step = forwardBackward(built.model, built.memories, built.batch);
      expect(step.backboneGrads).toHaveLength(built.model.weights.list().length);
      expect(step.rowGrads).toHaveLength(built.memories.length);
      expect(Number.isFinite(step.loss)).toBe(true);
      tf.dispose(step.backboneGrads);
      built.model.dispose();
    });
  }
});
