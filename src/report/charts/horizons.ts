/**
 * The allocation curve at every training horizon (issue 12, item 3): L(rho) per budget, one curve
 * per horizon, from fits.json's seed means (each horizon group's residuals: x, mean, s.e.). Longer
 * horizons sit lower; what the chart is for is whether the curve's shape and its lowest point move.
 * The best arm or vertex (rho*) of each horizon is marked on its curve.
 */
import type { TopLevelSpec } from 'vega-lite';
import { tokensText } from '../../fit/index.js';
import type { ReportData } from '../data.js';
import { curveOf, num, type UShapeGroup } from '../fits.js';
import { round, topLevel } from './common.js';

export const HORIZONS = {
  width: 320,
  height: 230,
  columns: 2,
  /** light (short) to dark (long) horizons */
  scheme: 'viridis',
};

/** Engram curves' horizon groups (keys "<budget>@<tokens>"), by budget; other variants stay in the table. */
export function horizonGroups(d: ReportData): Map<string, UShapeGroup[]> {
  const out = new Map<string, UShapeGroup[]>();
  for (const g of d.fits?.ushape?.groups ?? []) {
    const curve = curveOf(g);
    if (typeof g.horizon !== 'number' || curve.includes('/')) continue;
    out.set(curve, [...(out.get(curve) ?? []), g]);
  }
  for (const gs of out.values()) gs.sort((a, b) => a.horizon! - b.horizon!);
  return out;
}

const x = {
  field: 'rho',
  type: 'quantitative',
  title: 'rho (share of sparse parameters in routed experts)',
  scale: { domain: [0, 1], nice: false, padding: 8 },
};
const y = { type: 'quantitative', title: 'validation loss (nats)', scale: { zero: false } };

/** One budget's panel: means joined per horizon, +/- s.e. bars, rho* as a triangle. */
function panel(budget: string, groups: UShapeGroup[], color: object): object {
  const means = groups.flatMap((g) =>
    (g.residuals ?? []).map((r) => ({
      horizon: tokensText(g.horizon!),
      tokens: g.horizon!,
      rho: round(r.x),
      mean: round(r.y),
      lo: round(r.y - (r.se ?? 0)),
      hi: round(r.y + (r.se ?? 0)),
      n: r.n ?? null,
    })),
  );
  // rho* on its curve: the seed mean at the best arm, or the parabola's value at the vertex
  const stars = groups.flatMap((g) => {
    const v = num(g.rhoStar?.value);
    if (v === null || !g.residuals?.length) return [];
    const near = g.residuals.reduce((a, b) => (Math.abs(b.x - v) < Math.abs(a.x - v) ? b : a));
    const loss =
      g.rhoStar?.source === 'vertex' && g.coefficients && !Array.isArray(g.coefficients)
        ? g.coefficients.c + v * (g.coefficients.b + v * g.coefficients.a)
        : near.y;
    return [
      {
        horizon: tokensText(g.horizon!),
        tokens: g.horizon!,
        rho: round(v),
        loss: round(loss),
        source: g.rhoStar?.source ?? '',
        shape: g.shape ?? '',
      },
    ];
  });
  const tooltip = [
    { field: 'horizon', title: 'tokens' },
    { field: 'rho' },
    { field: 'mean', title: 'mean loss' },
    { field: 'n', title: 'seeds' },
  ];
  return {
    title: `budget ${budget}`,
    width: HORIZONS.width,
    height: HORIZONS.height,
    layer: [
      {
        data: { values: means },
        mark: { type: 'rule', strokeWidth: 1 },
        encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color },
      },
      {
        data: { values: means },
        mark: { type: 'line', point: { filled: true, size: 24 }, strokeWidth: 1.5 },
        encoding: { x, y: { ...y, field: 'mean' }, color, tooltip },
      },
      {
        data: { values: stars },
        mark: { type: 'point', shape: 'triangle-down', filled: true, size: 90, stroke: 'black', strokeWidth: 0.5 },
        encoding: {
          x,
          y: { ...y, field: 'loss' },
          color,
          tooltip: [
            { field: 'horizon', title: 'tokens' },
            { field: 'rho', title: 'rho*' },
            { field: 'source' },
            { field: 'shape' },
          ],
        },
      },
    ],
  };
}

/** L(rho) per budget with one curve per horizon, or null for a sweep without horizons (or unfitted). */
export function horizonCurvesChart(d: ReportData): TopLevelSpec | null {
  const byBudget = horizonGroups(d);
  if (!byBudget.size) return null;
  const all = [...byBudget.values()].flat();
  const domain = [...new Set(all.sort((a, b) => a.horizon! - b.horizon!).map((g) => tokensText(g.horizon!)))];
  const color = {
    field: 'horizon',
    type: 'ordinal',
    title: 'training tokens',
    scale: { domain, scheme: HORIZONS.scheme },
  };
  const panels = [...byBudget.keys()].sort().map((b) => panel(b, byBudget.get(b)!, color));
  return topLevel(
    'Validation loss vs rho at each training horizon',
    'lines: seed means per horizon, bars: +/- s.e.; triangles: rho* (vertex where the shape is a U, else the best arm)',
    {
      columns: Math.min(HORIZONS.columns, panels.length),
      concat: panels,
      resolve: { scale: { y: 'independent' } },
    },
  );
}
