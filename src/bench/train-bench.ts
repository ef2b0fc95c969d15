/**
 * One benchmark run in this process: build a bench model, train it for N steps on one fixed
 * synthetic batch (as bench/peer_torch.py does) with the trainer's own step (trainStep:
 * forward/backward, gradient norm and clipping, AdamW, the tables' lazy Adam, the router bias), and report the
 * median step after the first two. Run each config in its own process (child.ts): the peak RSS
 * is the process's.
 */
import { type BackendChoice, initBackend, nativeInfo, registerNativeKernels } from '../backend/index.js';
import type { ModelConfig } from '../model/config.js';
import { Transformer } from '../model/transformer.js';
import { AdamW } from '../train/adamw.js';
import { buildMemories } from '../train/memory-bank.js';
import { type Batch, trainStep } from '../train/step.js';
import { BENCH_BATCH } from './configs.js';
import { installKernelProfiler, profilePerStep } from './profile.js';

export interface TrainBenchJob {
  /** the name reported (dense-s, ...) */
  config: string;
  model: ModelConfig;
  /** sequences per step; absent: BENCH_BATCH (16, the -s batch) */
  batch?: number;
  steps: number;
  threads: number;
  backend: BackendChoice;
  /** time kernels (cheap: one performance.now() pair per kernel call) */
  profile: boolean;
}

export interface BenchResult {
  config: string;
  backend: string;
  native: boolean;
  threads: number;
  steps: number;
  tokensPerSec: number;
  msPerStep: number;
  /** CPU time of this process per step (all threads): steadier than wall time on a busy machine */
  cpuMsPerStep: number;
  tokensPerCpuSec: number;
  peakRssBytes: number;
  /** kernel ms per step, mean over the timed steps */
  profile: Record<string, number>;
  blas: string | null;
  lossFirst: number;
  lossLast: number;
}

/** The peer's synthetic data: one fixed [B, T + 1] window of token ids (an LCG here). */
export function syntheticBatch(
  B: number,
  T: number,
  vocab: number,
  seed = 0,
): { ids: Int32Array; targets: Int32Array } {
  const ids = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  let s = (seed * 2654435761 + 12345) >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  };
  for (let b = 0; b < B; b++) {
    let prev = next();
    for (let t = 0; t < T; t++) {
      ids[b * T + t] = prev;
      prev = next();
      targets[b * T + t] = prev;
    }
  }
  return { ids, targets };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

export async function runTrainBench(job: TrainBenchJob): Promise<BenchResult> {
  const backend = await initBackend(job.backend);
  if (backend.native) registerNativeKernels({ threads: job.threads });
  const profiler = job.profile ? installKernelProfiler(backend.name) : null;
  const c = job.model;
  const B = job.batch ?? BENCH_BATCH;
  const T = c.seqLen;
  const model = new Transformer(c, 0);
  // the peer updates tables with lr 5e-3 = 5 x the backbone's 1e-3, as the trainer's memoryLrScale
  const memories = buildMemories(c, c.vocabSize, 0, [0.9, 0.999]);
  const opt = new AdamW({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
  const { ids, targets } = syntheticBatch(B, T, c.vocabSize);
  // the peer's settings: lr 1e-3, clip 1, tables at 5 x lr
  const settings = { lr: 1e-3, clip: 1, memoryLrScale: 5, gamma: c.moe?.gamma ?? 0 };
  const wall: number[] = [];
  const cpu: number[] = [];
  const losses: number[] = [];
  for (let step = 0; step < job.steps; step++) {
    if (step === 2) profiler?.reset();
    const w0 = performance.now();
    const c0 = cpuMs();
    // hashing is part of every step, as in a trial (the peer hashes inside its forward)
    const batch: Batch = { B, T, ids, targets, hashIds: memories.map((m) => m.indices(ids, B, T, 0)) };
    const out = trainStep(model, memories, opt, batch, settings);
    wall.push(performance.now() - w0);
    cpu.push(cpuMs() - c0);
    losses.push(out.loss);
  }
  const timed = wall.slice(2);
  const ms = median(timed.length ? timed : wall);
  const cms = median(cpu.length > 2 ? cpu.slice(2) : cpu);
  const meanMs = timed.reduce((a, b) => a + b, 0) / Math.max(1, timed.length);
  const blas = nativeInfo().blas;
  opt.dispose();
  model.dispose();
  return {
    config: job.config,
    backend: backend.name,
    native: backend.native,
    threads: backend.native ? backend.threads : job.threads,
    steps: job.steps,
    tokensPerSec: Math.round((B * T * 1000) / ms),
    msPerStep: Math.round(ms * 10) / 10,
    cpuMsPerStep: Math.round(cms * 10) / 10,
    tokensPerCpuSec: Math.round((B * T * 1000) / cms),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    profile: profiler ? profilePerStep(profiler.snapshot(), Math.max(1, timed.length), meanMs) : {},
    blas: blas ? `${blas.config} (core ${blas.corename})` : null,
    lossFirst: Math.round(losses[0] * 1e4) / 1e4,
    lossLast: Math.round(losses[losses.length - 1] * 1e4) / 1e4,
  };
}
