/**
 * result.json: the trial's outcome, written last and atomically: its presence means the trial
 * finished (ok or failed). One builder (buildResult: the key order and the run's fields), one
 * writer (writeResult) and one reader (readResult).
 */
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic.js';
import { InputError } from './errors.js';
import { RESULT_FILE } from './files.js';
import { isObject, readJsonIf, readJsonQuiet } from './json.js';
import type { HorizonResult, TrialResult } from './results.js';

export type FailureReason = NonNullable<TrialResult['reason']>;

/** Where a trial ran: the backend, whether the native addon was on, and its threads. */
export interface RunBackend {
  name: string;
  native: boolean;
  threads: number;
}

/** What the trial came to: its status and losses (the run's fields come from ResultRun). */
export interface ResultOutcome {
  status: 'ok' | 'failed';
  reason?: FailureReason;
  message?: string;
  /** the step a failed trial stopped at */
  step?: number;
  valLoss?: number | null;
  valBpb?: number | null;
  /** training tokens seen (0 when not given) */
  tokens?: number;
  horizons?: HorizonResult[];
  resumedFrom?: number;
}

export interface ResultRun {
  backend: RunBackend;
  /** wall-clock seconds of the trial */
  seconds: number;
  unigramValLoss?: number;
}

/**
 * A result.json value. Keys in one order (fields left undefined are left out): status, reason,
 * message, step, valLoss, valBpb, unigramValLoss, tokens, seconds, backend, native, threads,
 * horizons, resumedFrom.
 */
export function buildResult(o: ResultOutcome, run: ResultRun): TrialResult {
  const r: TrialResult = {
    status: o.status,
    reason: o.reason,
    message: o.message,
    step: o.step,
    valLoss: o.valLoss ?? null,
    valBpb: o.valBpb ?? null,
    unigramValLoss: run.unigramValLoss,
    tokens: o.tokens ?? 0,
    seconds: run.seconds,
    backend: run.backend.name,
    native: run.backend.native,
    threads: run.backend.threads,
    horizons: o.horizons,
    resumedFrom: o.resumedFrom,
  };
  for (const k of Object.keys(r) as (keyof TrialResult)[]) if (r[k] === undefined) delete r[k];
  return r;
}

/** A failed trial's result (crashed, out of memory, error, diverged): no losses. */
export function failedResult(
  f: { reason: FailureReason; message?: string; step?: number; tokens?: number; seconds: number },
  backend: RunBackend,
): TrialResult {
  const { reason, message, step, tokens, seconds } = f;
  return buildResult({ status: 'failed', reason, message, step, tokens }, { backend, seconds });
}

/** Write <dir>/result.json atomically (temp file + rename); dir is the trial folder. */
export function writeResult(dir: string, result: TrialResult): void {
  if (result.status !== 'ok' && result.status !== 'failed') {
    throw new Error(`result.json: status must be "ok" or "failed", not ${String(result.status)}`);
  }
  writeJsonAtomic(join(dir, RESULT_FILE), result);
}

const isResult = (v: unknown): v is TrialResult => isObject(v) && (v.status === 'ok' || v.status === 'failed');

/**
 * <dir>/result.json (dir: the trial folder), or null when absent. Damage (malformed JSON, no
 * status "ok" | "failed") also reads as null (the trial is unfinished and runs again), unless
 * `strict`: then it is an InputError naming the file (readers of finished results: tables,
 * bundle, report, fits).
 */
export function readResult(dir: string, opts: { strict?: boolean } = {}): TrialResult | null {
  const file = join(dir, RESULT_FILE);
  if (!opts.strict) {
    const r = readJsonQuiet(file);
    return isResult(r) ? r : null;
  }
  const r = readJsonIf(file);
  if (r === null) return null;
  if (!isResult(r)) throw new InputError(file, 'is not a trial result: needs "status": "ok" or "failed"', 'status');
  return r;
}
