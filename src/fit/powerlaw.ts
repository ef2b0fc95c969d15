/**
 * The memory law (docs/SPEC.md section 4, "infinite memory"; the paper's Figure 3 right): validation loss
 * against Engram slots M with the backbone fixed. Three robust (Huber) fits on the seed means:
 * - L = A M^-alpha, a straight line in log-log;
 * - L = a + b log10 M, b = slopePerDecade (the paper's points give about -0.028);
 * - L = E + A M^-alpha where the data determine E (Chinchilla's form, fitted the way the Epoch AI
 *   replication repaired Approach 3: Huber loss, bounds, a grid of starts, a converged
 *   optimiser, bootstrap intervals; see fitSaturating). Over a decade or two of slots a loss
 *   that is straight in log M says nothing about E, so E is reported null with the reason unless
 *   four or more slot counts pin it strictly inside its bounds, its interval narrower than the
 *   losses' own range.
 * Residuals are standardised by each point's standard error (seed noise) or, without seeds to
 * pool, by a robust scale (1.4826 MAD) of the fit's own residuals, so Huber's delta is 1.345.
 */
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
import { lm, robustLine, huberLine, type LineFit, type LmResult, type Problem } from './robust.js';
import type { Residual } from './ushape.js';

export interface PowerlawSeries {
  key: string;
  /** one point per distinct slot count, the seeds' losses in ys */
  points: Point[];
}

export interface PowerlawOptions {
  resamples?: number;
  seed?: number;
  level?: number;
}

export interface PowerlawGroup {
  key: string;
  n: number;
  points: number;
  /** L = A M^-alpha */
  A: number;
  alpha: number;
  /** saturating floor, null when the data do not determine it (see eReason) */
  E: number | null;
  eReason?: string;
  /** L = intercept + slopePerDecade * log10 M */
  slopePerDecade: number;
  intercept: number;
  intervals: {
    A: Interval | null;
    alpha: Interval | null;
    slopePerDecade: Interval | null;
    intercept: Interval | null;
    E?: Interval | null;
  };
  r2: number;
  residuals: Residual[];
  converged: boolean;
  reason?: string;
  saturating: SaturatingFit | null;
  noise: Noise | null;
  /** the log-log line against the seed noise (null without seed noise) */
  lackOfFit: LackOfFit | null;
  resamples: number;
  seed: number;
  failedResamples: number;
}

/** Per-replicate values kept for quantities that combine two series (slotMultiple). */
export interface PowerlawReplicates {
  A: Float64Array;
  alpha: Float64Array;
  /** lowest replicate mean, and its slots */
  bestY: Float64Array;
  bestX: Float64Array;
}

export interface SaturatingFit {
  E: number;
  A: number;
  alpha: number;
  intervals: { E: Interval | null; A: Interval | null; alpha: Interval | null };
  converged: boolean;
  reason: string;
  /** E strictly inside its bounds (in the fit and >= 95% of the resamples), its interval narrower than the losses' range */
  determined: boolean;
  eReason?: string;
  lackOfFit: LackOfFit | null;
}

const ALPHA_MAX = 5;
/** The starts: alpha = 0 and 40 values from 1e-3 to ALPHA_MAX, evenly spaced in log. */
const ALPHA_GRID = [0, ...Array.from({ length: 40 }, (_, k) => 1e-3 * (ALPHA_MAX / 1e-3) ** (k / 39))];
const GOLDEN = (Math.sqrt(5) - 1) / 2;

interface Profiled {
  /** E, A at M = Mref, alpha */
  theta: [number, number, number];
  objective: number;
  converged: boolean;
  reason: string;
}

/**
 * For fixed alpha, L = E + A z with z = (M / Mref)^-alpha is linear in (E, A): a convex Huber
 * problem, bounds 0 <= E <= the lowest loss (a floor above an observed loss is impossible), A >= 0.
 */
function innerFit(
  u: readonly number[],
  y: readonly number[],
  s: readonly number[],
  alpha: number,
  start: readonly number[],
): LmResult {
  const z = u.map((v) => Math.exp(-alpha * v));
  const n = u.length;
  const pr: Problem = {
    n,
    p: 2,
    lower: [0, 0],
    upper: [Math.min(...y), Infinity],
    residuals: ([E, A], r) => {
      for (let i = 0; i < n; i++) r[i] = (y[i] - E - A * z[i]) / s[i];
    },
    jacobian: (_t, J) => {
      for (let i = 0; i < n; i++) {
        J[2 * i] = -1 / s[i];
        J[2 * i + 1] = -z[i] / s[i];
      }
    },
  };
  return lm(pr, start);
}

