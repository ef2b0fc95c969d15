/**
 * Where a sweep stands, from its results folder alone (no spec file needed): sweep.json lists the
 * trials; result.json marks done or failed; a trial with metrics (or, on a remote worker, a
 * progress.json) but no result is running while a live coordinator holds the folder's lock, else
 * pending (the next run starts it from step 0, or from its last branch-point snapshot).
 */
import { join } from 'node:path';
import { InputError } from '../contract/errors.js';
import { METRICS_FILE } from '../contract/files.js';
import { lastMetricsRow } from '../contract/metrics.js';
import {
  lockAlive,
  readLock,
  readProgress,
  readResult,
  readSweepRecord,
  SWEEP_FILE,
  trialDir,
  type LockInfo,
} from './store.js';
import type { TrialMeta } from './types.js';
import { snapshotStep } from '../train/snapshot.js';

export type TrialState = 'done' | 'failed' | 'running' | 'pending';

export interface TrialStatus {
  id: string;
  status: TrialState;
  meta: TrialMeta;
  steps: number;
  /** last logged step and its training loss (metrics.jsonl); null before the first */
  step: number | null;
  /** pending trials with progress: the step the next run starts from (0, or a snapshot's) */
  resumesAt?: number;
  loss: number | null;
  tokensPerSec: number | null;
  /** done trials: result.json's valLoss */
  valLoss: number | null;
  reason?: string;
  message?: string;
  seconds?: number;
}

export interface SweepStatus {
  name: string;
  dir: string;
  specHash: string;
  created: string;
  updated: string;
  /** the live coordinator holding the folder, or null */
  lock: LockInfo | null;
  counts: Record<TrialState, number>;
  trials: TrialStatus[];
}

/** The contract's last-row reader, under its old name here (test/sweep/store.test.ts uses it). */
export { lastMetricsRow as lastMetrics } from '../contract/metrics.js';

export function sweepStatus(dir: string): SweepStatus {
  const record = readSweepRecord(dir);
  if (!record) throw new InputError(dir, `has no ${SWEEP_FILE}: not a sweep results folder (give results/<sweep>)`);
  const owner = readLock(dir);
  const live = lockAlive(owner) ? owner : null;
  const counts: Record<TrialState, number> = { done: 0, failed: 0, running: 0, pending: 0 };
  const trials = record.trials.map(({ id, meta, steps }): TrialStatus => {
    const result = readResult(dir, id);
    const m = lastMetricsRow(join(trialDir(dir, id), METRICS_FILE)) ?? readProgress(dir, id);
    const status: TrialState = result
      ? result.status === 'ok'
        ? 'done'
        : 'failed'
      : m && live
        ? 'running'
        : 'pending';
    counts[status]++;
    const t: TrialStatus = {
      id,
      status,
      meta,
      steps,
      step: m?.step ?? null,
      loss: m?.loss ?? null,
      tokensPerSec: m?.tokensPerSec ?? null,
      valLoss: result?.valLoss ?? null,
    };
    if (result?.reason) t.reason = result.reason;
    if (result?.message) t.message = result.message;
    if (result) t.seconds = result.seconds;
    // an unfinished trial restarts from step 0, or from its last branch-point snapshot
    if (status === 'pending') {
      const at = snapshotStep(trialDir(dir, id));
      if (at !== null || m) t.resumesAt = at ?? 0;
    }
    return t;
  });
  return {
    name: record.name,
    dir,
    specHash: record.specHash,
    created: record.created,
    updated: record.updated,
    lock: live,
    counts,
    trials,
  };
}

/** A trial's coordinates in a few words: variant, budget, rho, slots, seed. */
export function describeMeta(m: TrialMeta): string {
  const parts: string[] = [m.variant];
  if (m.budget !== undefined) parts.push(`budget ${m.budget}`);
  if (m.rho !== undefined) parts.push(`rho ${m.rho}`);
  if (m.slots !== undefined && m.kind === 'memory') parts.push(`slots ${m.slots}`);
  parts.push(`seed ${m.seed}`);
  return parts.join(' ');
}

/** The status table: one row per trial, aligned columns. */
export function formatStatus(s: SweepStatus): string {
  const c = s.counts;
  const head =
    `${s.name} (${s.dir}): ${c.done} done, ${c.failed} failed, ${c.running} running, ${c.pending} pending` +
    (s.lock ? `; coordinator pid ${s.lock.pid} since ${s.lock.started}` : '') +
    `\n`;
  const fmt = (x: number | null, d = 4) => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const rows = s.trials.map((t) => [
    t.id,
    t.status +
      (t.reason ? ` (${t.reason})` : '') +
      (t.resumesAt !== undefined ? ` (next run: from step ${t.resumesAt})` : ''),
    describeMeta(t.meta),
    `${t.step ?? '-'}/${t.steps}`,
    fmt(t.loss),
    fmt(t.valLoss),
  ]);
  const all = [['trial', 'status', 'coordinates', 'step', 'loss', 'valLoss'], ...rows];
  const widths = all[0].map((_, j) => Math.max(...all.map((r) => r[j].length)));
  return (
    head +
    all
      .map((r) =>
        r
          .map((v, j) => v.padEnd(widths[j]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') +
    '\n'
  );
}
