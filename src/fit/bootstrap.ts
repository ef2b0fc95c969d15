/**
 * Seed noise and the bootstrap behind every interval in fit/: resample the seeds, refit, take
 * percentiles (90% by default, at least 1000 resamples). Seeded, so the same data and seed give
 * the same intervals.
 *
 * With the 1-3 seeds a sweep affords, a plain within-rho seed bootstrap under-covers (simulated:
 * ~80% for a nominal 90%). The repairs, each checked by simulation in test/fit/ushape.test.ts:
 * - Seed deviations (a trial's y minus its point's mean, times sqrt(n / (n - 1)) so their
 *   variance is unbiased) are pooled across x and each point draws its n from the pool, so the
 *   scale rests on all seeds' degrees of freedom, and single-seed points get noise too. With no
 *   point of two seeds, normal noise at the fit's residual scale (given by the caller).
 * - Student: deviations are widened by t_df / z, the usual allowance for an estimated scale.
 * - Lack of fit: when the curve misses the means by more than the seed noise, deviations are
 *   widened by sqrt(chi2 / df) (the Birge ratio), so a wrong model shape widens the interval.
 * Result: 91-95% simulated coverage of the vertex and the gain for 1, 2 and 3 seeds.
 * A sweep reuses a seed's init and batch order at every rho (common random numbers), so seed
 * errors are correlated across x; resampling each x independently ignores that, which makes
 * intervals on differences (vertex, gain) conservative rather than optimistic.
 */
import { Rng } from '../util/rng.js';

/** The trials at one x: their y values, one per seed. */
export interface Point {
  x: number;
  ys: number[];
  /** the seed of each y, where known: walls pair arms by seed (fit/arms.ts) */
  seeds?: number[];
}

export interface Noise {
  /** standard deviation of one trial's y around its point's mean */
  sd: number;
  /** degrees of freedom behind sd */
  df: number;
  /** seeds: pooled within-point spread; residuals: the fit's residual scale */
  source: 'seeds' | 'residuals';
}

export const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** R^2 of fitted values f against y with weights w (1/se^2 of each mean); 1 when y is constant. */
export function weightedR2(y: readonly number[], f: readonly number[], w: readonly number[]): number {
  const sw = w.reduce((s, v) => s + v, 0);
  const ym = y.reduce((s, v, i) => s + w[i] * v, 0) / sw;
  const ssr = y.reduce((s, v, i) => s + w[i] * (v - f[i]) ** 2, 0);
  const sst = y.reduce((s, v, i) => s + w[i] * (v - ym) ** 2, 0);
  return sst > 0 ? 1 - ssr / sst : 1;
}

/** Pooled within-point standard deviation over points with at least two seeds; null if none (or all agree). */
export function pooledNoise(points: readonly Point[]): Noise | null {
  let ss = 0;
  let df = 0;
  for (const p of points) {
    if (p.ys.length < 2) continue;
    const m = mean(p.ys);
    for (const y of p.ys) ss += (y - m) ** 2;
    df += p.ys.length - 1;
  }
  // seeds that agree exactly carry no noise information (and would give infinite weights)
  return df > 0 && ss > 0 ? { sd: Math.sqrt(ss / df), df, source: 'seeds' } : null;
}

/** Weight of the pooled variance, in degrees of freedom, when shrinking a point's own variance. */
export const PRIOR_DF = 3;

/**
 * Standard error of each point's mean. A point's own seed variance (n - 1 degrees of freedom) is
 * shrunk toward the pooled one (worth PRIOR_DF): with two seeds a point's own variance has one
 * degree of freedom and can come out near zero by chance, which would give it a near-infinite
 * weight. Without any seed noise every point gets noise.sd / sqrt(n).
 */
export function standardErrors(points: readonly Point[], noise: Noise): number[] {
  return points.map((p) => {
    const n = p.ys.length;
    let v = noise.sd ** 2;
    if (n >= 2 && noise.source === 'seeds') {
      const m = mean(p.ys);
      const own = p.ys.reduce((s, y) => s + (y - m) ** 2, 0);
      v = (own + PRIOR_DF * noise.sd ** 2) / (n - 1 + PRIOR_DF);
    }
    return Math.sqrt(v / n);
  });
}