/**
 * L = E + A (M / Mref)^-alpha by variable projection (Golub and Pereyra): (E, A) solved exactly
 * for each alpha, alpha by a grid (the many starts, which also find the global basin) refined by
 * golden section between the best grid point's neighbours. Residuals are in nats, divided by the
 * points' noise scale s: the seed noise is additive in nats, and over the few percent a memory
 * sweep moves the loss, log residuals (Chinchilla's choice) would differ only by a near-constant.
 */
export function fitSaturating(u: readonly number[], y: readonly number[], s: readonly number[]): Profiled {
  let start = [0.5 * Math.min(...y), Math.max(mean(y as number[]) - 0.5 * Math.min(...y), 0)];
  const at = (alpha: number) => {
    const r = innerFit(u, y, s, alpha, start);
    start = r.theta;
    return r;
  };
  const grid = ALPHA_GRID.map(at);
  let k = 0;
  grid.forEach((g, i) => (g.objective < grid[k].objective ? (k = i) : 0));
  let lo = ALPHA_GRID[Math.max(k - 1, 0)];
  let hi = ALPHA_GRID[Math.min(k + 1, ALPHA_GRID.length - 1)];
  start = grid[k].theta;
  let c = hi - GOLDEN * (hi - lo);
  let d = lo + GOLDEN * (hi - lo);
  let fc = at(c).objective;
  let fd = at(d).objective;
  while (hi - lo > 1e-7 * (1 + hi)) {
    if (fc <= fd) {
      // the minimum is in [lo, d]: d becomes the new upper end, c the new inner right point
      hi = d;
      d = c;
      fd = fc;
      c = hi - GOLDEN * (hi - lo);
      fc = at(c).objective;
    } else {
      lo = c;
      c = d;
      fc = fd;
      d = lo + GOLDEN * (hi - lo);
      fd = at(d).objective;
    }
  }
  const candidates = [grid[k], at((lo + hi) / 2)].map((r, i) => ({ r, alpha: i ? (lo + hi) / 2 : ALPHA_GRID[k] }));
  const best = candidates.reduce((a, b) => (b.r.objective < a.r.objective ? b : a));
  const inner = best.r;
  return {
    theta: [inner.theta[0], inner.theta[1], best.alpha],
    objective: inner.objective,
    converged: inner.converged,
    reason: inner.converged ? 'alpha bracketed to 1e-7, inner fit converged' : `inner fit: ${inner.reason}`,
  };
}

/** E, alpha at (or within 1e-3 of) a bound: E = 0, E = the lowest loss, alpha = 0 or ALPHA_MAX. */
function atBound(t: readonly number[], lowest: number): boolean {
  const tol = 1e-3 * lowest;
  return t[0] <= tol || t[0] >= lowest - tol || t[2] <= 1e-6 || t[2] >= ALPHA_MAX * (1 - 1e-3);
}

/** The saturating fit of the point means, and what its resamples need. */
function saturatingFit(u: number[], y: number[], s: number[], lnRef: number) {
  const best = fitSaturating(u, y, s);
  const [E, aRef, alpha] = best.theta;
  const z = u.map((v) => Math.exp(-alpha * v));
  const lof = lackOfFit(
    y.map((v, i) => (v - E - aRef * z[i]) / s[i]),
    3,
  );
  /** [E, A, alpha, at a bound (1) or not (0)] of one resample */
  const replicate = (yb: number[]): number[] => {
    const r = fitSaturating(u, yb, s);
    if (!r.converged) return [NaN, NaN, NaN, 1];
    return [
      r.theta[0],
      r.theta[1] * Math.exp(r.theta[2] * lnRef),
      r.theta[2],
      atBound(r.theta, Math.min(...yb)) ? 1 : 0,
    ];
  };
  const finish = (reps: number[][] | null, level: number): SaturatingFit => {
    const col = (k: number) =>
      reps
        ? percentileInterval(
            reps.map((r) => r[k]),
            level,
          )
        : null;
    const bounded = reps?.length ? reps.filter((r) => r[3] === 1).length / reps.length : 1;
    const eInt = col(0);
    // the scale E must be known on: the losses' own spread across the slot counts
    const span = Math.max(...y) - Math.min(...y);
    let eReason: string | undefined;
    if (!best.converged) eReason = `saturating fit did not converge (${best.reason})`;
    else if (atBound(best.theta, Math.min(...y)))
      eReason = 'E or alpha at a bound (E = 0 or the lowest loss, alpha = 0 or 5): E not identified';
    else if (!reps) eReason = 'no noise estimate, so no interval to check E against';
    else if (bounded > (1 - level) / 2)
      eReason = `E or alpha at a bound in ${(100 * bounded).toFixed(0)}% of resamples: E interval reaches a bound`;
    else if (!eInt || eInt[0] === null || eInt[1] === null || eInt[1] - eInt[0] > span) {
      eReason = `E interval ${eInt ? `[${eInt.map((v) => v?.toFixed(3)).join(', ')}]` : 'missing'} is wider than the losses' whole range (${span.toFixed(3)}): E not determined`;
    }
    return {
      E,
      A: aRef * Math.exp(alpha * lnRef),
      alpha,
      intervals: { E: eInt, A: col(1), alpha: col(2) },
      converged: best.converged,
      reason: best.reason,
      determined: eReason === undefined,
      ...(eReason ? { eReason } : {}),
      lackOfFit: lof,
    };
  };
  return { replicate, finish, lackOfFit: lof };
}

