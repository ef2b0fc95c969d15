/**
 * What a trial needs that can be checked before anything is written (DESIGN: results contract):
 * its corpus exists and reads, and each hashed memory's host table has < 2^31 rows (global row ids
 * travel in Int32Arrays, src/memory/tables.ts). `train` and `run` call it before creating a folder,
 * so bad input is one line and exit 2, not an empty --out folder or N failed trials.
 */
import { checkCorpus } from '../data/corpus.js';
import { memoryTableSizes } from '../model/accounting.js';
import type { HashedMemoryConfig } from '../model/config.js';
import type { TrialConfig } from './config.js';

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
  for (const sizes of memoryTableSizes(m, layerIds).values()) rows = Math.max(rows, sizes.flat().reduce((s, p) => s + p, 0));
  return rows;
}

/** The first problem of a trial config that would fail it before training, or null. */
export function trialProblem(c: TrialConfig): TrialProblem | null {
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
        message: `gives a table of ${rows} rows (${m.headsPerNgram} heads per order, each a prime >= its base size); ` +
          `a table holds fewer than 2^31 = ${MAX_TABLE_ROWS} rows: lower the base sizes`,
      };
    }
  }
  return null;
}
