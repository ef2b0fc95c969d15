/**
 * One training step and one evaluation pass over a batch: the part of the trainer that touches
 * tfjs. Memory rows enter the graph as plain tensors; their gradients come back with the
 * backbone's and go to the host-side lazy Adam.
 */
import * as tf from '@tensorflow/tfjs';
import { crossEntropy } from '../model/loss.js';
import { updateBias } from '../model/moe.js';
import type { MemoryRows, Transformer } from '../model/transformer.js';
import { sumOfSquares } from '../backend/index.js';
import type { AdamW } from './adamw.js';
import type { HashedMemory } from './memory-bank.js';

export interface Batch {
  B: number;
  T: number;
  ids: Int32Array; // [B*T] raw token ids
  targets: Int32Array; // [B*T]
  /** per memory: hash indices [B*T*(N-1)K] */
  hashIds: Int32Array[];
}

/** Upload memory rows for a batch: [B*T, d_mem] per memory. */
function memoryRows(memories: HashedMemory[], batch: Batch): { rows: MemoryRows; tensors: tf.Tensor2D[] } {
  const rows: MemoryRows = { engram: new Map() };
  const tensors = memories.map((m, i) => {
    const t = tf.tensor2d(m.gather(batch.hashIds[i]), [batch.B * batch.T, m.tablesPerPos * m.table.dim]);
    if (m.key === 'overEncoding') rows.overEncoding = t;
    else rows.engram.set(m.key, t);
    return t;
  });
  return { rows, tensors };
}

export interface StepOutput {
  loss: number;
  /** global gradient norm before clipping */
  gradNorm: number;
  /** mean Engram gate per layer id */
  gateMean: Record<string, number>;
  backboneGrads: tf.Tensor[];
  rowGrads: Float32Array[];
  /** per MoE layer: tokens routed to each expert in this step, [E] */
  expertLoad: Int32Array[];
}

/** Forward + backward. The caller applies the updates and disposes backboneGrads. */
export function forwardBackward(model: Transformer, memories: HashedMemory[], batch: Batch): StepOutput {
  const ids = tf.tensor2d(batch.ids, [batch.B, batch.T], 'int32');
  const { rows, tensors } = memoryRows(memories, batch);
  const vars = model.weights.list();
  let gates = new Map<number, tf.Tensor3D>();
  let expertLoad: Int32Array[] = [];
  const { value, grads } = tf.engine().gradients(() => {
    const r = model.forward(ids, rows);
    gates = r.gates;
    expertLoad = r.expertLoad;
    const ce = crossEntropy(r.logits, batch.targets);
    return r.aux ? tf.add(ce, r.aux) : ce;
  }, [...vars, ...tensors]) as { value: tf.Scalar; grads: tf.Tensor[] };
  const loss = value.dataSync()[0];
  const gradNorm = Math.sqrt(grads.reduce((s, g) => s + squaredNorm(g), 0));
  const gateMean: Record<string, number> = {};
  for (const [l, g] of gates) {
    gateMean[l] = tf.tidy(() => tf.mean(g).dataSync()[0]);
    g.dispose();
  }
  const rowGrads = grads.slice(vars.length).map((g) => g.dataSync() as Float32Array);
  grads.slice(vars.length).forEach((g) => g.dispose());
  tf.dispose([ids, value, ...tensors]);
  return { loss, gradNorm, gateMean, backboneGrads: grads.slice(0, vars.length), rowGrads, expertLoad };
}

export interface StepSettings {
  lr: number;
  /** global gradient-norm clip (0: none); it scales the table rows' gradients too */
  clip: number;
  /** the tables learn at lr x memoryLrScale (paper: 5) */
  memoryLrScale: number;
  /** router bias nudge (docs/SPEC.md section 5); 0 without MoE */
  gamma: number;
}

export interface TrainStepResult {
  loss: number;
  gradNorm: number;
  gateMean: Record<string, number>;
  expertLoad: Int32Array[];
  /** a non-finite loss or gradient: nothing was updated */
  diverged: boolean;
}

/**
 * The one training step (trials and the benchmark both run it): forward + backward, clip by the
 * global norm (backbone and rows together), AdamW on the backbone, lazy Adam on the touched
 * table rows at lr x memoryLrScale, then the router bias from this step's load.
 */
export function trainStep(
  model: Transformer,
  memories: HashedMemory[],
  opt: AdamW,
  batch: Batch,
  s: StepSettings,
): TrainStepResult {
  const out = forwardBackward(model, memories, batch);
  const { loss, gradNorm, gateMean, expertLoad } = out;
  if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
    tf.dispose(out.backboneGrads);
    return { loss, gradNorm, gateMean, expertLoad, diverged: true };
  }
  const scale = s.clip > 0 && gradNorm > s.clip ? s.clip / gradNorm : 1;
  opt.step(model.weights.list(), out.backboneGrads, s.lr, scale);
  tf.dispose(out.backboneGrads);
  memories.forEach((m, i) => {
    if (scale !== 1) out.rowGrads[i].forEach((g, j, a) => (a[j] = g * scale));
    m.step(batch.hashIds[i], out.rowGrads[i], s.lr * s.memoryLrScale);
  });
  if (s.gamma > 0) model.routers.forEach((r, l) => updateBias(r, expertLoad[l], s.gamma));
  return { loss, gradNorm, gateMean, expertLoad, diverged: false };
}

/** sum(g^2): one native float64 pass when the addon is active, else two tf kernels. */
function squaredNorm(g: tf.Tensor): number {
  return sumOfSquares(g) ?? tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]);
}

/** Sum of token losses (nats) over a batch, no gradients. Also returns the gates when asked. */
export function evaluateBatch(model: Transformer, memories: HashedMemory[], batch: Batch, keepGates = false) {
  const ids = tf.tensor2d(batch.ids, [batch.B, batch.T], 'int32');
  const { rows, tensors } = memoryRows(memories, batch);
  const r = model.forward(ids, rows);
  const loss = tf.tidy(() => crossEntropy(r.logits, batch.targets).dataSync()[0]) * batch.B * batch.T;
  const gates = new Map<number, Float32Array>();
  for (const [l, g] of r.gates) {
    if (keepGates) gates.set(l, g.dataSync() as Float32Array);
    g.dispose();
  }
  tf.dispose([ids, r.logits, ...tensors]);
  if (r.aux) r.aux.dispose();
  return { lossSum: loss, gates };
}