/** The two robust lines (log-log, and loss on log10 M) and the noise the resamples use. */
function lineFits(pts: Point[]) {
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => mean(p.ys));
  // ln M centred at the geometric mean keeps A and alpha from trading off numerically
  const lnRef = mean(xs.map(Math.log));
  const u = xs.map((x) => Math.log(x) - lnRef);
  const l10Ref = mean(xs.map(Math.log10));
  const w10 = xs.map((x) => Math.log10(x) - l10Ref);
  const seedNoise = pooledNoise(pts);
  const se = seedNoise ? standardErrors(pts, seedNoise) : null;
  const pow = robustLine(u, ys.map(Math.log), se ? se.map((s, j) => s / ys[j]) : null);
  const lin = robustLine(w10, ys, se);
  // Without seeds, single-seed replicates are drawn at the log10 line's residual scale (nats);
  // a scale at robustLine's floor (1e-9 of the loss) means exact data: nothing to resample.
  const df = pts.length - 2;
  const noise: Noise | null =
    seedNoise ??
    (df > 0 && lin.scale[0] > 1e-8 * Math.abs(mean(ys)) ? { sd: lin.scale[0], df, source: 'residuals' } : null);
  return { xs, ys, u, w10, lnRef, l10Ref, seedNoise, se, pow, lin, noise };
}

/** Fit one series (points with slots > 0 and losses > 0, at least two distinct slot counts). */
export function fitPowerlaw(
  series: PowerlawSeries,
  opts: PowerlawOptions = {},
): { group: PowerlawGroup; replicates: PowerlawReplicates | null } {
  const B = opts.resamples ?? DEFAULT_RESAMPLES;
  const seed = opts.seed ?? 0;
  const level = opts.level ?? 0.9;
  const pts = [...series.points].sort((p, q) => p.x - q.x);
  if (pts.length < 2) throw new Error(`powerlaw ${series.key}: needs at least two distinct slot counts`);
  const { xs, ys, u, w10, lnRef, l10Ref, seedNoise, se, pow, lin, noise } = lineFits(pts);
  const A = Math.exp(pow.c - pow.d * lnRef);
  const alpha = -pow.d;
  const fits = xs.map((x) => A * x ** -alpha);
  const sat = pts.length >= 4 ? saturatingFit(u, ys, lin.scale, lnRef) : null;
  // each model's resamples are widened by its own lack of fit (bootstrap.ts: lackOfFit)
  const lof = seedNoise
    ? lackOfFit(
        u.map((x, j) => (Math.log(ys[j]) - pow.c - pow.d * x) / pow.scale[j]),
        2,
      )
    : null;
  const linLof = seedNoise
    ? lackOfFit(
        w10.map((x, j) => (ys[j] - lin.c - lin.d * x) / lin.scale[j]),
        2,
      )
    : null;
  const inflate = {
    pow: lof?.inflation ?? 1,
    lin: linLof?.inflation ?? 1,
    sat: seedNoise && sat ? (sat.lackOfFit?.inflation ?? 1) : 1,
  };
  const boot = noise
    ? bootstrap(series.key, pts, {
        u,
        w10,
        lnRef,
        pow,
        lin,
        sat,
        seed,
        B,
        sd: noise.sd,
        inflate,
        student: studentFactor(noise.df, level),
      })
    : null;
  const intervals: PowerlawGroup['intervals'] = {
    A: boot ? percentileInterval(boot.A, level) : null,
    alpha: boot ? percentileInterval(boot.alpha, level) : null,
    slopePerDecade: boot ? percentileInterval(boot.slope, level) : null,
    intercept: boot ? percentileInterval(boot.intercept, level) : null,
  };
  const saturating = sat ? sat.finish(boot?.sat ?? null, level) : null;
  const eReason = pts.length < 4 ? 'fewer than 4 distinct slot counts' : saturating?.eReason;
  if (saturating?.determined) intervals.E = saturating.intervals.E;
  const reasons = [pow.fit, lin.fit].filter((f) => !f.converged).map((f) => f.reason);
  if (lof && lof.chi2PerDf > 1)
    reasons.push(
      `the power law misses the means by more than seed noise (chi2/df = ${lof.chi2PerDf.toFixed(2)}): resamples widened ${inflate.pow.toFixed(2)}x`,
    );
  if (!noise) reasons.push('no noise estimate (one seed per slot count and two slot counts): no intervals');
  if (boot?.failed) reasons.push(`${boot.failed} of ${B} resamples gave no fit`);
  const w = se ? se.map((s) => 1 / (s * s)) : xs.map(() => 1);
  const group: PowerlawGroup = {
    key: series.key,
    n: pts.reduce((s, p) => s + p.ys.length, 0),
    points: pts.length,
    A,
    alpha,
    E: saturating?.determined ? saturating.E : null,
    ...(saturating?.determined ? {} : { eReason }),
    slopePerDecade: lin.d,
    intercept: lin.c - lin.d * l10Ref,
    intervals,
    r2: weightedR2(ys, fits, w),
    residuals: pts.map((p, j) => ({
      x: xs[j],
      y: ys[j],
      n: p.ys.length,
      se: se ? se[j] : null,
      fit: fits[j],
      residual: ys[j] - fits[j],
    })),
    converged: pow.fit.converged && lin.fit.converged,
    ...(reasons.length ? { reason: reasons.join('; ') } : {}),
    saturating,
    noise,
    lackOfFit: lof,
    resamples: noise ? B : 0,
    seed,
    failedResamples: boot?.failed ?? 0,
  };
  return { group, replicates: boot ? { A: boot.A, alpha: boot.alpha, bestY: boot.bestY, bestX: boot.bestX } : null };
}

