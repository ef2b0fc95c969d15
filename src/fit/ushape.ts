/**
 * The U-shape (docs/SPEC.md section 4; the paper's Figure 3 left): validation loss against the realised
 * rho at one budget, a weighted quadratic through the seed means, its vertex rho* with a 90%
 * bootstrap interval, and the gain over pure MoE.
 *
 * Weighted least squares rather than a robust loss here: the point that looks like an outlier
 * to a quadratic is the rho = 1 jump the paper is about (the pilot's rho = 1 sits ~0.1 nats above
 * a flat basin), and a Huber fit would discount it. A single bad trial is handled by the weights
 * instead: its point's seed spread, hence its standard error, grows.
 *
 * Sign conventions: curvature = L''(rho) = 2a for L = a rho^2 + b rho + c (> 0: a minimum);
 * gain = L(rho = 1) - L(rho*), positive when the optimum beats pure MoE. L(rho = 1) is the mean
 * of the moe variant's trials (the paper's pure MoE, no Engram module) when the budget has them,
 * else the quadratic at rho = 1. L(rho*) is the quadratic's lowest value within the sampled
 * range (a vertex outside the data is not trusted for a loss).
 */
import { akima } from './akima.js';
import {
  DEFAULT_RESAMPLES,
  lackOfFit,
  studentFactor,
  mean,
  percentileInterval,
  pooledNoise,
  Resampler,
  standardErrors,
  weightedR2,
  type Interval,
  type LackOfFit,
  type Noise,
  type Point,
} from './bootstrap.js';
import { cholSolve } from './robust.js';

export interface UshapeSeries {
  key: string;
  /** the curve: one point per distinct x (realised rho), the seeds' losses in ys */
  points: Point[];
  /** pure-MoE losses (one per seed) at rho = 1, when the sweep has the moe variant */
  reference?: number[];
}

export interface UshapeOptions {
  resamples?: number;
  seed?: number;
  /** interval level (default 0.9) */
  level?: number;
  /** where pure MoE sits on the x axis (default 1) */
  referenceX?: number;
}

export interface Quadratic {
  a: number;
  b: number;
  c: number;
}

export interface Residual {
  x: number;
  /** the seeds' mean */
  y: number;
  n: number;
  se: number | null;
  fit: number;
  residual: number;
}

export interface UshapeGroup {
  key: string;
  /** trials on the curve */
  n: number;
  /** distinct x values */
  points: number;
  vertex: number | null;
  interval: Interval | null;
  vertexAkima: number;
  curvature: number;
  pCurvaturePositive: number | null;
  gain: number;
  gainInterval: Interval | null;
  reference: { source: 'moe' | 'fit'; x: number; loss: number; n: number };
  r2: number;
  residuals: Residual[];
  edge: 'inside' | 'edge' | 'outside';
  converged: boolean;
  reason?: string;
  coefficients: Quadratic;
  noise: Noise | null;
  /** the quadratic against the seed noise; null without seed noise or with three points */
  lackOfFit: LackOfFit | null;
  resamples: number;
  seed: number;
  failedResamples: number;
}

export const evalQuadratic = (q: Quadratic, x: number) => (q.a * x + q.b) * x + q.c;

/**
 * Weighted least squares quadratic. x is centred and scaled before the normal equations so they
 * stay well conditioned, then the coefficients are mapped back; null if singular.
 */
export function fitQuadratic(x: readonly number[], y: readonly number[], w: readonly number[]): Quadratic | null {
  const sw = w.reduce((s, v) => s + v, 0);
  const xm = x.reduce((s, v, i) => s + w[i] * v, 0) / sw;
  const xs = Math.sqrt(x.reduce((s, v, i) => s + w[i] * (v - xm) ** 2, 0) / sw) || 1;
  const A = new Float64Array(9);
  const rhs = new Float64Array(3);
  x.forEach((xi, i) => {
    const z = (xi - xm) / xs;
    const basis = [1, z, z * z];
    for (let j = 0; j < 3; j++) {
      rhs[j] += w[i] * basis[j] * y[i];
      for (let k = 0; k < 3; k++) A[j * 3 + k] += w[i] * basis[j] * basis[k];
    }
  });
  const s = cholSolve(A, rhs, 3);
  if (!s?.every(Number.isFinite)) return null;
  const [al, be, ga] = s; // y = al + be z + ga z^2
  return { a: ga / xs ** 2, b: be / xs - (2 * ga * xm) / xs ** 2, c: al - (be * xm) / xs + (ga * xm * xm) / xs ** 2 };
}

