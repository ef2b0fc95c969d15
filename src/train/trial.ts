/**
 * One trial end to end: data -> model -> optimiser loop -> evaluation -> the files of the
 * results contract (DESIGN.md): config.json, metrics.jsonl, gates.json (Engram), and result.json
 * last, atomically: its presence means the trial finished, ok or failed.
 */
import * as tf from '@tensorflow/tfjs';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildCompression, compressIds } from '../data/compress.js';
import { prepareDataset, windowInto, type Dataset } from '../data/dataset.js';
import { vocabFromHfTokenizerJson } from '../data/vocab.js';
import { toTokenizerJson } from '../data/bpe/tokenizer-json.js';
import { account, type Accounting } from '../model/accounting.js';
import { updateBias } from '../model/moe.js';
import { Transformer } from '../model/transformer.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { Progress } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import { AdamW } from './adamw.js';
import type { TrialConfig } from './config.js';
import { buildMemories, type HashedMemory } from './memory-bank.js';
import { modelConfig } from './model-config.js';
import { learningRate } from './schedule.js';
import { evaluateBatch, forwardBackward, type Batch } from './step.js';

export interface TrialResult {
  status: 'ok' | 'failed';
  reason?: 'diverged' | 'crashed' | 'oom' | 'error';
  message?: string;
  step?: number;
  valLoss: number | null;
  valBpb: number | null;
  /** the train split's unigram model on the same validation tokens: the loss to beat */
  unigramValLoss?: number;
  tokens: number;
  seconds: number;
  backend: string;
  native: boolean;
  threads: number;
}

export interface RunOptions {
  /** trial folder; files are written here */
  dir: string;
  backend: { name: string; native: boolean; threads: number };
  log?: (line: string) => void;
  /** progress bar / lines on stderr */
  progress?: boolean;
  /** sweep coordinates (rho, budget, seed, ...), recorded in config.json */
  meta?: Record<string, unknown>;
  /** called after every step (a sweep executor forwards it as progress) */
  onStep?: (s: { step: number; steps: number; loss: number; tokensPerSec: number }) => void;
}

interface Context {
  c: TrialConfig;
  data: Dataset;
  model: Transformer;
  memories: HashedMemory[];
  /** compressed ids of the train stream and the validation windows (hash input) */
  trainC: Int32Array;
  valC: Int32Array;
  pad: number;
}