interface BootInput {
  u: number[];
  w10: number[];
  lnRef: number;
  pow: LineFit;
  lin: LineFit;
  sat: ReturnType<typeof saturatingFit> | null;
  seed: number;
  B: number;
  sd: number;
  /** Student correction for the estimated noise scale */
  student: number;
  /** per model: the power law, the log10 line, the saturating form */
  inflate: { pow: number; lin: number; sat: number };
}

/** Replicates refit with the point estimate's scales (the weights are part of the estimator). */
function bootstrap(key: string, pts: Point[], o: BootInput) {
  const { B } = o;
  const rs = new Resampler(pts, { noiseSd: o.sd, seed: o.seed, stream: key, inflate: o.student });
  const ys = pts.map((p) => mean(p.ys));
  const out = {
    A: new Float64Array(B),
    alpha: new Float64Array(B),
    slope: new Float64Array(B),
    intercept: new Float64Array(B),
    bestY: new Float64Array(B),
    bestX: new Float64Array(B),
  };
  const satReps: number[][] = [];
  const l10Ref = mean(pts.map((p) => Math.log10(p.x)));
  let failed = 0;
  for (let b = 0; b < B; b++) {
    const y = rs.next();
    const widen = (k: number) => (k === 1 ? y : y.map((v, j) => ys[j] + k * (v - ys[j])));
    const yPow = widen(o.inflate.pow);
    const j = y.indexOf(Math.min(...y));
    out.bestY[b] = y[j];
    out.bestX[b] = pts[j].x;
    const pow = yPow.every((v) => v > 0) ? huberLine(o.u, yPow.map(Math.log), o.pow.scale, [o.pow.c, o.pow.d]) : null;
    const lin = huberLine(o.w10, widen(o.inflate.lin), o.lin.scale, [o.lin.c, o.lin.d]);
    if (!pow?.converged || !lin.converged) {
      failed++;
      out.A[b] = out.alpha[b] = out.slope[b] = out.intercept[b] = NaN;
      continue;
    }
    out.alpha[b] = -pow.theta[1];
    out.A[b] = Math.exp(pow.theta[0] - pow.theta[1] * o.lnRef);
    out.slope[b] = lin.theta[1];
    out.intercept[b] = lin.theta[0] - lin.theta[1] * l10Ref;
    if (o.sat) satReps.push(o.sat.replicate(widen(o.inflate.sat)));
  }
  return { ...out, failed, sat: o.sat ? satReps : null };
}
