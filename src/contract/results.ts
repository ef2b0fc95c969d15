/**
 * The results contract (DESIGN.md): the shapes of the files a trial folder holds. Every stage
 * that reads or writes them imports these types from here.
 */

/** One horizon of a horizons trial: the cooldown branch that ends at `tokens`, evaluated in full. */
export interface HorizonResult {
  /** training tokens at the end of the branch (whole steps x batch x seqLen) */
  tokens: number;
  /** the step the branch ends at (its horizon in steps) */
  step: number;
  valLoss: number;
  valBpb: number;
  /** wall-clock seconds from the trial's start to this branch's evaluation */
  seconds: number;
}

/** result.json: written last and atomically; its presence means the trial finished. */
export interface TrialResult {
  status: 'ok' | 'failed';
  reason?: 'diverged' | 'crashed' | 'oom' | 'error';
  message?: string;
  step?: number;
  /** the longest horizon's loss for a horizons trial */
  valLoss: number | null;
  valBpb: number | null;
  /** the train split's unigram model on the same validation tokens: the loss to beat */
  unigramValLoss?: number;
  tokens: number;
  seconds: number;
  backend: string;
  native: boolean;
  threads: number;
  /** horizons trials only, in increasing tokens */
  horizons?: HorizonResult[];
  /** the step the trial resumed from (a branch-point snapshot), when it did */
  resumedFrom?: number;
}

/**
 * One line of metrics.jsonl. Steps of a cooldown branch carry `branch` (the branch's horizon in
 * tokens); the stable trunk's steps carry none. Step numbers of a branch overlap the trunk's
 * later steps: a reader drawing the trunk filters on `branch === undefined`. The last row of a
 * branch carries its full validation (valLoss, valBpb) and `horizon: true`.
 */
export interface MetricsRow {
  step: number;
  tokens: number;
  lr: number;
  loss: number;
  valLoss?: number;
  valBpb?: number;
  tokensPerSec: number;
  msPerStep: number;
  /** per MoE layer, the fraction of routed slots each expert received in this training step */
  expertLoad?: number[][];
  /** mean Engram gate per layer id */
  gateMean?: Record<string, number>;
  branch?: number;
  horizon?: true;
}
