/**
 * The U-shape (paper Figure 3, left): validation loss against rho, one panel per budget. Seeds as
 * points, their mean with a standard-error bar, the fitted parabola and its vertex with the
 * bootstrap interval as a band, and the pure-MoE loss as a dashed line (docs/SPEC.md section 4).
 * Fit layers appear only when fits.json has the budget; the points need nothing but results.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { TrialRow } from '../../results/table.js';
import type { ReportData } from '../data.js';
import { curveGroup, interval, num, quadratic, type UShapeGroup } from '../fits.js';
import { mean, rhoOf, round, topLevel, unique, VARIANT_COLORS, variantScale } from './common.js';

export const USHAPE = {
  width: 300,
  height: 220,
  /** points on the drawn parabola */
  curvePoints: 61,
  pointOpacity: 0.45,
  bandOpacity: 0.14,
  columns: 2,
  /** variants drawn (dense has no rho and sits far above: it is in the table) */
  variants: ['engram', 'overencoding', 'moe'],
};

export interface MeanPoint {
  variant: string;
  rho: number;
  mean: number;
  /** mean -/+ one standard error; equal to mean for one seed */
  lo: number;
  hi: number;
  n: number;
}

/** Mean and standard error of the loss per (variant, rho): the bars. */
export function seedMeans(trials: TrialRow[]): MeanPoint[] {
  const by = new Map<string, { variant: string; rho: number; ys: number[] }>();
  for (const r of trials) {
    const k = `${r.variant}|${rhoOf(r)}`;
    if (!by.has(k)) by.set(k, { variant: r.variant, rho: rhoOf(r)!, ys: [] });
    by.get(k)!.ys.push(r.valLoss!);
  }
  return [...by.values()].map(({ variant, rho, ys }) => {
    const m = mean(ys);
    const se = ys.length > 1 ? Math.sqrt(ys.reduce((a, y) => a + (y - m) ** 2, 0) / (ys.length - 1) / ys.length) : 0;
    return { variant, rho, mean: round(m), lo: round(m - se), hi: round(m + se), n: ys.length };
  });
}

/** The fitted parabola y = c0 + c1 x + c2 x^2 sampled over [x0, x1]. */
export function parabola(c: number[], x0: number, x1: number, n = USHAPE.curvePoints): { rho: number; loss: number }[] {
  return Array.from({ length: n }, (_, i) => {
    const x = x0 + ((x1 - x0) * i) / (n - 1);
    return { rho: round(x), loss: round(c[0] + c[1] * x + c[2] * x * x) };
  });
}

const x = {
  field: 'rho',
  type: 'quantitative',
  title: 'rho (share of sparse parameters in routed experts)',
  scale: { domain: [0, 1], nice: false, padding: 8 },
};
const y = { type: 'quantitative', title: 'validation loss (nats)', scale: { zero: false } };

/** Band, curve and vertex of one fitted group, drawn in its variant's colour. */
function fitLayers(g: UShapeGroup | undefined, variant: string, rhos: number[]): object[] {
  if (!g || !rhos.length) return [];
  const color = VARIANT_COLORS[variant] ?? '#888';
  const layers: object[] = [];
  const band = interval(g.interval);
  // an unbounded end (or one past the axis) is drawn to the axis' end
  const clamp = (v: number | null, end: number) => round(Math.min(1, Math.max(0, v ?? end)));
  if (band) {
    const values = [{ lo: clamp(band[0], 0), hi: clamp(band[1], 1) }];
    layers.push({
      data: { values },
      mark: { type: 'rect', color, opacity: USHAPE.bandOpacity },
      encoding: { x: { ...x, field: 'lo' }, x2: { field: 'hi' } },
    });
  }
  const c = quadratic(g.coefficients);
  if (c) {
    const curve = parabola(c, Math.min(...rhos), Math.max(...rhos));
    layers.push({
      data: { values: curve },
      mark: { type: 'line', color, strokeWidth: 2 },
      encoding: { x, y: { ...y, field: 'loss' } },
    });
  }
  const v = num(g.vertex);
  if (v !== null && v >= 0 && v <= 1)
    layers.push({
      data: { values: [{ rho: round(v) }] },
      mark: { type: 'rule', color, strokeDash: [4, 3] },
      encoding: { x },
    });
  return layers;
}

/**
 * The dashed reference line: pure MoE (the moe variant, no Engram module) where the sweep has it,
 * else the Engram curve's rho = 1 mean, which keeps the module on 1-slot tables and is labelled
 * as such (issue 15: calling it pure MoE misnames it).
 */
