/**
 * A results folder as tables (arquero), for fits, reports and notebooks: one row per finished
 * trial of the current version of the spec with its coordinates (meta), outcome (result.json)
 * and parameter accounting.
 */
import * as aq from 'arquero';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readTrialConfig } from '../contract/config-file.js';
import { InputError } from '../contract/errors.js';
import { METRICS_FILE, RESULT_FILE, TRIALS_DIR, trialDir } from '../contract/files.js';
import { readMetricsFile } from '../contract/metrics.js';
import { readResult } from '../contract/result.js';
import { readSweepRecord } from '../contract/sweep-file.js';
import type { MetricsRow } from '../contract/results.js';

export interface TrialRow {
  id: string;
  kind: string;
  variant: string;
  seed: number;
  budget: string | null;
  rho: number | null;
  rhoActual: number | null;
  slots: number | null;
  status: 'ok' | 'failed';
  reason: string | null;
  valLoss: number | null;
  valBpb: number | null;
  tokens: number;
  seconds: number;
  pTot: number;
  pAct: number;
  pSparse: number;
  routedExperts: number | null;
}

/**
 * The trial folders of a results folder that belong to the current version of its spec, and
 * those left out: a folder holds the trials of every version of its spec (DESIGN: results
 * contract), and sweep.json lists the current version's. Without sweep.json (a folder of single
 * trials), or with one written before spec versions had a history (such a folder could hold one
 * version only), every folder is current.
 */
export function currentTrialFolders(sweepDir: string): { ids: string[]; leftOut: string[] } {
  const trialsDir = join(sweepDir, TRIALS_DIR);
  if (!existsSync(trialsDir)) throw new InputError(sweepDir, 'not a results folder (no trials/ inside)');
  const all = readdirSync(trialsDir).sort();
  const record = readSweepRecord(sweepDir);
  if (!record || !Array.isArray(record.history)) return { ids: all, leftOut: [] };
  const current = new Set(record.trials.map((t) => t.id));
  return { ids: all.filter((id) => current.has(id)), leftOut: all.filter((id) => !current.has(id)) };
}

/**
 * How many finished trials of other versions of the spec a results folder holds (left out of
 * fits and reports), as a line to print; null when there are none.
 */
export function otherVersionsNote(sweepDir: string): string | null {
  const n = otherVersionsCount(sweepDir);
  const current = n ? currentTrialFolders(sweepDir).ids.length : 0;
  return n
    ? `using the ${current} trial folders of the current spec (sweep.json); ${n} finished trial(s) of other versions of the spec left out`
    : null;
}

/** The finished trials (result.json) of other versions of the spec a results folder holds. */
export function otherVersionsCount(sweepDir: string): number {
  if (!existsSync(join(sweepDir, TRIALS_DIR))) return 0;
  return currentTrialFolders(sweepDir).leftOut.filter((id) => existsSync(join(trialDir(sweepDir, id), RESULT_FILE)))
    .length;
}

/**
 * Rows of every trial folder of the current version of the spec (currentTrialFolders) that has
 * result.json and config.json (finished, ok or failed). A malformed one is an InputError naming
 * the file.
 */
export function readTrialRows(sweepDir: string): TrialRow[] {
  const rows: TrialRow[] = [];
  for (const id of currentTrialFolders(sweepDir).ids) {
    const dir = trialDir(sweepDir, id);
    const result = readResult(dir, { strict: true });
    const config = result && readTrialConfig(dir);
    if (!result || !config) continue;
    const meta = config.meta ?? {};
    rows.push({
      id,
      kind: meta.kind ?? 'single',
      variant:
        meta.variant ??
        (config.model?.engram
          ? 'engram'
          : config.model?.overEncoding
            ? 'overencoding'
            : config.model?.moe
              ? 'moe'
              : 'dense'),
      seed: meta.seed ?? config.train?.seed ?? 0,
      budget: meta.budget ?? null,
      rho: meta.rho ?? null,
      rhoActual: meta.rhoActual ?? null,
      // a trial with no memory (the moe reference of a slots sweep) has no slots: null, never 0
      slots: positiveOrNull(meta.slots ?? config.accounting?.slots),
      status: result.status,
      reason: result.reason ?? null,
      valLoss: result.valLoss ?? null,
      valBpb: result.valBpb ?? null,
      tokens: result.tokens ?? 0,
      seconds: result.seconds ?? 0,
      pTot: config.accounting?.pTot ?? 0,
      pAct: config.accounting?.pAct ?? 0,
      pSparse: config.accounting?.pSparse ?? 0,
      routedExperts: config.model?.moe?.routed ?? null,
    });
  }
  return rows;
}

/** A slot count, or null where there is none (missing, 0: no memory table). */
const positiveOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null);

/** The finished trials as an arquero table. */
export function trialsTable(sweepDir: string) {
  return aq.from(readTrialRows(sweepDir));
}

/** metrics.jsonl of one trial as rows (the contract's read policy: src/contract/metrics.ts). */
export function readMetrics(sweepDir: string, id: string): MetricsRow[] {
  return readMetricsFile(join(trialDir(sweepDir, id), METRICS_FILE));
}