export async function runTrial(c: TrialConfig, o: RunOptions): Promise<TrialResult> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  mkdirSync(o.dir, { recursive: true });
  const metricsFile = join(o.dir, 'metrics.jsonl');
  rmSync(metricsFile, { force: true });
  const base = { backend: o.backend.name, native: o.backend.native, threads: o.backend.threads };
  const ctx = await setup(c, log);
  const accounting = account(ctx.model.config);
  writeJsonAtomic(join(o.dir, 'config.json'), { ...c, meta: o.meta, accounting, data: { ...c.data, stats: ctx.data.stats } });
  log(describe(accounting));
  const finish = (r: Omit<TrialResult, keyof typeof base | 'seconds'>): TrialResult => {
    const result: TrialResult = { ...r, ...base, unigramValLoss: ctx.data.stats.unigramValLoss, seconds: (Date.now() - t0) / 1000 };
    writeJsonAtomic(join(o.dir, 'result.json'), result);
    ctx.model.dispose();
    return result;
  };
  const { B, T } = { B: c.train.batchSize, T: c.data.seqLen };
  const order = batchOrder(ctx.data.trainWindows, c.train.seed);
  const opt = new AdamW({ beta1: c.train.beta1, beta2: c.train.beta2, eps: 1e-8, weightDecay: c.train.weightDecay });
  const bar = o.progress ? new Progress('train', c.train.steps) : null;
  let tokens = 0;
  let lastVal: number | null = null;
  for (let step = 0; step < c.train.steps; step++) {
    const ts = Date.now();
    const batch = trainBatch(ctx, order, step, B, T);
    const out = forwardBackward(ctx.model, ctx.memories, batch);
    if (!Number.isFinite(out.loss) || !Number.isFinite(out.gradNorm)) {
      tf.dispose(out.backboneGrads);
      opt.dispose();
      return finish({ status: 'failed', reason: 'diverged', step, valLoss: null, valBpb: null, tokens });
    }
    const lr = learningRate(step, c.train);
    const scale = c.train.clip > 0 && out.gradNorm > c.train.clip ? c.train.clip / out.gradNorm : 1;
    opt.step(ctx.model.weights.list(), out.backboneGrads, lr, scale);
    tf.dispose(out.backboneGrads);
    ctx.memories.forEach((m, i) => {
      if (scale !== 1) out.rowGrads[i].forEach((g, j, a) => (a[j] = g * scale));
      m.step(batch.hashIds[i], out.rowGrads[i], lr * c.train.memoryLrScale);
    });
    if (c.model.moe) for (const r of ctx.model.routers) updateBias(r, c.model.moe.gamma);
    tokens += B * T;
    const ms = Date.now() - ts;
    const last = step === c.train.steps - 1;
    const evalNow = last || (c.train.evalEvery > 0 && (step + 1) % c.train.evalEvery === 0);
    if (evalNow) lastVal = evaluate(ctx, B).loss;
    if (evalNow || step % c.train.logEvery === 0) {
      const row = { step: step + 1, tokens, lr, loss: out.loss, ...(evalNow ? { valLoss: lastVal } : {}), tokensPerSec: (B * T * 1000) / ms, msPerStep: ms, ...extras(ctx, out.gateMean) };
      appendFileSync(metricsFile, JSON.stringify(row) + '\n');
    }
    bar?.update(step + 1, `loss ${out.loss.toFixed(3)} ${Math.round((B * T * 1000) / ms)} tok/s`);
    o.onStep?.({ step: step + 1, steps: c.train.steps, loss: out.loss, tokensPerSec: (B * T * 1000) / ms });
  }
  opt.dispose();
  const val = evaluate(ctx, B);
  if (c.model.engram) writeJsonAtomic(join(o.dir, 'gates.json'), gateExcerpt(ctx));
  bar?.done(`val ${val.loss.toFixed(4)} nats`);
  return finish({ status: 'ok', valLoss: val.loss, valBpb: val.bpb, tokens });
}

async function setup(c: TrialConfig, log: (l: string) => void): Promise<Context> {
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

/** One seed fixes the batch order for every trial of a sweep (common random numbers). */
function batchOrder(windows: number, seed: number): Int32Array {
  const order = Int32Array.from({ length: windows }, (_, i) => i);
  Rng.named(seed, 'batch-order').shuffle(order);
  return order;
}

function makeBatch(ctx: Context, stream: Int32Array, streamC: Int32Array, windows: number[], T: number): Batch {
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

function trainBatch(ctx: Context, order: Int32Array, step: number, B: number, T: number): Batch {
  const w = Array.from({ length: B }, (_, b) => order[(step * B + b) % order.length]);
  return makeBatch(ctx, ctx.data.train, ctx.trainC, w, T);
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

function extras(ctx: Context, gateMean: Record<string, number>) {
  const out: Record<string, unknown> = {};
  if (ctx.model.routers.length) out.expertLoad = ctx.model.routers.map((r) => Array.from(r.load));
  if (Object.keys(gateMean).length) out.gateMean = gateMean;
  return out;
}

/** A fixed validation excerpt (the first window): its tokens and the gate per layer and branch. */
function gateExcerpt(ctx: Context) {
  const T = ctx.data.seqLen;
  const { gates } = evaluateBatch(ctx.model, ctx.memories, makeBatch(ctx, ctx.data.val, ctx.valC, [0], T), true);
  const tokens = Array.from(ctx.data.val.subarray(0, T), (id) => ctx.data.tokenizer.decode([id]));
  const layers: Record<string, number[][]> = {};
  const hc = ctx.c.model.engram?.hcMult ?? 1;
  for (const [l, g] of gates) layers[l] = Array.from({ length: T }, (_, t) => Array.from(g.subarray(t * hc, t * hc + hc)));
  return { tokens, layers };
}

function describe(a: Accounting): string {
  const m = (n: number) => (n / 1e6).toFixed(3) + 'M';
  return `params: P_tot ${m(a.pTot)}, P_act ${m(a.pAct)}, P_sparse ${m(a.pSparse)}, tables ${m(a.pTables)}, slots ${a.slots}, embed+head ${m(a.pEmbedHead)}`;
}