/** The vertex if the quadratic has a minimum, else null. */
export const vertexOf = (q: Quadratic) => (q.a > 0 ? -q.b / (2 * q.a) : null);

/** Where the quadratic is lowest on [lo, hi]. */
export function argminOn(q: Quadratic, lo: number, hi: number): number {
  const v = vertexOf(q);
  if (v !== null) return Math.min(Math.max(v, lo), hi);
  return evalQuadratic(q, lo) <= evalQuadratic(q, hi) ? lo : hi;
}

/**
 * A replicate's optimum for the interval: the vertex when convex; otherwise the minimum lies
 * beyond the data on the lower side, -Infinity or +Infinity, so concave replicates widen the
 * interval to unbounded rather than being dropped (which would make it look tighter than it is).
 */
function replicateOptimum(q: Quadratic, lo: number, hi: number): number {
  const v = vertexOf(q);
  if (v !== null) return v;
  return evalQuadratic(q, lo) <= evalQuadratic(q, hi) ? -Infinity : Infinity;
}

/** 'inside' when the vertex and its whole interval lie in the sampled range; 'edge' when only the vertex does. */
export function edgeOf(vertex: number | null, interval: Interval | null, lo: number, hi: number): UshapeGroup['edge'] {
  if (vertex === null || vertex < lo || vertex > hi) return 'outside';
  if (!interval || interval[0] === null || interval[1] === null || interval[0] < lo || interval[1] > hi) return 'edge';
  return 'inside';
}

/** Seed noise: pooled over the curve and the reference; else the equal-weight fit's residual scale. */
function noiseFor(series: UshapeSeries, xs: number[], means: number[]): Noise | null {
  const ref = series.reference?.length ? [{ x: NaN, ys: series.reference }] : [];
  const seeds = pooledNoise([...series.points, ...ref]);
  if (seeds) return seeds;
  const df = xs.length - 3;
  const q = fitQuadratic(
    xs,
    means,
    xs.map(() => 1),
  );
  if (df <= 0 || !q) return null;
  const rss = xs.reduce((s, x, i) => s + (means[i] - evalQuadratic(q, x)) ** 2, 0);
  const sd = Math.sqrt(rss / df);
  // a residual scale at rounding level means an exact curve: no noise to bootstrap
  return sd > 1e-10 * Math.abs(mean(means)) ? { sd, df, source: 'residuals' } : null;
}

/** A curve whose normal equations were singular: reported, not thrown (converged: false). */
function unfitted(
  base: Pick<UshapeGroup, 'key' | 'n' | 'points' | 'vertexAkima' | 'noise' | 'resamples' | 'seed'>,
  reference: number[],
  refX: number,
): UshapeGroup {
  return {
    ...base,
    vertex: null,
    interval: null,
    curvature: NaN,
    pCurvaturePositive: null,
    gain: NaN,
    gainInterval: null,
    reference: {
      source: reference.length ? 'moe' : 'fit',
      x: refX,
      loss: reference.length ? mean(reference) : NaN,
      n: reference.length,
    },
    r2: NaN,
    residuals: [],
    edge: 'outside',
    converged: false,
    reason: 'singular weighted normal equations',
    coefficients: { a: NaN, b: NaN, c: NaN },
    lackOfFit: null,
    failedResamples: 0,
  };
}

