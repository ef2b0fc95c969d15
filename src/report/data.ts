/**
 * Everything a report draws, read once from a results folder (DESIGN: results contract): the
 * finished trials, their logged metrics, one Engram trial's gate excerpt and the fits. Charts are
 * pure functions of this object, so tests build it from small fake folders.
 * Every read happens before anything is written: bad input throws InputError and leaves no files.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { InputError } from '../cli/errors.js';
import { readTrialRows, type TrialRow } from '../results/table.js';
import { readFits, type Fits } from './fits.js';

/** One logged step of metrics.jsonl, the fields the charts use. */
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
  /** finished trials (ok and failed), in id order */
  rows: TrialRow[];
  /** metrics of the ok trials, by id */
  metrics: Map<string, MetricRow[]>;
  /** the gate excerpt of the best ok Engram trial that has one */
  gates: GateExcerpt | null;
  fits: Fits | null;
}

function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, `malformed JSON: ${(e as Error).message}`);
  }
}

function readMetricRows(file: string): MetricRow[] {
  if (!existsSync(file)) return [];
  const out: MetricRow[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  let last = lines.length - 1;
  while (last >= 0 && !lines[last].trim()) last--;
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line);
    } catch (e) {
      // a trial killed mid-append can leave a torn last line; anything else is damage
      if (i === last) return;
      throw new InputError(file, `line ${i + 1}: malformed JSON: ${(e as Error).message}`);
    }
    if (typeof r.tokens !== 'number' || (typeof r.loss !== 'number' && r.loss !== null)) {
      throw new InputError(file, `line ${i + 1}: needs numbers "tokens" and "loss"`);
    }
    // JSON writes a NaN loss as null: keep the row (its loads), drop the point
    out.push({ ...r, loss: r.loss ?? NaN } as unknown as MetricRow);
  });
  return out;
}

function readGates(sweepDir: string, row: TrialRow): GateExcerpt | null {
  const file = join(sweepDir, 'trials', row.id, 'gates.json');
  if (!existsSync(file)) return null;
  const g = readJsonFile(file) as { tokens?: unknown; layers?: unknown };
  const tokens = g.tokens;
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) {
    throw new InputError(file, 'needs "tokens": an array of strings', 'tokens');
  }
  if (!g.layers || typeof g.layers !== 'object') throw new InputError(file, 'needs "layers": {layerId: number[T][hc]}', 'layers');
  for (const [l, v] of Object.entries(g.layers as Record<string, unknown>)) {
    const ok = Array.isArray(v) && v.length === tokens.length && v.every((t) => Array.isArray(t) && t.every((x) => typeof x === 'number'));
    if (!ok) throw new InputError(file, `layer ${l} must hold ${tokens.length} arrays of numbers (one per token)`, `layers.${l}`);
  }
  return { id: row.id, row, tokens: tokens as string[], layers: g.layers as Record<string, number[][]> };
}

/** The best (lowest validation loss) ok trial with Engram gates. */
function bestGates(sweepDir: string, rows: TrialRow[]): GateExcerpt | null {
  const engram = rows.filter((r) => r.status === 'ok' && r.variant === 'engram' && r.valLoss != null);
  engram.sort((a, b) => a.valLoss! - b.valLoss! || a.id.localeCompare(b.id));
  for (const r of engram) {
    const g = readGates(sweepDir, r);
    if (g) return g;
  }
  return null;
}

function sweepInfo(dir: string): { name: string; updated: string | null } {
  const file = join(dir, 'sweep.json');
  if (!existsSync(file)) return { name: basename(resolve(dir)), updated: null };
  const s = readJsonFile(file) as { name?: unknown; updated?: unknown };
  return {
    name: typeof s.name === 'string' ? s.name : basename(resolve(dir)),
    updated: typeof s.updated === 'string' ? s.updated : null,
  };
}

function trialRows(dir: string): TrialRow[] {
  try {
    return readTrialRows(dir);
  } catch (e) {
    if (e instanceof SyntaxError) throw new InputError(dir, `a trial's config.json or result.json is malformed: ${e.message}`);
    throw e;
  }
}

/** Read a results folder; refuses one with no successful trial (nothing to chart). */
export function loadReportData(dir: string, now: Date = new Date()): ReportData {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(dir, 'is not a folder');
  const rows = trialRows(dir);
  const ok = rows.filter((r) => r.status === 'ok');
  if (!ok.length) {
    const why = rows.length ? `all ${rows.length} finished trials failed` : 'no finished trials (no trials/<id>/result.json)';
    throw new InputError(dir, `nothing to report: ${why}; run the sweep first (engram-sweep run)`);
  }
  const metrics = new Map<string, MetricRow[]>();
  for (const r of ok) metrics.set(r.id, readMetricRows(join(dir, 'trials', r.id, 'metrics.jsonl')));
  return {
    dir,
    ...sweepInfo(dir),
    date: now.toISOString().slice(0, 10),
    rows,
    metrics,
    gates: bestGates(dir, rows),
    fits: readFits(dir),
  };
}
