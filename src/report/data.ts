/**
 * Everything a report draws, read once from a results folder (DESIGN: results contract): the
 * finished trials, their logged metrics, one Engram trial's gate excerpt and the fits. Charts are
 * pure functions of this object, so tests build it from small fake folders.
 * Every read happens before anything is written: bad input throws InputError and leaves no files.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { InputError } from '../contract/errors.js';
import { METRICS_FILE, trialDir } from '../contract/files.js';
import { readGates } from '../contract/gates.js';
import { readMetricsFile } from '../contract/metrics.js';
import { readSweepRecord } from '../contract/sweep-file.js';
import { otherVersionsCount, readTrialRows, type TrialRow } from '../results/table.js';
import { readFits, type Fits } from './fits.js';

/** One logged step of metrics.jsonl (contract MetricsRow), the fields the charts use. */
export interface MetricRow {
  step: number;
  tokens: number;
  loss: number;
  valLoss?: number;
  /** routed tokens per expert, [layer][expert] */
  expertLoad?: number[][];
}

/** gates.json of one trial: a validation excerpt, one decoded token each, gate [T][hc] per layer. */
export interface GateExcerpt {
  id: string;
  row: TrialRow;
  tokens: string[];
  layers: Record<string, number[][]>;
}

export interface ReportData {
  dir: string;
  /** the sweep's name: sweep.json's, else the folder's */
  name: string;
  /** when the report was made, YYYY-MM-DD */
  date: string;
  /** sweep.json's last update, if any */
  updated: string | null;
  /** finished trials (ok and failed) of the current version of the spec, in id order */
  rows: TrialRow[];
  /** finished trials of other versions of the spec the folder holds, left out (absent: none) */
  otherVersions?: number;
  /** metrics of the ok trials, by id */
  metrics: Map<string, MetricRow[]>;
  /** the gate excerpt of the best ok Engram trial that has one */
  gates: GateExcerpt | null;
  fits: Fits | null;
}

function readGateExcerpt(sweepDir: string, row: TrialRow): GateExcerpt | null {
  const g = readGates(trialDir(sweepDir, row.id));
  return g && { id: row.id, row, tokens: g.tokens, layers: g.layers };
}

/** The best (lowest validation loss) ok trial with Engram gates. */
function bestGates(sweepDir: string, rows: TrialRow[]): GateExcerpt | null {
  const engram = rows.filter((r) => r.status === 'ok' && r.variant === 'engram' && r.valLoss != null);
  engram.sort((a, b) => a.valLoss! - b.valLoss! || a.id.localeCompare(b.id));
  for (const r of engram) {
    const g = readGateExcerpt(sweepDir, r);
    if (g) return g;
  }
  return null;
}

function sweepInfo(dir: string): { name: string; updated: string | null } {
  const s = readSweepRecord(dir);
  return {
    name: typeof s?.name === 'string' ? s.name : basename(resolve(dir)),
    updated: typeof s?.updated === 'string' ? s.updated : null,
  };
}

/** Read a results folder; refuses one with no successful trial (nothing to chart). */
export function loadReportData(dir: string, now: Date = new Date()): ReportData {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(dir, 'is not a folder');
  const rows = readTrialRows(dir);
  const ok = rows.filter((r) => r.status === 'ok');
  if (!ok.length) {
    const why = rows.length
      ? `all ${rows.length} finished trials failed`
      : 'no finished trials (no trials/<id>/result.json)';
    throw new InputError(dir, `nothing to report: ${why}; run the sweep first (engram-sweep run)`);
  }
  const metrics = new Map<string, MetricRow[]>();
  for (const r of ok) metrics.set(r.id, readMetricsFile(join(trialDir(dir, r.id), METRICS_FILE)));
  const otherVersions = otherVersionsCount(dir);
  return {
    dir,
    ...sweepInfo(dir),
    ...(otherVersions ? { otherVersions } : {}),
    date: now.toISOString().slice(0, 10),
    rows,
    metrics,
    gates: bestGates(dir, rows),
    fits: readFits(dir),
  };
}
