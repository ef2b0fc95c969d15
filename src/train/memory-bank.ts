/**
 * The hashed memories of one model (Engram layers, OverEncoding) on the host: per memory, its
 * multipliers and prime table sizes (docs/SPEC.md section 2), its table and lazy Adam (src/memory).
 * Per step: ids -> hash indices -> gathered rows -> graph -> row gradients -> SparseAdam.
 */
import { computeMix, mixToIndices } from '../hash/ngram.js';
import { layerMultipliers, validateMultipliers } from '../hash/multipliers.js';
import { gatherRows } from '../memory/gather.js';
import { SparseAdam } from '../memory/sparse-adam.js';
import { HostTable } from '../memory/tables.js';
import { memoryTableSizes } from '../model/accounting.js';
import type { HashedMemoryConfig, ModelConfig } from '../model/config.js';
import { headDim, tablesPerPosition } from '../model/config.js';

export class HashedMemory {
  readonly multipliers: bigint[];
  readonly sizes: number[][]; // [order][head] primes
  readonly table: HostTable;
  readonly adam: SparseAdam;
  readonly tablesPerPos: number;

  constructor(
    /** Engram layer id, or "overEncoding" */
    readonly key: number | 'overEncoding',
    readonly config: HashedMemoryConfig,
    sizes: number[][],
    /** |V'| of the compressed vocabulary */
    vocabSize: number,
    seed: number,
    betas: [number, number] = [0.9, 0.999],
  ) {
    const hashLayer = key === 'overEncoding' ? 0 : key; // OverEncoding hashes as layer 0 (docs/SPEC.md section 4)
    const given = config.multipliers?.[String(hashLayer)];
    this.multipliers = given
      ? given.map((s) => BigInt(s))
      : layerMultipliers(vocabSize, config.seed, hashLayer, config.maxNgram);
    if (given) validateMultipliers(this.multipliers, config.maxNgram, `multipliers.${hashLayer}`);
    this.sizes = sizes;
    this.tablesPerPos = tablesPerPosition(config);
    // the init stream depends on the trial seed and the memory, never on the other memories
    const initSeed = (seed * 1_000_003 + (key === 'overEncoding' ? 999 : key) * 7919) >>> 0;
    this.table = new HostTable(sizes.flat(), headDim(config), { initStd: config.initStd, seed: initSeed });
    this.adam = new SparseAdam(this.table, { beta1: betas[0], beta2: betas[1], eps: 1e-8 });
  }

  /** compressed ids [B*T] -> per-table hash indices [B*T*(N-1)K] */
  indices(compressed: Int32Array, B: number, T: number, pad: number): Int32Array {
    return mixToIndices(computeMix(compressed, B, T, pad, this.multipliers, this.config.maxNgram), this.sizes);
  }

  /** rows e_t: [B*T, d_mem] */
  gather(hashIds: Int32Array): Float32Array {
    return gatherRows(this.table, hashIds, this.tablesPerPos);
  }

  step(hashIds: Int32Array, gradRows: Float32Array, lr: number): void {
    this.adam.step(hashIds, this.tablesPerPos, gradRows, lr);
  }
}

/** All memories of a model, with table sizes allocated globally across Engram layers. */
export function buildMemories(
  c: ModelConfig,
  vocabSize: number,
  seed: number,
  betas?: [number, number],
): HashedMemory[] {
  const out: HashedMemory[] = [];
  if (c.engram) {
    for (const [id, sizes] of memoryTableSizes(c.engram, c.engram.layerIds)) {
      out.push(new HashedMemory(id, c.engram, sizes, vocabSize, seed, betas));
    }
  }
  if (c.overEncoding) {
    out.push(
      new HashedMemory(
        'overEncoding',
        c.overEncoding,
        memoryTableSizes(c.overEncoding, [0]).get(0)!,
        vocabSize,
        seed,
        betas,
      ),
    );
  }
  return out;
}