/** A standard normal draw (Box-Muller, float64). */
export function gaussian(rng: Rng): number {
  const u1 = (rng.nextU32() + 1) / 4294967297; // (0, 1]
  const u2 = rng.uniform();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

export interface ResampleOptions {
  /** noise of one trial, for single-seed points when no point has two seeds */
  noiseSd: number;
  seed: number;
  /** names the stream, so a group's replicates do not depend on the other groups */
  stream: string;
  /** scales each point's replicate deviation (Student and lack-of-fit corrections); one per point or one for all */
  inflate?: number | readonly number[];
  /**
   * pooled (default): a point's replicate adds the mean of n draws from the pool of every
   * point's seed deviations; within: resample the point's own seeds.
   */
  mode?: 'pooled' | 'within';
}

/**
 * Draws replicate point means. Resampling a point's own two or three seeds ("within") gives
 * each point a variance estimated from one or two degrees of freedom, and intervals from it
 * under-cover (simulated: ~83% for a nominal 90% with two seeds at nine rho, even after the
 * corrections). Pooling the seeds' deviations across x (seed noise is much the same at every
 * rho) keeps the resampling non-parametric while its scale rests on all the seeds' degrees of
 * freedom; the simulations in test/fit/ushape.test.ts check the coverage.
 */
export class Resampler {
  private readonly rng: Rng;
  private readonly means: number[];
  private readonly pool: number[] = [];
  private readonly inflate: number[];
  private readonly mode: 'pooled' | 'within';
  constructor(
    private readonly points: readonly Point[],
    private readonly o: ResampleOptions,
  ) {
    this.rng = Rng.named(o.seed, `bootstrap:${o.stream}`);
    this.means = points.map((p) => mean(p.ys));
    this.mode = o.mode ?? 'pooled';
    const inf = o.inflate ?? 1;
    this.inflate = points.map((_, j) => (typeof inf === 'number' ? inf : inf[j]));
    points.forEach((p, j) => {
      const n = p.ys.length;
      if (n >= 2) for (const y of p.ys) this.pool.push((y - this.means[j]) * Math.sqrt(n / (n - 1)));
    });
  }

  next(): number[] {
    return this.points.map((p, j) => {
      const n = p.ys.length;
      let dev: number;
      if (this.pool.length === 0) dev = (this.o.noiseSd / Math.sqrt(n)) * gaussian(this.rng);
      else if (this.mode === 'pooled' || n === 1) {
        let s = 0;
        for (let k = 0; k < n; k++) s += this.pool[this.rng.int(this.pool.length)];
        dev = s / n;
      } else {
        let s = 0;
        for (let k = 0; k < n; k++) s += p.ys[this.rng.int(n)];
        dev = (s / n - this.means[j]) * Math.sqrt(n / (n - 1));
      }
      return this.means[j] + this.inflate[j] * dev;
    });
  }
}

/** Quantile of sorted values (linear interpolation, R type 7); infinities propagate. */
export function quantile(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  const a = sorted[lo];
  const b = sorted[hi];
  if (lo === hi || a === b) return a;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return h - lo < 0.5 ? a : b;
  return a + (h - lo) * (b - a);
}

/** [lo, hi] or null for an unbounded end (JSON has no infinity). */
export type Interval = [number | null, number | null];

/** Central percentile interval at `level` (0.9: the 5th and 95th percentiles); NaNs dropped. */
export function percentileInterval(values: ArrayLike<number>, level = 0.9): Interval | null {
  const s = Array.from(values)
    .filter((v) => !Number.isNaN(v))
    .sort((a, b) => a - b);
  if (s.length === 0) return null;
  const fin = (v: number) => (Number.isFinite(v) ? v : null);
  return [fin(quantile(s, (1 - level) / 2)), fin(quantile(s, (1 + level) / 2))];
}

export const DEFAULT_RESAMPLES = 2000;

/** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

/** Student t quantile by the Cornish-Fisher expansion in 1 / df (within ~1e-3 for df >= 3). */
export function tQuantile(p: number, df: number): number {
  const z = normalQuantile(p);
  const z3 = z ** 3;
  const z5 = z ** 5;
  const z7 = z ** 7;
  return (
    z +
    (z3 + z) / (4 * df) +
    (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2) +
    (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3)
  );
}

/**
 * Resampling treats the estimated seed noise as if it were known; with the few degrees of
 * freedom a sweep has (two seeds at nine rho: 9), that makes intervals too narrow (simulated
 * coverage ~82% for a nominal 90%). Widening the deviations by t_df / z at the interval's level
 * is the Student correction for an estimated scale.
 */
export function studentFactor(df: number, level: number): number {
  const p = (1 + level) / 2;
  return df >= 3 ? tQuantile(p, df) / normalQuantile(p) : tQuantile(p, 3) / normalQuantile(p);
}

/** How far the fit misses the means, against their standard errors. */
export interface LackOfFit {
  /** sum of squared standardised residuals over its degrees of freedom (~1 when the model fits) */
  chi2PerDf: number;
  df: number;
  /** factor applied to the resampled deviations: sqrt(max(1, chi2PerDf)) */
  inflation: number;
}

/**
 * Seed noise alone cannot widen an interval for a curve that does not fit: when the standardised
 * residuals exceed the seed noise (chi2 / df > 1), the resampled deviations are scaled by
 * sqrt(chi2 / df), the Birge ratio (the Particle Data Group's scale factor). Never shrunk.
 */
export function lackOfFit(standardised: readonly number[], params: number): LackOfFit | null {
  const df = standardised.length - params;
  if (df <= 0) return null;
  const chi2PerDf = standardised.reduce((s, r) => s + r * r, 0) / df;
  return { chi2PerDf, df, inflation: Math.sqrt(Math.max(1, chi2PerDf)) };
}
