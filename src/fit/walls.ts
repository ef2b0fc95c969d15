/**
 * The two walls of an allocation curve (issue 12, item 2), paired by seed:
 *   dL0 = L(lowest rho) - L(best interior arm),  dL1 = L(highest rho) - L(best interior arm),
 * where the highest rho is rho = 1 with the Engram module kept (1-slot tables; pure MoE, variant
 * moe, is a separate reference and never on the curve). The best interior arm is the one with the
 * lowest seed mean among the arms strictly between the ends.
 *
 * Intervals (90% by default):
 * - 5 seeds or more: a bootstrap over seeds that chooses the best interior arm again in every
 *   resample. Choosing the best of several arms on the same data biases the wall upward (the
 *   winner is partly luck); re-choosing in each resample carries that selection into the interval.
 *   But the winner's mean is biased low on the data and lower again in the resamples, so the
 *   percentile interval sits about twice the selection bias above the truth; the basic
 *   bootstrap interval [2 est - q_hi, 2 est - q_lo] (Davison & Hinkley 1997, 5.2) corrects it to
 *   first order. Simulated with a flat floor (three tied interior arms, true dL0 = 0), 5 seeds:
 *   "U" is called in 8% of sweeps with it, 18% with the percentile interval (5% nominal).
 *   A bootstrap of a mean of n seeds is also too narrow by sqrt((n - 1) / n) (the plug-in
 *   variance) and by t_{n-1} / z (the scale is estimated): simulated, 5 seeds cover ~79% for a
 *   nominal 90%. So the ends are widened about the estimate by sqrt(n / (n - 1)) t_{n-1} / z
 *   (1.45x at 5 seeds, 1.08x at 20), the small-sample repair that fit/bootstrap.ts applies to
 *   the vertex: 90% coverage at 5 seeds (test/fit/walls.test.ts).
 * - fewer: a resample of 2-4 seeds has at most 256 distinct outcomes and its percentiles are
 *   too narrow, so the paired-t interval over the per-seed differences d_s = L_end(s) - L_best(s)
 *   (best arm chosen once on the seed means), with the exact t quantile at n - 1 df. It does not
 *   carry the selection: with the flat floor above and 3 seeds, "U" is called in 8% of sweeps.
 * The best arm over all arms (rho* where the shape is not a U) gets the bootstrap's interval
 * whenever there are two seeds or more: which arm wins across resamples.
 */
import {
  argminArm,
  bestInterior,
  ones,
  pairedDifference,
  pairedSeeds,
  seedResamples,
  seedsOf,
  type Arm,
  type SeedWeights,
} from './arms.js';
import { mean, normalQuantile, type Interval } from './bootstrap.js';
import { classifyShape, type Shape } from './shape.js';
import { tQuantileExact } from './tdist.js';

export type WallMethod = 'bootstrap' | 'paired-t';

export interface Wall {
  /** L(end arm) - L(best interior arm), nats; null without a seed that ran both */
  estimate: number | null;
  interval: Interval | null;
  /** seeds that ran both arms */
  n: number;
  method: WallMethod;
  /** the end arm's rho */
  x: number;
  /** the best interior arm's rho (seed means) */
  against: number | null;
}

export interface Walls {
  left: Wall;
  right: Wall;
}

export interface BestArm {
  /** the arm with the lowest seed mean, over all arms */
  x: number;
  loss: number;
  /** the winning arm's rho across seed resamples (nearest-rank percentiles); null with one seed */
  interval: Interval | null;
}

/** At or above this many seeds the walls use the bootstrap, below it paired-t. */
export const MIN_BOOTSTRAP_SEEDS = 5;

export interface WallOptions {
  level?: number;
  resamples?: number;
  seed?: number;
  /** names the resampling stream (the group key), so groups do not share draws */
  stream?: string;
}

/** Central interval of sorted discrete values by nearest rank: its ends are values that occurred. */
function rankInterval(values: number[], level: number): Interval | null {
  const s = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (!s.length) return null;
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))];
  return [q((1 - level) / 2), q((1 + level) / 2)];
}

/** Percentile interval (R type 7) of the finite values. */
function percentile(values: number[], level: number): Interval | null {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!s.length) return null;
  const q = (p: number) => {
    const h = (s.length - 1) * p;
    const lo = Math.floor(h);
    return s[lo] + (h - lo) * (s[Math.ceil(h)] - s[lo]);
  };
  return [q((1 - level) / 2), q((1 + level) / 2)];
}

