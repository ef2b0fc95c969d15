/**
 * One file per sweep for the notebooks (DESIGN: Notebooks): a page cannot list directories, so
 * results/<sweep>/bundle.json gathers what the Observable notebooks draw: the sweep, each trial's
 * coordinates, outcome, parameter accounting and a downsampled training curve, the fits, and one
 * Engram trial's gates (the paper's Figure 7).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../contract/atomic.js';
import { readTrialConfig } from '../contract/config-file.js';
import { InputError } from '../contract/errors.js';
import { readFitsFile } from '../contract/fits-file.js';
import { METRICS_FILE, TRIALS_DIR, trialDir } from '../contract/files.js';
import { currentTrialFolders } from './table.js';
import { readGates } from '../contract/gates.js';
import { readMetricsFile } from '../contract/metrics.js';
import { readResult } from '../contract/result.js';
import type { MetricsRow, TrialResult } from '../contract/results.js';
import { readSweepRecord } from '../contract/sweep-file.js';

/** metrics rows kept per trial: a page draws dozens of trials without a multi-MB download */
export const MAX_METRIC_ROWS = 200;

export interface BundleTrial {
  id: string;
  /** the trial's coordinates: {kind, variant, seed, budget?, rho?, rhoActual?, slots?, ...} */
  meta: Record<string, unknown>;
  /** result.json, or null while the trial is unfinished */
  result: TrialResult | null;
  /** config.json's parameter accounting {pTot, pAct, pSparse, slots, ...}, or null */
  accounting: Record<string, unknown> | null;
  /** config.json's model (experts, Engram / OverEncoding settings), or null */
  model: Record<string, unknown> | null;
  /** metrics.jsonl rows, at most MAX_METRIC_ROWS (see downsample) */
  metrics: MetricsRow[];
  /** rows in metrics.jsonl before downsampling */
  metricRows: number;
}

export interface Bundle {
  format: 1;
  /** sweep.json as written by the run */
  sweep: Record<string, unknown>;
  trials: BundleTrial[];
  /** fits.json, when `engram-sweep fit` has run */
  fits?: unknown;
  /** gates.json of the first Engram trial (plan order) that has one, with its id and meta */
  gates?: { trial: string; meta: Record<string, unknown>; tokens: string[]; layers: Record<string, number[][]> };
}

/** `count` indices spread evenly over 0..n-1, first and last included (count >= 2, n > count). */
function evenIndices(n: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.round((i * (n - 1)) / (count - 1)));
}

/**
 * At most `max` rows, in order. Rows with a validation loss are few and the point of the curve,
 * so they are kept first (up to half the budget, evenly spread if more); the rest of the budget
 * goes to evenly spread training rows, always with the first and the last row.
 */
export function downsample<T extends object>(rows: T[], max = MAX_METRIC_ROWS): T[] {
  if (rows.length <= max) return rows.slice();
  if (max < 2) return rows.slice(-max);
  const val = rows
    .map((r, i) => (typeof (r as { valLoss?: unknown }).valLoss === 'number' ? i : -1))
    .filter((i) => i >= 0);
  const valCap = Math.floor(max / 2);
  const keep = new Set(val.length <= valCap ? val : evenIndices(val.length, Math.max(2, valCap)).map((k) => val[k]));
  keep.add(0).add(rows.length - 1);
  const rest = rows.map((_, i) => i).filter((i) => !keep.has(i));
  const room = max - keep.size;
  if (room > 0 && rest.length) {
    const picks =
      rest.length <= room ? rest : room === 1 ? [rest[0]] : evenIndices(rest.length, room).map((k) => rest[k]);
    for (const i of picks) keep.add(i);
  }
  return [...keep].sort((a, b) => a - b).map((i) => rows[i]);
}

/**
 * Trial ids in plan order (sweep.json), then any other trial folders of the current version of
 * the spec, sorted (results/table.ts: folders of other versions are left out, as fits and
 * reports leave them out).
 */
function trialIds(sweepDir: string, sweep: Record<string, unknown>): { id: string; meta: Record<string, unknown> }[] {
  const planned = Array.isArray(sweep.trials) ? (sweep.trials as { id: string; meta?: Record<string, unknown> }[]) : [];
  const out = planned.filter((t) => typeof t?.id === 'string').map((t) => ({ id: t.id, meta: t.meta ?? {} }));
  const seen = new Set(out.map((t) => t.id));
  const folders = existsSync(join(sweepDir, TRIALS_DIR)) ? currentTrialFolders(sweepDir).ids : [];
  for (const id of folders)
    if (!seen.has(id) && statSync(trialDir(sweepDir, id)).isDirectory()) out.push({ id, meta: {} });
  return out;
}

function bundleTrial(sweepDir: string, id: string, planMeta: Record<string, unknown>): BundleTrial {
  const dir = trialDir(sweepDir, id);
  const config = readTrialConfig(dir);
  const rows = readMetricsFile(join(dir, METRICS_FILE));
  return {
    id,
    meta: config?.meta ?? planMeta,
    result: readResult(dir, { strict: true }),
    accounting: config?.accounting ?? null,
    model: config?.model ?? null,
    metrics: downsample(rows),
    metricRows: rows.length,
  };
}

/** The bundle of a sweep's results folder, read from its files (nothing is written). */
export function bundleSweep(sweepDir: string): Bundle {
  const sweep = readSweepRecord(sweepDir);
  if (!sweep) throw new InputError(sweepDir, 'not a results folder of a sweep (no sweep.json inside)');
  const trials = trialIds(sweepDir, sweep as unknown as Record<string, unknown>).map((t) =>
    bundleTrial(sweepDir, t.id, t.meta),
  );
  const bundle: Bundle = { format: 1, sweep: sweep as unknown as Record<string, unknown>, trials };
  const fits = readFitsFile(sweepDir);
  if (fits !== null) bundle.fits = fits;
  for (const t of trials) {
    if (t.meta.variant !== 'engram') continue;
    const g = readGates(trialDir(sweepDir, t.id));
    if (!g) continue;
    bundle.gates = { trial: t.id, meta: t.meta, tokens: g.tokens, layers: g.layers };
    break;
  }
  return bundle;
}

/** Write <sweepDir>/bundle.json (compact: it is downloaded by a page; temp file + rename) and return its path. */
export function writeBundle(sweepDir: string): string {
  const file = join(sweepDir, 'bundle.json');
  writeFileAtomic(file, JSON.stringify(bundleSweep(sweepDir)) + '\n');
  return file;
}