/** Fit one budget's curve (points sorted by x, at least three of them). */
export function fitUshape(series: UshapeSeries, opts: UshapeOptions = {}): UshapeGroup {
  const B = opts.resamples ?? DEFAULT_RESAMPLES;
  const seed = opts.seed ?? 0;
  const refX = opts.referenceX ?? 1;
  const pts = [...series.points].sort((p, q) => p.x - q.x);
  if (pts.length < 3)
    throw new Error(`ushape ${series.key}: needs at least three distinct x values, got ${pts.length}`);
  const xs = pts.map((p) => p.x);
  const means = pts.map((p) => mean(p.ys));
  const lo = xs[0];
  const hi = xs[xs.length - 1];
  const noise = noiseFor(series, xs, means);
  const se = noise ? standardErrors(pts, noise) : null;
  const w = se ? se.map((s) => 1 / (s * s)) : xs.map(() => 1);
  const q = fitQuadratic(xs, means, w);
  const refN = series.reference?.length ?? 0;
  const refLoss = (qq: Quadratic, refMean: number | null) => refMean ?? evalQuadratic(qq, refX);
  const base = {
    key: series.key,
    n: pts.reduce((s, p) => s + p.ys.length, 0),
    points: pts.length,
    vertexAkima: akima(xs, means).argmin().x,
    noise,
    resamples: noise ? B : 0,
    seed,
  };
  if (!q) return unfitted(base, series.reference ?? [], refX);
  const fits = xs.map((x) => evalQuadratic(q, x));
  const refMean = refN ? mean(series.reference!) : null;
  const vertex = vertexOf(q);
  const gainOf = (qq: Quadratic, rm: number | null) => refLoss(qq, rm) - evalQuadratic(qq, argminOn(qq, lo, hi));
  const lof =
    se && noise?.source === 'seeds'
      ? lackOfFit(
          means.map((m, j) => (m - fits[j]) / se[j]),
          3,
        )
      : null;
  const level = opts.level ?? 0.9;
  const student = noise ? studentFactor(noise.df, level) : 1;
  const boot = noise
    ? bootstrap(
        series.key,
        pts,
        series.reference ?? [],
        w,
        noise,
        B,
        seed,
        { lo, hi },
        gainOf,
        (lof?.inflation ?? 1) * student,
        student,
      )
    : null;
  const interval = boot ? percentileInterval(boot.optimum, level) : null;
  const reasons: string[] = [];
  if (!noise) reasons.push('no noise estimate (one seed per x and only three x values): no intervals');
  if (lof && lof.chi2PerDf > 1)
    reasons.push(
      `the quadratic misses the means by more than seed noise (chi2/df = ${lof.chi2PerDf.toFixed(2)}): resamples widened ${lof.inflation.toFixed(2)}x`,
    );
  if (boot && boot.failed > 0) reasons.push(`${boot.failed} of ${B} resamples gave no fit`);
  return {
    ...base,
    vertex,
    interval,
    curvature: 2 * q.a,
    pCurvaturePositive: boot && boot.failed < B ? boot.convex / (B - boot.failed) : null,
    gain: gainOf(q, refMean),
    gainInterval: boot ? percentileInterval(boot.gain, level) : null,
    reference: { source: refN ? 'moe' : 'fit', x: refX, loss: refLoss(q, refMean), n: refN },
    r2: weightedR2(means, fits, w),
    residuals: pts.map((p, j) => ({
      x: xs[j],
      y: means[j],
      n: p.ys.length,
      se: se ? se[j] : null,
      fit: fits[j],
      residual: means[j] - fits[j],
    })),
    edge: edgeOf(vertex, interval, lo, hi),
    converged: true,
    ...(reasons.length ? { reason: reasons.join('; ') } : {}),
    coefficients: q,
    lackOfFit: lof,
    failedResamples: boot?.failed ?? 0,
  };
}

/** Refit B replicates with the original weights (the weights are part of the estimator). */
function bootstrap(
  key: string,
  pts: Point[],
  reference: number[],
  w: number[],
  noise: Noise,
  B: number,
  seed: number,
  range: { lo: number; hi: number },
  gainOf: (q: Quadratic, refMean: number | null) => number,
  inflate: number,
  student: number,
) {
  const xs = pts.map((p) => p.x);
  // the reference joins the pool of seed deviations; the lack-of-fit widening is the curve's only
  const all = reference.length ? [...pts, { x: NaN, ys: reference }] : pts;
  const rs = new Resampler(all, {
    noiseSd: noise.sd,
    seed,
    stream: key,
    inflate: all.map((_, j) => (j < pts.length ? inflate : student)),
  });
  const optimum = new Float64Array(B);
  const gain = new Float64Array(B);
  let convex = 0;
  let failed = 0;
  for (let b = 0; b < B; b++) {
    const y = rs.next();
    const q = fitQuadratic(xs, y.slice(0, pts.length), w);
    const rm = reference.length ? y[pts.length] : null;
    if (!q) {
      optimum[b] = gain[b] = NaN;
      failed++;
      continue;
    }
    if (q.a > 0) convex++;
    optimum[b] = replicateOptimum(q, range.lo, range.hi);
    gain[b] = gainOf(q, rm);
  }
  return { optimum, gain, convex, failed };
}
