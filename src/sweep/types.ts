/**
 * The sweep engine's shared types: a sweep expands into trials, each a full trial config plus
 * the coordinates that place it on a chart. A trial's id is the hash of its resolved config
 * (src/train/trial-id.ts), so the same trial in two runs is the same folder.
 */
import type { TrialConfig } from '../train/config.js';

/**
 * overencoding: the backbone's OverEncoding as written (tokenWeight absent: the reference's mean);
 * overencoding-full: the same with tokenWeight 'full'; moe: the backbone without memory (in a
 * memory sweep, the no-memory reference: one trial per seed).
 */
export type Variant = 'engram' | 'overencoding' | 'overencoding-full' | 'moe' | 'dense';

export interface TrialMeta {
  /** allocation: budget x rho; memory: fixed backbone x slots; dense: reference point */
  kind: 'allocation' | 'memory' | 'dense';
  variant: Variant;
  seed: number;
  /** allocation trials */
  budget?: string;
  rho?: number;
  /** the rho the integer expert count really gives (fit on this one) */
  rhoActual?: number;
  /** the budget's P_tot, and (P_tot - target) / target */
  pTotTarget?: number;
  deviation?: number;
  /** memory trials, and allocation trials with Engram: slots M (base size summed over layers);
   *  absent for the no-memory reference (variant moe) */
  slots?: number;
}

export interface Trial {
  id: string;
  config: TrialConfig;
  meta: TrialMeta;
}

/** What a sweep needs to run: its name, its resolved spec's hash, and its trials. */
export interface SweepPlan {
  name: string;
  /** sha256 of the canonical resolved spec; another hash in the same folder is a new version of it */
  specHash: string;
  /** the spec file (absolute), recorded in sweep.json's history: another file claiming the folder is refused */
  file?: string;
  /** the resolved spec itself, written to sweep.json */
  spec: unknown;
  trials: Trial[];
  /** things the user should know that do not stop the sweep (e.g. two rho values, one model) */
  warnings: string[];
}
