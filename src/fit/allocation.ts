/**
 * One allocation curve, fully: the quadratic vertex with its interval (fit/ushape.ts), the two
 * walls with the shape they imply (fit/walls.ts, fit/shape.ts), and rho*, the optimum that is
 * reported and enters the trend across horizons (fit/trend.ts).
 *
 * rho* is the quadratic vertex only where the shape is a U (and the vertex lies in the sampled
 * range): without both walls a parabola's vertex is an artefact of the model (issue 12: a
 * parabola through three points of a monotone curve put rho* at 0.21 where rho = 0 won in every
 * seed). Otherwise rho* is the best arm, the rho with the lowest seed mean, and the Akima argmin
 * of the seed means (vertexAkima) is reported beside it.
 */
import { armsOf, type Arm } from './arms.js';
import type { Interval } from './bootstrap.js';
import type { Shape } from './shape.js';
import { fitUshape, type UshapeGroup, type UshapeOptions, type UshapeSeries } from './ushape.js';
import { fitWalls, type BestArm, type Walls } from './walls.js';

export interface AllocationSeries extends UshapeSeries {
  /** the curve's name without its horizon: the budget, or "<budget>/<variant>" for another memory */
  budget?: string;
  /** training tokens of this horizon; null for a sweep without horizons */
  horizon?: number | null;
  /** the curve's mean active parameters (tokens per active parameter = horizon / pAct) */
  pAct?: number | null;
}

export interface RhoStar {
  value: number;
  source: 'vertex' | 'best arm';
  /** the vertex's bootstrap interval, or the winning arm's range across seed resamples */
  interval: Interval | null;
}

export interface AllocationGroup extends UshapeGroup {
  budget: string;
  horizon: number | null;
  tokensPerActive: number | null;
  shape: Shape;
  walls: Walls;
  rhoStar: RhoStar;
  bestArm: BestArm;
}

export function rhoStarOf(
  shape: Shape,
  g: Pick<UshapeGroup, 'vertex' | 'interval'>,
  lo: number,
  hi: number,
  best: BestArm,
): RhoStar {
  const v = g.vertex;
  if (shape === 'U' && v !== null && v >= lo && v <= hi) return { value: v, source: 'vertex', interval: g.interval };
  return { value: best.x, source: 'best arm', interval: best.interval };
}

/** Fit one (budget, horizon) curve; `arms` comes back for the trend's resampling. */
export function fitAllocation(
  series: AllocationSeries,
  opts: UshapeOptions = {},
): { group: AllocationGroup; arms: Arm[] } {
  const u = fitUshape(series, opts);
  const arms = armsOf(series.points);
  const { walls, bestArm, shape } = fitWalls(arms, {
    level: opts.level,
    resamples: opts.resamples,
    seed: opts.seed,
    stream: series.key,
  });
  const horizon = series.horizon ?? null;
  const pAct = series.pAct ?? null;
  const { key, ...rest } = u;
  const group: AllocationGroup = {
    key,
    budget: series.budget ?? key,
    horizon,
    tokensPerActive: horizon !== null && pAct ? horizon / pAct : null,
    shape,
    walls,
    rhoStar: rhoStarOf(shape, u, arms[0].x, arms[arms.length - 1].x, bestArm),
    bestArm,
    ...rest,
  };
  return { group, arms };
}
