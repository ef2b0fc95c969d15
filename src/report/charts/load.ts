/**
 * Expert load balance: routed tokens per expert relative to a perfectly even split (1 = balanced),
 * one row per configuration (seeds averaged) and MoE layer, over the last part of training. The bias update
 * (docs/SPEC.md section 5) should keep rows near 1; a row of 0s and large values is a collapsed router.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { MetricRow, ReportData } from '../data.js';
import { round, sortTrials, topLevel, trialLabel } from './common.js';

export const LOAD = {
  /** share of the logged steps, counted from the end, averaged into a row */
  tail: 0.25,
  cell: 18,
  minWidth: 160,
};

export interface LoadCell {
  row: string;
  label: string;
  layer: number;
  expert: number;
  /** mean routed tokens per logged step (mean over seeds) */
  load: number;
  /** load / mean load over the layer's experts (mean over seeds) */
  relative: number;
  seeds: number;
}

/** Per layer, the mean load per expert over the last `tail` of the logged rows that have it. */
export function tailLoad(metrics: MetricRow[], tail = LOAD.tail): number[][] | null {
  const rows = metrics.filter((m) => Array.isArray(m.expertLoad) && m.expertLoad.length > 0);
  if (!rows.length) return null;
  const last = rows.slice(rows.length - Math.max(1, Math.ceil(rows.length * tail)));
  return last[0].expertLoad!.map((experts, l) =>
    experts.map((_, e) => last.reduce((a, m) => a + (m.expertLoad![l]?.[e] ?? 0), 0) / last.length),
  );
}

/** Load relative to an even split per layer (all 0 when nothing was routed). */
export function relativeLoad(load: number[][]): number[][] {
  return load.map((experts) => {
    const even = experts.reduce((a, b) => a + b, 0) / experts.length;
    return experts.map((v) => (even > 0 ? v / even : 0));
  });
}

/** Cells of one configuration: its seeds' loads (same experts: same config) averaged. */
export function loadCells(label: string, loads: number[][][]): LoadCell[] {
  const rel = loads.map(relativeLoad);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return loads[0].flatMap((experts, layer) =>
    experts.map((_, expert) => ({
      row: `${label} · L${layer}`,
      label,
      layer,
      expert,
      load: round(avg(loads.map((l) => l[layer]?.[expert] ?? 0))),
      relative: round(avg(rel.map((r) => r[layer]?.[expert] ?? 0)), 4),
      seeds: loads.length,
    })),
  );
}

/** The load heatmap, or null when no successful trial logged expert loads (no MoE). */
export function loadChart(d: ReportData): TopLevelSpec | null {
  const byLabel = new Map<string, number[][][]>();
  for (const r of sortTrials(d.rows.filter((r) => r.status === 'ok'))) {
    const load = tailLoad(d.metrics.get(r.id) ?? []);
    if (load) byLabel.set(trialLabel(r), [...(byLabel.get(trialLabel(r)) ?? []), load]);
  }
  const values = [...byLabel].flatMap(([label, loads]) => loadCells(label, loads));
  if (!values.length) return null;
  const rows = [...new Set(values.map((c) => c.row))];
  const experts = Math.max(...values.map((c) => c.expert)) + 1;
  return topLevel(
    'Expert load balance',
    `routed tokens per expert / even share, last ${LOAD.tail * 100}% of logged steps, mean over seeds (1 = balanced)`,
    {
      width: Math.max(LOAD.minWidth, experts * LOAD.cell),
      height: rows.length * LOAD.cell,
      data: { values },
      mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 },
      encoding: {
        x: { field: 'expert', type: 'ordinal', title: 'routed expert', axis: { labelAngle: 0, labelOverlap: true } },
        y: { field: 'row', type: 'nominal', title: null, sort: rows, axis: { labelLimit: 260 } },
        color: {
          field: 'relative',
          type: 'quantitative',
          title: 'load / even',
          scale: { scheme: 'blueorange', domainMid: 1 },
        },
        tooltip: [
          { field: 'label', title: 'trial' },
          { field: 'layer' },
          { field: 'expert' },
          { field: 'load', title: 'tokens per step' },
          { field: 'relative' },
          { field: 'seeds' },
        ],
      },
    },
  );
}