/** mean +/- t_{(1+level)/2, n-1} sd / sqrt(n) of the per-seed differences; null below two seeds. */
export function pairedT(d: readonly number[], level: number): Interval | null {
  if (d.length < 2) return null;
  const m = mean(d);
  const sd = Math.sqrt(d.reduce((s, v) => s + (v - m) ** 2, 0) / (d.length - 1));
  const half = tQuantileExact((1 + level) / 2, d.length - 1) * (sd / Math.sqrt(d.length));
  return [m - half, m + half];
}

/** sqrt(n / (n - 1)) t_{n-1} / z at the interval's level: the small-sample widening of a percentile bootstrap. */
export function smallSampleFactor(n: number, level: number): number {
  const p = (1 + level) / 2;
  return Math.sqrt(n / (n - 1)) * (tQuantileExact(p, n - 1) / normalQuantile(p));
}

/** Widen [lo, hi] about the estimate by `factor`. */
const widen = (iv: Interval | null, est: number, factor: number): Interval | null =>
  iv && iv[0] !== null && iv[1] !== null ? [est + factor * (iv[0] - est), est + factor * (iv[1] - est)] : iv;

/** The basic bootstrap interval: the percentile ends reflected about the estimate. */
const reflect = (iv: Interval | null, est: number): Interval | null =>
  iv && iv[0] !== null && iv[1] !== null ? [2 * est - iv[1], 2 * est - iv[0]] : iv;

/**
 * The walls' bootstrap interval from its replicates: basic (reflected about the estimate), then
 * widened by the small-sample factor for n seeds. Also the trend slopes' (fit/trend.ts).
 */
export function bootstrapInterval(replicates: number[], estimate: number, n: number, level: number): Interval | null {
  if (!Number.isFinite(estimate)) return null;
  return widen(reflect(percentile(replicates, level), estimate), estimate, smallSampleFactor(n, level));
}

function wallOf(
  arms: readonly Arm[],
  end: number,
  best: number,
  method: WallMethod,
  draws: number[] | null,
  level: number,
): Wall {
  const all = ones(seedsOf(arms));
  if (best < 0) return { estimate: null, interval: null, n: 0, method, x: arms[end].x, against: null };
  const seeds = pairedSeeds(arms[end], arms[best]);
  const d = seeds.map((s) => arms[end].bySeed.get(s)! - arms[best].bySeed.get(s)!);
  const estimate = seeds.length ? pairedDifference(arms[end], arms[best], all) : null;
  const interval =
    method === 'bootstrap' ? bootstrapInterval(draws ?? [], estimate ?? NaN, seeds.length, level) : pairedT(d, level);
  return { estimate, interval, n: seeds.length, method, x: arms[end].x, against: arms[best].x };
}

/** Both walls and the best arm of one curve (arms sorted by rho, at least three). */
export function fitWalls(
  arms: readonly Arm[],
  opts: WallOptions = {},
): { walls: Walls; bestArm: BestArm; shape: Shape } {
  const level = opts.level ?? 0.9;
  const seeds = seedsOf(arms);
  const method: WallMethod = seeds.length >= MIN_BOOTSTRAP_SEEDS ? 'bootstrap' : 'paired-t';
  const all = ones(seeds);
  const last = arms.length - 1;
  const draws =
    seeds.length >= 2 ? seedResamples(seeds, opts.resamples ?? 2000, opts.seed ?? 0, opts.stream ?? 'walls') : [];
  const reps = draws.map((w: SeedWeights) => {
    const b = bestInterior(arms, w);
    return {
      left: b < 0 ? NaN : pairedDifference(arms[0], arms[b], w),
      right: b < 0 ? NaN : pairedDifference(arms[last], arms[b], w),
      arm: arms[argminArm(arms, w)]?.x ?? NaN,
    };
  });
  const boot = method === 'bootstrap';
  const best = bestInterior(arms, all);
  const walls = {
    left: wallOf(arms, 0, best, method, boot ? reps.map((r) => r.left) : null, level),
    right: wallOf(arms, last, best, method, boot ? reps.map((r) => r.right) : null, level),
  };
  const top = argminArm(arms, all);
  const bestArm = {
    x: arms[top].x,
    loss: mean([...arms[top].bySeed.values()]),
    interval: reps.length
      ? rankInterval(
          reps.map((r) => r.arm),
          level,
        )
      : null,
  };
  return { walls, bestArm, shape: classifyShape(walls) };
}
