/** Per-trial parameter accounting of a sweep, as `engram-sweep budget` prints it. */
import { account } from '../model/accounting.js';
import type { SweepPlan } from './types.js';
import { modelConfig } from '../train/model-config.js';

export interface BudgetRow {
  trialId: string;
  budget: string | null;
  variant: string;
  seed: number;
  rho: number | null;
  rhoActual: number | null;
  routedExperts: number | null;
  slots: number;
  tableSizes: Record<string, number[][]>;
  pTot: number;
  pAct: number;
  pSparse: number;
  deviation: number | null;
}

export function budgetRows(plan: SweepPlan): BudgetRow[] {
  return plan.trials.map((t) => {
    const a = account(modelConfig(t.config));
    return {
      trialId: t.id,
      budget: t.meta.budget ?? null,
      variant: t.meta.variant,
      seed: t.meta.seed,
      rho: t.meta.rho ?? null,
      rhoActual: t.meta.rhoActual ?? null,
      routedExperts: t.config.model.moe?.routed ?? null,
      slots: a.slots,
      tableSizes: a.tableSizes,
      pTot: a.pTot,
      pAct: a.pAct,
      pSparse: a.pSparse,
      deviation: t.meta.deviation ?? null,
    };
  });
}

/** A fixed-width table; drift of P_act is against the first row of the same budget. */
export function budgetTable(rows: BudgetRow[]): string {
  const head = [
    'trial',
    'budget',
    'variant',
    'seed',
    'rho',
    'rho real',
    'experts',
    'slots',
    'P_tot',
    'P_act',
    'P_sparse',
    'dev P_tot',
    'drift P_act',
  ];
  const first = new Map<string, number>();
  const body = rows.map((r) => {
    const key = r.budget ?? '';
    if (!first.has(key)) first.set(key, r.pAct);
    const drift = (r.pAct - first.get(key)!) / first.get(key)!;
    return [
      r.trialId,
      r.budget ?? '-',
      r.variant,
      String(r.seed),
      fmt(r.rho, 3),
      fmt(r.rhoActual, 3),
      String(r.routedExperts ?? '-'),
      slotsText(r),
      mega(r.pTot),
      mega(r.pAct),
      mega(r.pSparse),
      r.deviation === null ? '-' : pct(r.deviation),
      pct(drift),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [head, ...body].map((row) => row.map((c, i) => c.padStart(widths[i])).join('  ')).join('\n');
}

/** '-' for a model without hashed memory (the no-memory reference, rho = 1 dropped), not 0 slots */
const slotsText = (r: BudgetRow) => (Object.keys(r.tableSizes).length === 0 ? '-' : String(r.slots));
const fmt = (x: number | null, d: number) => (x === null ? '-' : x.toFixed(d));
const mega = (n: number) => (n / 1e6).toFixed(4) + 'M';
const pct = (x: number) => (x >= 0 ? '+' : '') + (100 * x).toFixed(2) + '%';
