/**
 * How the allocation moves with the training horizon (issue 12, item 2): per curve (budget),
 * rho*, dL0 and dL1 against log2(tokens), an ordinary least-squares slope per doubling of the
 * tokens, with an interval.
 *
 * One trial of a seed trains every horizon (the cooldown branches share its trunk), so a seed's
 * errors are correlated across horizons, and the interval resamples whole seeds across all
 * horizons at once:
 * - 5 seeds or more: a bootstrap over seeds; in each resample every horizon's best interior arm,
 *   walls and rho* are found again (rho* by the same rule as the point: the refitted vertex where
 *   the horizon's shape is a U, else the winning arm), then the slopes; the interval is the
 *   walls' (basic, widened for few seeds: fit/walls.ts).
 * - fewer: each seed's own slope (its walls against the best arm of the seed means; its own
 *   winning arm or vertex), and a paired-t interval around the point slope with the seeds'
 *   spread of slopes.
 */
import {
  argminArm,
  armMean,
  bestInterior,
  ones,
  pairedDifference,
  seedResamples,
  type Arm,
  type SeedWeights,
} from './arms.js';
import type { Interval } from './bootstrap.js';
import type { AllocationGroup } from './allocation.js';
import type { Shape } from './shape.js';
import { argminOn, fitQuadratic } from './ushape.js';
import { bootstrapInterval, MIN_BOOTSTRAP_SEEDS, pairedT, type WallMethod } from './walls.js';

export interface TrendSlope {
  /** change per doubling of the training tokens; null with fewer than two horizons */
  slope: number | null;
  interval: Interval | null;
  method: WallMethod;
}

export interface TrendPoint {
  tokens: number;
  tokensPerActive: number | null;
  rhoStar: number;
  rhoStarSource: 'vertex' | 'best arm';
  rhoStarInterval: Interval | null;
  shape: Shape;
  dL0: number | null;
  dL0Interval: Interval | null;
  dL1: number | null;
  dL1Interval: Interval | null;
}

export interface Trend {
  budget: string;
  /** what a slope's unit is */
  per: 'doubling of tokens';
  seeds: number;
  rhoStar: TrendSlope;
  dL0: TrendSlope;
  dL1: TrendSlope;
  points: TrendPoint[];
}

interface Horizon {
  group: AllocationGroup;
  arms: Arm[];
}

type Stats = { rhoStar: number; dL0: number; dL1: number };

/** OLS slope of y on u; NaN with fewer than two finite points. */
export function olsSlope(u: readonly number[], y: readonly number[]): number {
  const pts = u.map((x, i) => [x, y[i]]).filter(([, v]) => Number.isFinite(v));
  if (pts.length < 2) return NaN;
  const um = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const ym = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  const sxx = pts.reduce((s, p) => s + (p[0] - um) ** 2, 0);
  return sxx > 0 ? pts.reduce((s, p) => s + (p[0] - um) * (p[1] - ym), 0) / sxx : NaN;
}

/** The refitted vertex (clamped to the sampled rho) with the group's weights, on weighted arm means. */
function vertexAt(h: Horizon, w: SeedWeights): number {
  const rows = h.arms
    .map((a, j) => ({ x: a.x, y: armMean(a, w), wt: h.group.residuals[j]?.se ? 1 / h.group.residuals[j].se! ** 2 : 1 }))
    .filter((r) => Number.isFinite(r.y));
  if (rows.length < 3) return NaN;
  const q = fitQuadratic(
    rows.map((r) => r.x),
    rows.map((r) => r.y),
    rows.map((r) => r.wt),
  );
  return q ? argminOn(q, h.arms[0].x, h.arms[h.arms.length - 1].x) : NaN;
}

/** One horizon's statistics under a seed weighting; `best` fixes the interior arm (per-seed use). */
function statsAt(h: Horizon, w: SeedWeights, best?: number): Stats {
  const b = best ?? bestInterior(h.arms, w);
  const last = h.arms.length - 1;
  const rhoStar = h.group.rhoStar.source === 'vertex' ? vertexAt(h, w) : (h.arms[argminArm(h.arms, w)]?.x ?? NaN);
  return {
    rhoStar,
    dL0: b < 0 ? NaN : pairedDifference(h.arms[0], h.arms[b], w),
    dL1: b < 0 ? NaN : pairedDifference(h.arms[last], h.arms[b], w),
  };
}

