/**
 * The fixed benchmark models (issue 7), the same three as bench/peer_torch.py:
 *   dense-s : d 128, 4 layers, 4 heads, seq 128, batch 16, vocab 4096, SwiGLU hidden 384,
 *             RMSNorm, RoPE, untied head
 *   moe-s   : dense-s with 1 shared + 16 routed experts of hidden 96, top-2
 *   engram-s: moe-s plus one Engram layer at layer 1, orders 2-3, 4 heads per order, 64 dims per
 *             order, 1e5 slots per head table
 * The peer's Engram gate has no signed square root, so neither does ours here.
 */
import { InputError, show } from '../contract/errors.js';
import type { EngramConfig, ModelConfig, MoeConfig } from '../model/config.js';

export const BENCH_CONFIGS = ['dense-s', 'moe-s', 'engram-s'] as const;
export type BenchConfigName = (typeof BENCH_CONFIGS)[number];

export const BENCH_BATCH = 16;
export const BENCH_SLOTS = 100_000;

const DENSE: ModelConfig = {
  vocabSize: 4096,
  dModel: 128,
  nLayers: 4,
  nHeads: 4,
  seqLen: 128,
  ffnHidden: 384,
  ropeBase: 10000,
  normEps: 1e-6,
};

export const BENCH_MOE: MoeConfig = { shared: 1, routed: 16, topK: 2, expertHidden: 96, gamma: 1e-3, seqBalance: 0 };

export function benchEngram(slots: number = BENCH_SLOTS): EngramConfig {
  return {
    layerIds: [1],
    maxNgram: 3,
    headsPerNgram: 4,
    dimPerNgram: 64,
    baseSizes: [slots, slots],
    initStd: 0.02,
    seed: 0,
    kernelSize: 4,
    signedSqrt: false,
    hcMult: 1,
  };
}

/** The model of a benchmark config (slots: Engram base size per table, engram-s only). */
export function benchModel(name: string, slots?: number): ModelConfig {
  if (!(BENCH_CONFIGS as readonly string[]).includes(name)) {
    throw new InputError('--config', `${show(name)} is not a bench config; allowed: ${BENCH_CONFIGS.join(', ')}`);
  }
  if (name === 'dense-s') return { ...DENSE };
  if (name === 'moe-s') return { ...DENSE, moe: { ...BENCH_MOE } };
  return { ...DENSE, moe: { ...BENCH_MOE }, engram: benchEngram(slots) };
}

/** Parse a comma-separated --config list (default: all three). */
export function parseConfigs(list: string | undefined): BenchConfigName[] {
  if (list == null || list === '') return [...BENCH_CONFIGS];
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) benchModel(n);
  return names as BenchConfigName[];
}
