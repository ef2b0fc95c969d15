/**
 * Parameter accounting of docs/SPEC.md section 4: P_tot and P_act exclude the token embedding and the LM
 * head; routed experts are sparse except the topK a token uses; hashed-memory tables are sparse;
 * every projection, norm, conv and the router is active.
 */
import { tableSizes } from '../hash/primes.js';
import type { HashedMemoryConfig, ModelConfig } from './config.js';
import { headDim } from './config.js';
import { paramSpecs, size } from './params.js';

export interface Accounting {
  pTot: number;
  pAct: number;
  pSparse: number;
  /** token embedding + LM head, outside both budgets */
  pEmbedHead: number;
  /** routed experts, total (all of them) */
  pExperts: number;
  /** hashed-memory table parameters (Engram + OverEncoding) */
  pTables: number;
  /** memory slots M: base size summed over memory layers (docs/SPEC.md section 4) */
  slots: number;
  /** prime table sizes per memory layer id, [order][head]; OverEncoding under "overEncoding" */
  tableSizes: Record<string, number[][]>;
}

/** The prime sizes the hashing will really use, per layer id (docs/SPEC.md section 2.3). */
export function memoryTableSizes(m: HashedMemoryConfig, layerIds: number[]): Map<number, number[][]> {
  return tableSizes(m.baseSizes, layerIds, m.maxNgram, m.headsPerNgram);
}

export function account(c: ModelConfig): Accounting {
  let pTot = 0;
  let pAct = 0;
  let pEmbedHead = 0;
  let pExperts = 0;
  for (const p of paramSpecs(c)) {
    const n = size(p.shape);
    if (p.role === 'embed' || p.role === 'head') pEmbedHead += n;
    else if (p.role === 'active') {
      pTot += n;
      pAct += n;
    } else if (p.role === 'expert') {
      pTot += n;
      pExperts += n;
      pAct += (n / p.experts!) * c.moe!.topK;
    }
  }
  const sizes: Record<string, number[][]> = {};
  let pTables = 0;
  let slots = 0;
  const addTables = (key: string, m: HashedMemoryConfig, t: number[][]) => {
    sizes[key] = t;
    pTables += t.flat().reduce((a, b) => a + b, 0) * headDim(m);
    slots += m.baseSizes[0];
  };
  if (c.engram) {
    for (const [id, t] of memoryTableSizes(c.engram, c.engram.layerIds)) addTables(String(id), c.engram, t);
  }
  if (c.overEncoding) {
    // OverEncoding hashes as layer id 0 (docs/SPEC.md section 4.5)
    addTables('overEncoding', c.overEncoding, memoryTableSizes(c.overEncoding, [0]).get(0)!);
  }
  pTot += pTables;
  return { pTot, pAct, pSparse: pTot - pAct, pEmbedHead, pExperts, pTables, slots, tableSizes: sizes };
}
