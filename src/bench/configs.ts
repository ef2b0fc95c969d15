/**
 * The fixed benchmark models (issue 7; the -m size, issue 16), the same six as bench/peer_torch.py:
 *   dense-s : d 128, 4 layers, 4 heads, seq 128, batch 16, vocab 4096, SwiGLU hidden 384,
 *             RMSNorm, RoPE, untied head
 *   moe-s   : dense-s with 1 shared + 16 routed experts of hidden 96, top-2
 *   engram-s: moe-s plus one Engram layer at layer 1, orders 2-3, 4 heads per order, 64 dims per
 *             order, 1e5 slots per head table
 *   dense-m, moe-m, engram-m: the same one size up: d 256, 6 layers, 8 heads, seq 256, batch 8,
 *             vocab 8192, SwiGLU hidden 768, experts of hidden 192, 128 Engram dims per order
 * The peer's Engram gate has no signed square root, so neither does ours here.
 * The default list stays the -s three, so a plain `bench` keeps its cost.
 */
import { InputError, show } from '../contract/errors.js';
import type { EngramConfig, ModelConfig, MoeConfig } from '../model/config.js';

export const BENCH_CONFIGS = ['dense-s', 'moe-s', 'engram-s', 'dense-m', 'moe-m', 'engram-m'] as const;
export type BenchConfigName = (typeof BENCH_CONFIGS)[number];
/** What `bench` runs without --config. */
export const BENCH_DEFAULT_CONFIGS: readonly BenchConfigName[] = ['dense-s', 'moe-s', 'engram-s'];

/** The -s batch (a job without its own batch gets it). */
export const BENCH_BATCH = 16;
export const BENCH_SLOTS = 100_000;

type Size = 's' | 'm';

/** Per size: the dense model, the batch, the expert hidden width and the Engram dims per order. */
const SIZES: Record<Size, { model: ModelConfig; batch: number; expertHidden: number; dimPerNgram: number }> = {
  s: {
    model: {
      vocabSize: 4096,
      dModel: 128,
      nLayers: 4,
      nHeads: 4,
      seqLen: 128,
      ffnHidden: 384,
      ropeBase: 10000,
      normEps: 1e-6,
    },
    batch: BENCH_BATCH,
    expertHidden: 96,
    dimPerNgram: 64,
  },
  m: {
    model: {
      vocabSize: 8192,
      dModel: 256,
      nLayers: 6,
      nHeads: 8,
      seqLen: 256,
      ffnHidden: 768,
      ropeBase: 10000,
      normEps: 1e-6,
    },
    batch: 8,
    expertHidden: 192,
    dimPerNgram: 128,
  },
};

export const BENCH_MOE: MoeConfig = { shared: 1, routed: 16, topK: 2, expertHidden: 96, gamma: 1e-3, seqBalance: 0 };

export function benchEngram(slots: number = BENCH_SLOTS, dimPerNgram = 64): EngramConfig {
  return {
    layerIds: [1],
    maxNgram: 3,
    headsPerNgram: 4,
    dimPerNgram,
    baseSizes: [slots, slots],
    initStd: 0.02,
    seed: 0,
    kernelSize: 4,
    signedSqrt: false,
    hcMult: 1,
  };
}

function sizeOf(name: string): Size {
  if (!(BENCH_CONFIGS as readonly string[]).includes(name)) {
    throw new InputError('--config', `${show(name)} is not a bench config; allowed: ${BENCH_CONFIGS.join(', ')}`);
  }
  return name.endsWith('-m') ? 'm' : 's';
}

/** The model of a benchmark config (slots: Engram base size per table, engram-s/-m only). */
export function benchModel(name: string, slots?: number): ModelConfig {
  const z = SIZES[sizeOf(name)];
  const kind = name.split('-')[0];
  if (kind === 'dense') return { ...z.model };
  const moe = { ...BENCH_MOE, expertHidden: z.expertHidden };
  if (kind === 'moe') return { ...z.model, moe };
  return { ...z.model, moe, engram: benchEngram(slots, z.dimPerNgram) };
}

/** The batch of a benchmark config: 16 for -s, 8 for -m (as the peer derives it from --config). */
export function benchBatch(name: string): number {
  return SIZES[sizeOf(name)].batch;
}

/** Parse a comma-separated --config list (default: the three -s configs). */
export function parseConfigs(list: string | undefined): BenchConfigName[] {
  if (list == null || list === '') return [...BENCH_DEFAULT_CONFIGS];
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) benchModel(n);
  return names as BenchConfigName[];
}
