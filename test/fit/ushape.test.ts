/**
 * The U-shape fit: exact recovery, gain and edge cases with known answers, and a simulation in
 * which the bootstrap interval must cover the true vertex about 90% of the time and be about as
 * wide as the delta-method interval computed here independently (known noise, float64 algebra).
 */
import { describe, expect, it } from 'vitest';
import { akima } from '../../src/fit/akima.js';
import { gaussian, type Point } from '../../src/fit/bootstrap.js';
import { fitQuadratic, fitUshape } from '../../src/fit/ushape.js';
import { Rng } from '../../src/util/rng.js';

const RHO = [0, 0.25, 0.5, 0.625, 0.75, 0.8125, 0.875, 0.9375, 1];
const truth = (r: number) => 3.7 + 0.12 * (r - 0.72) ** 2;

function simulate(rng: Rng, seeds: number, sd: number, f = truth, xs = RHO): Point[] {
  return xs.map((x) => ({ x, ys: Array.from({ length: seeds }, () => f(x) + sd * gaussian(rng)) }));
}

/** Inverse of a small symmetric matrix by Gauss-Jordan (independent of the code under test). */
function inverse(M: number[][]): number[][] {
  const n = M.length;
  const A = M.map((row, i) => [...row, ...row.map((_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    const p = A[c][c];
    for (let j = 0; j < 2 * n; j++) A[c][j] /= p;
    for (let r = 0; r < n; r++)
      if (r !== c) {
        const k = A[r][c];
        for (let j = 0; j < 2 * n; j++) A[r][j] -= k * A[c][j];
      }
  }
  return A.map((row) => row.slice(n));
}

/** Delta-method sd of the vertex -b / 2a of an equal-weight quadratic fit with known noise. */
function deltaVertexSd(xs: number[], sdMean: number, a: number, b: number): number {
  const X = xs.map((x) => [x * x, x, 1]);
  const XtX = [0, 1, 2].map((i) => [0, 1, 2].map((j) => X.reduce((s, r) => s + r[i] * r[j], 0)));
  const C = inverse(XtX).map((row) => row.map((v) => v * sdMean * sdMean));
  const g = [b / (2 * a * a), -1 / (2 * a), 0];
  return Math.sqrt(g.reduce((s, gi, i) => s + gi * g.reduce((t, gj, j) => t + C[i][j] * gj, 0), 0));
}

describe('fitQuadratic', () => {
  it('recovers exact coefficients, also far from the origin (centred normal equations)', () => {
    const xs = [1000, 1001, 1002.5, 1004, 1007];
    const q = fitQuadratic(
      xs,
      xs.map((x) => 0.5 * x * x - 1003 * x + 7),
      xs.map((_, i) => 1 + i),
    );
    expect(q!.a).toBeCloseTo(0.5, 6);
    expect(-q!.b / (2 * q!.a)).toBeCloseTo(1003, 6);
  });
});

describe('fitUshape', () => {
  it('noiseless curve: vertex, curvature, gain over the moe reference and over the fit at rho = 1', () => {
    const points = RHO.map((x) => ({ x, ys: [truth(x), truth(x)] }));
    const withMoe = fitUshape({ key: 'b', points, reference: [3.9, 3.9] }, { resamples: 1000 });
    expect(withMoe.vertex).toBeCloseTo(0.72, 10);
    expect(withMoe.curvature).toBeCloseTo(0.24, 10);
    expect(withMoe.gain).toBeCloseTo(0.2, 10);
    expect(withMoe.reference).toMatchObject({ source: 'moe', n: 2, loss: 3.9 });
    expect(withMoe.r2).toBeCloseTo(1, 10);
    expect(withMoe.interval).toBeNull(); // no noise at all: no interval, and it says why
    expect(withMoe.reason).toMatch(/no noise estimate/);
    const noMoe = fitUshape({ key: 'b', points }, { resamples: 1000 });
    expect(noMoe.gain).toBeCloseTo(truth(1) - truth(0.72), 10);
    expect(noMoe.reference.source).toBe('fit');
    expect(noMoe.vertexAkima).toBe(akima(RHO, RHO.map(truth)).argmin().x);
  });

  it('a vertex beyond the data is "outside", a concave curve has no vertex', () => {
    const rng = new Rng(1);
    const beyond = fitUshape(
      { key: 'b', points: simulate(rng, 2, 0.001, (r) => 3.7 + 0.2 * (r - 1.4) ** 2) },
      { resamples: 1000 },
    );
    expect(beyond.vertex!).toBeGreaterThan(1);
    expect(beyond.edge).toBe('outside');
    expect(beyond.gain).toBeCloseTo(beyond.reference.loss - beyond.residuals.at(-1)!.fit, 12); // best in range is rho = 1
    const concave = fitUshape(
      { key: 'b', points: simulate(rng, 2, 0.001, (r) => 3.7 - 0.1 * (r - 0.5) ** 2) },
      { resamples: 1000 },
    );
    expect(concave.vertex).toBeNull();
    expect(concave.edge).toBe('outside');
    expect(concave.pCurvaturePositive!).toBeLessThan(0.05);
  });

  it('is reproducible by seed and changes with it', () => {
    const points = simulate(new Rng(2), 2, 0.005);
    const a = fitUshape({ key: 'b', points }, { resamples: 1000, seed: 5 });
    const b = fitUshape({ key: 'b', points }, { resamples: 1000, seed: 5 });
    const c = fitUshape({ key: 'b', points }, { resamples: 1000, seed: 6 });
    expect(a.interval).toEqual(b.interval);
    expect(a.gainInterval).toEqual(b.gainInterval);
    expect(c.interval).not.toEqual(a.interval);
  });

  it('simulation, 3 seeds: the 90% interval covers the true vertex in most runs and matches the delta method in width', () => {
    const rng = new Rng(2024);
    const sd = 0.004;
    const sims = 40;
    let covered = 0;
    let width = 0;
    for (let s = 0; s < sims; s++) {
      const g = fitUshape({ key: 'b', points: simulate(rng, 3, sd) }, { resamples: 1000, seed: s });
      const [lo, hi] = g.interval!;
      if (lo! <= 0.72 && 0.72 <= hi!) covered++;
      width += (hi! - lo!) / sims;
      expect(g.converged).toBe(true);
    }
    const delta = 2 * 1.645 * deltaVertexSd(RHO, sd / Math.sqrt(3), 0.12, -2 * 0.12 * 0.72);
    // 90% nominal: 36 of 40 expected; the corrections make it slightly conservative (38 here)
    expect(covered).toBeGreaterThanOrEqual(32);
    // about as wide as the known-noise delta method (1.19 here: the Student and lack-of-fit widening)
    expect(width / delta).toBeGreaterThan(0.85);
    expect(width / delta).toBeLessThan(1.5);
  });

  it('simulation, one seed per rho: noise from the residuals, intervals still cover (29 of 30 here)', () => {
    const rng = new Rng(77);
    let covered = 0;
    for (let s = 0; s < 30; s++) {
      const g = fitUshape({ key: 'b', points: simulate(rng, 1, 0.004) }, { resamples: 1000, seed: s });
      expect(g.noise!.source).toBe('residuals');
      const [lo, hi] = g.interval!;
      if (lo !== null && hi !== null && lo <= 0.72 && 0.72 <= hi) covered++;
    }
    expect(covered).toBeGreaterThanOrEqual(22);
  });

  it('a curve the quadratic misses (flat basin, jump at rho = 1) is flagged and its interval widened', () => {
    const rng = new Rng(9);
    const jump = (r: number) => (r < 0.95 ? 3.75 + 0.03 * (r - 0.6) ** 2 : 3.85);
    const g = fitUshape({ key: 'b', points: simulate(rng, 2, 0.003, jump) }, { resamples: 1000 });
    expect(g.lackOfFit!.chi2PerDf).toBeGreaterThan(4);
    expect(g.lackOfFit!.inflation).toBeCloseTo(Math.sqrt(g.lackOfFit!.chi2PerDf), 12);
    expect(g.reason).toMatch(/misses the means/);
  });
});