const KEYS = ['rhoStar', 'dL0', 'dL1'] as const;

function slopesOf(hs: Horizon[], stats: Stats[]): Stats {
  const u = hs.map((h) => Math.log2(h.group.horizon!));
  return Object.fromEntries(
    KEYS.map((k) => [
      k,
      olsSlope(
        u,
        stats.map((s) => s[k]),
      ),
    ]),
  ) as Stats;
}

/** The trend of one curve over its horizons (at least two). */
export function fitTrend(hs: Horizon[], opts: { level?: number; resamples?: number; seed?: number } = {}): Trend {
  const level = opts.level ?? 0.9;
  hs = [...hs].sort((a, b) => a.group.horizon! - b.group.horizon!);
  const seeds = [...new Set(hs.flatMap((h) => h.arms.flatMap((a) => [...a.bySeed.keys()])))].sort((a, b) => a - b);
  const point = slopesOf(
    hs,
    hs.map((h) => statsAt(h, ones(seeds))),
  );
  const method: WallMethod = seeds.length >= MIN_BOOTSTRAP_SEEDS ? 'bootstrap' : 'paired-t';
  const intervals: Record<string, Interval | null> = {};
  if (method === 'bootstrap') {
    const reps = seedResamples(seeds, opts.resamples ?? 2000, opts.seed ?? 0, `trend:${hs[0].group.budget}`).map((w) =>
      slopesOf(
        hs,
        hs.map((h) => statsAt(h, w)),
      ),
    );
    for (const k of KEYS)
      intervals[k] = bootstrapInterval(
        reps.map((r) => r[k]),
        point[k],
        seeds.length,
        level,
      );
  } else {
    const bests = hs.map((h) => bestInterior(h.arms, ones(seeds)));
    const perSeed = seeds.map((s) =>
      slopesOf(
        hs,
        hs.map((h, i) => statsAt(h, new Map([[s, 1]]), bests[i])),
      ),
    );
    for (const k of KEYS) {
      const slopes = perSeed.map((p) => p[k]).filter(Number.isFinite);
      const t = pairedT(slopes, level);
      // centred on the point slope: rho* of the seed means is not the mean of the seeds' rho*
      const half = t ? (t[1]! - t[0]!) / 2 : NaN;
      intervals[k] = Number.isFinite(half) && Number.isFinite(point[k]) ? [point[k] - half, point[k] + half] : null;
    }
  }
  const slope = (k: (typeof KEYS)[number]): TrendSlope => ({
    slope: Number.isFinite(point[k]) ? point[k] : null,
    interval: intervals[k] ?? null,
    method,
  });
  return {
    budget: hs[0].group.budget,
    per: 'doubling of tokens',
    seeds: seeds.length,
    rhoStar: slope('rhoStar'),
    dL0: slope('dL0'),
    dL1: slope('dL1'),
    points: hs.map(({ group: g }) => trendPoint(g)),
  };
}

function trendPoint(g: AllocationGroup): TrendPoint {
  return {
    tokens: g.horizon!,
    tokensPerActive: g.tokensPerActive,
    rhoStar: g.rhoStar.value,
    rhoStarSource: g.rhoStar.source,
    rhoStarInterval: g.rhoStar.interval,
    shape: g.shape,
    dL0: g.walls.left.estimate,
    dL0Interval: g.walls.left.interval,
    dL1: g.walls.right.estimate,
    dL1Interval: g.walls.right.interval,
  };
}

/** Trends of every curve with two or more horizons, in the order the curves first appear. */
export function fitTrends(
  fitted: Horizon[],
  opts: { level?: number; resamples?: number; seed?: number } = {},
): Trend[] {
  const byCurve = new Map<string, Horizon[]>();
  for (const h of fitted) {
    if (h.group.horizon === null) continue;
    byCurve.set(h.group.budget, [...(byCurve.get(h.group.budget) ?? []), h]);
  }
  return [...byCurve.values()].filter((hs) => hs.length >= 2).map((hs) => fitTrend(hs, opts));
}