function rhoOneReference(trials: TrialRow[]): { loss: number; label: string } | null {
  const moe = trials.filter((r) => r.variant === 'moe');
  // nominal rho: the realised one at rho = 1 can sit a hair below (integer experts)
  const ref = moe.length ? moe : trials.filter((r) => r.variant === 'engram' && (r.rho ?? rhoOf(r)) === 1);
  return ref.length
    ? { loss: round(mean(ref.map((r) => r.valLoss!))), label: moe.length ? 'pure MoE' : RHO_ONE_KEPT }
    : null;
}

const RHO_ONE_KEPT = 'rho = 1 with the Engram module kept (1-slot tables)';

/** src/fit's key for a budget's curve: the budget, or "<budget>/<variant>" for another memory. */
export const fitKey = (budget: string, variant: string) => (variant === 'engram' ? budget : `${budget}/${variant}`);

/** The seeds as points: what was measured, before any averaging or fitting. */
function seedLayer(trials: TrialRow[], color: object): object {
  const values = trials.map((r) => ({
    id: r.id,
    variant: r.variant,
    seed: r.seed,
    rho: rhoOf(r),
    valLoss: round(r.valLoss!),
  }));
  return {
    data: { values },
    mark: { type: 'point', filled: true, size: 28, opacity: USHAPE.pointOpacity },
    encoding: {
      x,
      y: { ...y, field: 'valLoss' },
      color,
      tooltip: [{ field: 'id' }, { field: 'seed' }, { field: 'rho' }, { field: 'valLoss' }],
    },
  };
}

/** Mean per rho as a tick, one standard error either side as a bar. */
function meanLayer(trials: TrialRow[], color: object): object {
  const tooltip = [{ field: 'rho' }, { field: 'mean', title: 'mean loss' }, { field: 'n', title: 'seeds' }];
  return {
    data: { values: seedMeans(trials) },
    layer: [
      {
        mark: { type: 'rule', strokeWidth: 1.5 },
        encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color },
      },
      {
        mark: { type: 'tick', orient: 'horizontal', size: 10, thickness: 2 },
        encoding: { x, y: { ...y, field: 'mean' }, color, tooltip },
      },
    ],
  };
}

function panel(budget: string, trials: TrialRow[], fit: ReportData['fits'], colors: object): object {
  const color = { field: 'variant', type: 'nominal', title: 'variant', scale: colors };
  const curves = ['engram', 'overencoding'].flatMap((v) => {
    const rhos = trials.filter((r) => r.variant === v).map((r) => rhoOf(r)!);
    // a sweep with horizons: the longest horizon's curve, whose losses are the trials' own
    return fitLayers(curveGroup(fit?.ushape, fitKey(budget, v)), v, rhos);
  });
  const ref = rhoOneReference(trials);
  const refRule = {
    data: { values: [ref] },
    mark: { type: 'rule', color: VARIANT_COLORS.moe, strokeDash: [2, 2], opacity: 0.7 },
    encoding: { y: { ...y, field: 'loss' }, tooltip: [{ field: 'label', title: 'dashed' }, { field: 'loss' }] },
  };
  const layers = [...curves, ...(ref === null ? [] : [refRule]), seedLayer(trials, color), meanLayer(trials, color)];
  return { title: `budget ${budget}`, width: USHAPE.width, height: USHAPE.height, layer: layers };
}

/** The U-shape chart, or null when the sweep has no successful allocation trial. */
export function ushapeChart(d: ReportData): TopLevelSpec | null {
  const trials = d.rows.filter(
    (r) =>
      r.status === 'ok' &&
      r.kind === 'allocation' &&
      r.valLoss != null &&
      rhoOf(r) != null &&
      USHAPE.variants.includes(r.variant),
  );
  if (!trials.length) return null;
  const budgets = unique(trials.map((r) => r.budget ?? '')).sort();
  const colors = variantScale(unique(trials.map((r) => r.variant)));
  const panels = budgets.map((b) =>
    panel(
      b,
      trials.filter((r) => (r.budget ?? '') === b),
      d.fits,
      colors,
    ),
  );
  const fitted = d.fits?.ushape ? 'curve: fitted parabola, band: vertex interval' : 'no fit yet (engram-sweep fit)';
  const dashed = trials.some((r) => r.variant === 'moe') ? 'pure MoE' : RHO_ONE_KEPT;
  const horizons = d.fits?.ushape?.groups.some((g) => typeof g.horizon === 'number') ? '; the longest horizon' : '';
  return topLevel(
    'Validation loss vs allocation ratio rho',
    `points: seeds; ticks and bars: mean +/- s.e.; dashed: ${dashed}; ${fitted}${horizons}`,
    {
      columns: Math.min(USHAPE.columns, panels.length),
      concat: panels,
      resolve: { scale: { y: 'independent' } },
    },
  );
}
