/**
 * The model a trial trains, as plain data (JSON-serialisable, so a trial can run anywhere).
 * Names follow the paper: d (dModel), experts (shared, routed, topK), orders n = 2..maxNgram,
 * heads K per order, d_order = dimPerNgram, D_h = d_order / K, d_mem = (N - 1) * d_order.
 */
export interface MoeConfig {
  /** always-on experts (DeepSeekMoE) */
  shared: number;
  /** fine-grained routed experts */
  routed: number;
  /** activated routed experts per token */
  topK: number;
  /** SwiGLU hidden width of one expert */
  expertHidden: number;
  /** auxiliary-loss-free balancing: bias step per training step (docs/SPEC.md section 5) */
  gamma: number;
  /** weight of the optional sequence-wise balance loss; 0 turns it off */
  seqBalance: number;
}

export interface HashedMemoryConfig {
  /** max n-gram order N: orders 2..N */
  maxNgram: number;
  /** K: hash heads per order */
  headsPerNgram: number;
  /** d_order: dims per order, split over its K heads */
  dimPerNgram: number;
  /** one base table size per order (n = 2..N) */
  baseSizes: number[];
  /** std of the N(0, std^2) table init (the reference uses 1.0) */
  initStd: number;
  /** hashing seed (multipliers) */
  seed: number;
  /** explicit multipliers per layer id (decimal strings), else drawn from the seed */
  multipliers?: Record<string, string[]>;
}

export interface EngramConfig extends HashedMemoryConfig {
  /** 0-based block ids; Engram runs before the block's attention */
  layerIds: number[];
  /** short conv kernel width w (dilation = maxNgram) */
  kernelSize: number;
  /** the reference's s <- sign(s) sqrt(|s|) before the sigmoid */
  signedSqrt: boolean;
  /** hyper-connection branches (1 without hyper-connections) */
  hcMult: number;
}

/**
 * How OverEncoding's token embedding enters (docs/SPEC.md section 4.5): 'mean', the reference, divides the
 * token embedding and the (N-1)K projected rows together by 1 + (N-1)K; 'full' keeps the token
 * embedding at full weight and divides only the rows' sum by (N-1)K.
 */
export type TokenWeight = 'mean' | 'full';

export interface OverEncodingConfig extends HashedMemoryConfig {
  /** absent: 'mean' (so configs written before the setting existed keep their trial ids) */
  tokenWeight?: TokenWeight;
}

export interface ModelConfig {
  vocabSize: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  seqLen: number;
  /** dense SwiGLU hidden width (used when moe is absent) */
  ffnHidden: number;
  moe?: MoeConfig;
  engram?: EngramConfig;
  /** OverEncoding baseline: hashed n-gram embeddings averaged into the input embedding */
  overEncoding?: OverEncodingConfig;
  ropeBase: number;
  normEps: number;
}

export const dMem = (m: HashedMemoryConfig) => (m.maxNgram - 1) * m.dimPerNgram;
export const headDim = (m: HashedMemoryConfig) => m.dimPerNgram / m.headsPerNgram;
export const tablesPerPosition = (m: HashedMemoryConfig) => (m.maxNgram - 1) * m.headsPerNgram;
