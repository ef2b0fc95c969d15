/**
 * The Redis executor's protocol (DESIGN: Execution): the keys, queue names and job payloads that
 * the coordinator (./coordinator.ts) and the workers (../worker.ts) agree on.
 */
import { CONFIG_FILE, GATES_FILE, METRICS_FILE } from '../../contract/files.js';
import type { TrialResult } from '../../contract/results.js';
import type { TrialConfig } from '../../train/config.js';
import type { SweepPlan, TrialMeta } from '../types.js';

/** Sorted set of live sweep queues (score: first registration time); workers serve them oldest first. */
export const REGISTRY_KEY = 'engram-sweep:queues';
/** The trial files a job carries back besides result.json (results contract). */
export const TRIAL_FILES = [CONFIG_FILE, METRICS_FILE, GATES_FILE] as const;

export interface TrialJobData {
  sweep: string;
  config: TrialConfig;
  meta: TrialMeta;
  /** sha256 of the coordinator's corpus (data/corpus.ts): a worker whose corpus differs refuses */
  corpusHash: string;
}

export interface TrialJobResult {
  result: TrialResult;
  /** TRIAL_FILES present in the worker's trial folder, by name */
  files: Partial<Record<(typeof TRIAL_FILES)[number], string>>;
  worker: string;
}

/** job.progress: the worker's trial process, at its start (step 0) and every second or so. */
export interface TrialJobProgress {
  worker: string;
  pid: number;
  step: number;
  steps: number;
  loss: number;
  tokensPerSec: number;
  rss: number;
  backend?: { name: string; native: boolean; threads: number };
}

/** One queue per sweep and spec: another spec under the same name never shares its jobs. */
export const queueName = (plan: Pick<SweepPlan, 'name' | 'specHash'>): string =>
  `engram-${plan.name}-${plan.specHash.replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}`;

/** failedReason "oom: ..." (worker.ts) -> reason and message; BullMQ's own reasons (stalls) are crashes. */
export function parseFailure(failedReason: string | undefined): {
  reason: 'crashed' | 'oom' | 'error';
  message: string;
} {
  const text = failedReason ?? 'failed without a reason';
  const m = /^(crashed|oom|error): ([\s\S]*)$/.exec(text);
  if (m) return { reason: m[1] as 'crashed' | 'oom' | 'error', message: m[2] };
  return { reason: /stalled/i.test(text) ? 'crashed' : 'error', message: text };
}

/** A job's return value has the shape of a TrialJobResult. */
export const isResult = (v: unknown): v is TrialJobResult => {
  const r = (v as TrialJobResult | null)?.result;
  return !!r && (r.status === 'ok' || r.status === 'failed') && typeof (v as TrialJobResult).files === 'object';
};
