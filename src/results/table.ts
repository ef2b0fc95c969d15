/**
 * A results folder as tables (arquero), for fits, reports and notebooks: one row per finished
 * trial with its coordinates (meta), outcome (result.json) and parameter accounting.
 */
import * as aq from 'arquero';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../cli/errors.js';

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

const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8'));

/** Rows of every trial folder that has result.json (finished, ok or failed). */
export function readTrialRows(sweepDir: string): TrialRow[] {
  const trialsDir = join(sweepDir, 'trials');
  if (!existsSync(trialsDir)) throw new InputError(sweepDir, 'not a results folder (no trials/ inside)');
  const rows: TrialRow[] = [];
  for (const id of readdirSync(trialsDir).sort()) {
    const dir = join(trialsDir, id);
    if (!existsSync(join(dir, 'result.json')) || !existsSync(join(dir, 'config.json'))) continue;
    const config = readJson(join(dir, 'config.json'));
    const result = readJson(join(dir, 'result.json'));
    const meta = config.meta ?? {};
    rows.push({
      id,
      kind: meta.kind ?? 'single',
      variant: meta.variant ?? (config.model?.engram ? 'engram' : config.model?.overEncoding ? 'overencoding' : config.model?.moe ? 'moe' : 'dense'),
      seed: meta.seed ?? config.train?.seed ?? 0,
      budget: meta.budget ?? null,
      rho: meta.rho ?? null,
      rhoActual: meta.rhoActual ?? null,
      slots: meta.slots ?? config.accounting?.slots ?? null,
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

/** The finished trials as an arquero table. */
export function trialsTable(sweepDir: string) {
  return aq.from(readTrialRows(sweepDir));
}

/** metrics.jsonl of one trial as rows. */
export function readMetrics(sweepDir: string, id: string): Record<string, unknown>[] {
  const f = join(sweepDir, 'trials', id, 'metrics.jsonl');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
