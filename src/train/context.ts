/**
 * What a trial trains on: the dataset, the model, its memories and the compressed streams, and the
 * batches and full validation passes over them. Data order is a function of (seed, step).
 */
import { buildCompression, compressIds } from '../data/compress.js';
import { prepareDataset, windowInto, type Dataset } from '../data/dataset.js';
import { vocabFromHfTokenizerJson } from '../data/vocab.js';
import { toTokenizerJson } from '../data/bpe/tokenizer-json.js';
import type { Accounting } from '../model/accounting.js';
import { Transformer } from '../model/transformer.js';
import { Rng } from '../util/rng.js';
import type { TrialConfig } from './config.js';
import { buildMemories, type HashedMemory } from './memory-bank.js';
import { modelConfig } from './model-config.js';
import { evaluateBatch, type Batch } from './step.js';

export interface Context {
  c: TrialConfig;
  data: Dataset;
  model: Transformer;
  memories: HashedMemory[];
  /** compressed ids of the train stream and the validation windows (hash input) */
  trainC: Int32Array;
  valC: Int32Array;
  pad: number;
}

export async function setup(c: TrialConfig, log: (l: string) => void): Promise<Context> {
  const data = await prepareDataset(c.data, log);
  const vocab = vocabFromHfTokenizerJson(toTokenizerJson(data.tokenizer), 'tokenizer');
  const compression = buildCompression(vocab);
  const model = new Transformer(modelConfig(c), c.train.seed);
  // tables take the backbone's betas (as the pilot); lr x memoryLrScale, no weight decay (paper)
  const memories = buildMemories(model.config, compression.size, c.train.seed, [c.train.beta1, c.train.beta2]);
  return {
    c,
    data,
    model,
    memories,
    trainC: memories.length ? compressIds(compression, data.train, 'train') : data.train,
    valC: memories.length ? compressIds(compression, data.val, 'val') : data.val,
    pad: compression.map[data.tokenizer.eotId],
  };
}

/**
 * One seed fixes the batch order for every trial of a sweep (common random numbers). Each pass
 * over the training windows (epoch) has its own order: epoch 0 keeps the stream it always had,
 * later epochs draw from streams named by their number.
 */
export function batchOrder(windows: number, seed: number, epoch: number): Int32Array {
  const order = Int32Array.from({ length: windows }, (_, i) => i);
  Rng.named(seed, epoch === 0 ? 'batch-order' : `batch-order:${epoch}`).shuffle(order);
  return order;
}

export function makeBatch(ctx: Context, stream: Int32Array, streamC: Int32Array, windows: number[], T: number): Batch {
  const B = windows.length;
  const ids = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const comp = new Int32Array(B * T);
  const scratch = new Int32Array(B * T);
  windows.forEach((w, row) => {
    windowInto(stream, w, T, ids, targets, row);
    windowInto(streamC, w, T, comp, scratch, row);
  });
  return { B, T, ids, targets, hashIds: ctx.memories.map((m) => m.indices(comp, B, T, ctx.pad)) };
}

/** The windows of training step `step`: positions step*B .. step*B + B - 1 of the epoch orders. */
export function trainBatch(ctx: Context, orders: Map<number, Int32Array>, step: number, B: number, T: number): Batch {
  return makeBatch(
    ctx,
    ctx.data.train,
    ctx.trainC,
    stepWindows(ctx.data.trainWindows, ctx.c.train.seed, orders, step, B),
    T,
  );
}

/** The training windows of step `step` (n windows per epoch, B per step): what trainBatch draws. */
export function stepWindows(
  n: number,
  seed: number,
  orders: Map<number, Int32Array>,
  step: number,
  B: number,
): number[] {
  return Array.from({ length: B }, (_, b) => {
    const i = step * B + b;
    const epoch = Math.floor(i / n);
    let order = orders.get(epoch);
    if (!order) orders.set(epoch, (order = batchOrder(n, seed, epoch)));
    return order[i % n];
  });
}

/** Mean validation loss in nats per token over the fixed windows, and bits per byte. */
export function evaluate(ctx: Context, B: number): { loss: number; bpb: number } {
  const T = ctx.data.seqLen;
  let sum = 0;
  for (let w0 = 0; w0 < ctx.data.valWindows; w0 += B) {
    const ws = Array.from({ length: Math.min(B, ctx.data.valWindows - w0) }, (_, i) => w0 + i);
    sum += evaluateBatch(ctx.model, ctx.memories, makeBatch(ctx, ctx.data.val, ctx.valC, ws, T)).lossSum;
  }
  const tokens = ctx.data.valWindows * T;
  return { loss: sum / tokens, bpb: sum / Math.LN2 / ctx.data.stats.valBytes };
}

/** The optional fields of a metrics row: this training step's expert load and mean gates. */
export function extras(expertLoad: Int32Array[], gateMean: Record<string, number>) {
  const out: { expertLoad?: number[][]; gateMean?: Record<string, number> } = {};
  if (expertLoad.length) out.expertLoad = expertLoad.map((l) => Array.from(l));
  if (Object.keys(gateMean).length) out.gateMean = gateMean;
  return out;
}

/** A fixed validation excerpt (the first window): its tokens and the gate per layer and branch. */
export function gateExcerpt(ctx: Context) {
  const T = ctx.data.seqLen;
  const { gates } = evaluateBatch(ctx.model, ctx.memories, makeBatch(ctx, ctx.data.val, ctx.valC, [0], T), true);
  const tokens = Array.from(ctx.data.val.subarray(0, T), (id) => ctx.data.tokenizer.decode([id]));
  const layers: Record<string, number[][]> = {};
  const hc = ctx.c.model.engram?.hcMult ?? 1;
  for (const [l, g] of gates)
    layers[l] = Array.from({ length: T }, (_, t) => Array.from(g.subarray(t * hc, t * hc + hc)));
  return { tokens, layers };
}

export function describe(a: Accounting): string {
  const m = (n: number) => (n / 1e6).toFixed(3) + 'M';
  return `params: P_tot ${m(a.pTot)}, P_act ${m(a.pAct)}, P_sparse ${m(a.pSparse)}, tables ${m(a.pTables)}, slots ${a.slots}, embed+head ${m(a.pEmbedHead)}`;
}
