/**
 * What a trial needs that can be checked before anything is written (DESIGN: results contract):
 * its corpus exists and reads, each hashed memory's host table has < 2^31 rows (global row ids
 * travel in Int32Arrays, src/memory/tables.ts), and its estimated peak memory fits in the
 * machine's. `train` and `run` call it before creating a folder, so bad input is one line and
 * exit 2, not an empty --out folder or N failed trials.
 */
import os from 'node:os';
import { checkCorpus } from '../data/corpus.js';
import { account, memoryTableSizes } from '../model/accounting.js';
import type { HashedMemoryConfig } from '../model/config.js';
import type { TrialConfig } from './config.js';
import { modelConfig } from './model-config.js';

/** What is wrong with one field of a trial config (its path in the config, e.g. "data.corpus"). */
export interface TrialProblem {
  field: string;
  value: unknown;
  message: string;
}

/** Rows a host table may hold: row ids are int32. */
export const MAX_TABLE_ROWS = 2 ** 31;

/**
 * The rows of the largest host table a memory makes (one table per Engram layer, or the
 * OverEncoding one): the sum of its prime table sizes, one per order and head. Each prime is at
 * least its base size, so a memory far over the limit is known without finding its primes.
 */
export function memoryRows(m: HashedMemoryConfig, layerIds: number[]): number {
  const lower = m.baseSizes.reduce((s, b) => s + b, 0) * m.headsPerNgram;
  if (lower >= MAX_TABLE_ROWS) return lower;
  let rows = 0;
  for (const sizes of memoryTableSizes(m, layerIds).values())
    rows = Math.max(
      rows,
      sizes.flat().reduce((s, p) => s + p, 0),
    );
  return rows;
}

/** The first problem of a trial config that would fail it before training, or null. */
export function trialProblem(c: TrialConfig, o: { memory?: boolean } = {}): TrialProblem | null {
  const corpus = checkCorpus(c.data.corpus);
  if (corpus) return { field: 'data.corpus', value: c.data.corpus, message: corpus };
  const mems: [string, HashedMemoryConfig | undefined, number[]][] = [
    ['engram', c.model.engram, c.model.engram?.layerIds ?? []],
    ['overEncoding', c.model.overEncoding, [0]],
  ];
  for (const [key, m, layers] of mems) {
    if (!m) continue;
    const rows = memoryRows(m, layers);
    if (rows >= MAX_TABLE_ROWS) {
      return {
        field: `model.${key}.baseSizes`,
        value: m.baseSizes,
        message:
          `gives a table of ${rows} rows (${m.headsPerNgram} heads per order, each a prime >= its base size); ` +
          `a table holds fewer than 2^31 = ${MAX_TABLE_ROWS} rows: lower the base sizes`,
      };
    }
  }
  // memory: this machine's, so only where the trial trains here (not on a remote worker)
  return o.memory === false ? null : memoryProblem(c);
}

/** A trial's estimated peak memory (bytes), by part. */
export interface MemoryEstimate {
  /** tfjs weights: value, gradient and two AdamW moments, float32 */
  backbone: number;
  /** host tables: value and two lazy-Adam moments, float32 (DESIGN: Compute) */
  tables: number;
  /** activations kept for the backward pass */
  activations: number;
  /** the process itself (Node, tfjs, the corpus) */
  base: number;
  total: number;
}

/**
 * What one trial process holds at its peak, roughly: the same estimate the local executor sizes
 * its workers with (src/sweep/local.ts estimateRss). The tables' term is an upper bound (the
 * moments' pages of rows never hit are not touched), so a trial it refuses cannot run.
 */
export function estimateMemory(c: TrialConfig): MemoryEstimate {
  const a = account(modelConfig(c));
  const m = c.model;
  const backbone = (a.pTot - a.pTables + a.pEmbedHead) * 16;
  const tables = a.pTables * 12;
  // per token, float32: a dozen d-wide tensors per layer, the FFN/expert hidden, attention
  // scores, logits/softmax/grad, gathered memory rows
  const ffn = m.moe ? (m.moe.shared + m.moe.topK) * m.moe.expertHidden : m.ffnHidden;
  let rows = 0;
  if (m.engram) rows += m.engram.layerIds.length * (m.engram.maxNgram - 1) * m.engram.dimPerNgram * 3;
  if (m.overEncoding) rows += (m.overEncoding.maxNgram - 1) * m.overEncoding.dimPerNgram * 3;
  const perToken = m.nLayers * (12 * m.dModel + 3 * ffn + 2 * m.nHeads * c.data.seqLen) + 3 * c.data.vocabSize + rows;
  const activations = c.train.batchSize * c.data.seqLen * perToken * 4;
  const base = 300e6;
  return { backbone, tables, activations, base, total: base + backbone + tables + activations };
}

/** The memory a trial may use: the machine's (ENGRAM_SWEEP_MEMORY_BYTES overrides, for tests). */
export function machineMemory(): number {
  const env = Number(process.env.ENGRAM_SWEEP_MEMORY_BYTES);
  return Number.isFinite(env) && env > 0 ? env : os.totalmem();
}

const gb = (b: number) => `${(b / 1e9).toFixed(b < 1e10 ? 2 : 1)} GB`;

/** The trial's estimated peak memory against the machine's: a problem naming the largest part. */
export function memoryProblem(c: TrialConfig, memory = machineMemory()): TrialProblem | null {
  const e = estimateMemory(c);
  if (e.total <= memory) return null;
  const m = c.model;
  const parts = `tables ${gb(e.tables)} + backbone with Adam moments ${gb(e.backbone)} + activations ${gb(e.activations)} + ${gb(e.base)} base`;
  const tail = `needs ~${gb(e.total)} at its peak (${parts}), more than this machine's ${gb(memory)} of memory`;
  const mem = m.engram ? 'engram' : m.overEncoding ? 'overEncoding' : null;
  if (mem && e.tables >= e.backbone && e.tables >= e.activations) {
    const cfg = m.engram ?? m.overEncoding!;
    return { field: `model.${mem}.baseSizes`, value: cfg.baseSizes, message: `${tail}: lower the base sizes` };
  }
  if (e.activations >= e.backbone)
    return {
      field: 'train.batchSize',
      value: c.train.batchSize,
      message: `${tail}: lower the batch size or data.seqLen`,
    };
  return { field: 'model.dModel', value: m.dModel, message: `${tail}: make the model smaller` };
}
