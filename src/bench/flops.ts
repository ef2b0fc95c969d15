/**
 * Training FLOPs per token, to say how close a step runs to the matmul peak: 6 per active weight
 * (2 forward, 4 backward; the LM head included, the embedding lookup not), plus the attention
 * products QK^T and PV, 12 L T d per token over the full T x T that the fused kernel computes:
 * deliberately twice the causal count of Kaplan et al. 2020 ("Scaling Laws for Neural Language
 * Models", table 1: 6 L T d for training), since the kernel does that work. Norms, the router's
 * top-k, gathers and the tables' lookups are counted as weights or not at all: a few percent.
 */
import { account } from '../model/accounting.js';
import type { ModelConfig } from '../model/config.js';

export function trainFlopsPerToken(m: ModelConfig): number {
  const head = m.dModel * m.vocabSize;
  return 6 * (account(m).pAct + head) + 12 * m.nLayers * m.seqLen * m.dModel;
}
