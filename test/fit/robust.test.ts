/**
 * The optimiser behind the memory-law fits: known minima, agreement with an independent
 * least-squares implementation (ml-levenberg-marquardt), bounds, reported non-convergence,
 * multi-start, and Huber's robustness to an outlier against a brute-force minimum.
 */
import { levenbergMarquardt } from 'ml-levenberg-marquardt';
import { describe, expect, it } from 'vitest';
import {
  huber,
  huberLine,
  lm,
  madScale,
  multiStart,
  objectiveOf,
  robustLine,
  type Problem,
} from '../../src/fit/robust.js';
import { Rng } from '../../src/util/rng.js';
import { gaussian } from '../../src/fit/bootstrap.js';

/** Rosenbrock as residuals: r = [10 (y - x^2), 1 - x], minimum 0 at (1, 1). */
const rosenbrock: Problem = {
  n: 2,
  p: 2,
  residuals: ([x, y], r) => {
    r[0] = 10 * (y - x * x);
    r[1] = 1 - x;
  },
  jacobian: ([x], J) => {
    J[0] = -20 * x;
    J[1] = 10;
    J[2] = -1;
    J[3] = 0;
  },
};

/** y = A exp(-k x) + c, least squares. */
function decayProblem(xs: number[], ys: number[]): Problem {
  return {
    n: xs.length,
    p: 3,
    residuals: ([A, k, c], r) => xs.forEach((x, i) => (r[i] = ys[i] - (A * Math.exp(-k * x) + c))),
    jacobian: ([A, k], J) =>
      xs.forEach((x, i) => {
        const e = Math.exp(-k * x);
        J[3 * i] = -e;
        J[3 * i + 1] = A * x * e;
        J[3 * i + 2] = -1;
      }),
  };
}

describe('lm', () => {
  it('finds the Rosenbrock minimum from the classic start and says it converged', () => {
    const r = lm(rosenbrock, [-1.2, 1], { delta: Infinity });
    expect(r.converged).toBe(true);
    expect(r.theta[0]).toBeCloseTo(1, 6);
    expect(r.theta[1]).toBeCloseTo(1, 6);
    expect(r.objective).toBeLessThan(1e-12);
  });

  it('reports running out of iterations as not converged, with the reason', () => {
    const r = lm(rosenbrock, [-1.2, 1], { delta: Infinity, maxIterations: 2 });
    expect(r.converged).toBe(false);
    expect(r.reason).toMatch(/no convergence in 2 iterations/);
  });

  it('agrees with ml-levenberg-marquardt on a noisy exponential decay (least squares)', () => {
    const rng = new Rng(7);
    const xs = Array.from({ length: 25 }, (_, i) => i * 0.2);
    const ys = xs.map((x) => 2.5 * Math.exp(-1.3 * x) + 0.4 + 0.02 * gaussian(rng));
    const mine = lm(decayProblem(xs, ys), [1, 0.5, 0], { delta: Infinity });
    const ref = levenbergMarquardt(
      { x: xs, y: ys },
      ([A, k, c]) =>
        (x: number) =>
          A * Math.exp(-k * x) + c,
      {
        initialValues: [1, 0.5, 0],
        gradientDifference: 1e-6,
        centralDifference: true,
        maxIterations: 2000,
        errorTolerance: 1e-14,
        minValues: [-10, -10, -10],
        maxValues: [10, 10, 10],
      },
    );
    expect(mine.converged).toBe(true);
    mine.theta.forEach((v, j) => expect(v).toBeCloseTo(ref.parameterValues[j], 4));
    // ours is at least as good: sum of squares = 2 * objective
    expect(2 * mine.objective).toBeLessThanOrEqual(ref.parameterError * (1 + 1e-9));
  });

  it('stops at a bound when the unconstrained minimum lies beyond it', () => {
    const pr: Problem = {
      n: 1,
      p: 1,
      upper: [2],
      residuals: ([t], r) => (r[0] = t - 3),
      jacobian: (_t, J) => (J[0] = 1),
    };
    const r = lm(pr, [0], { delta: Infinity });
    expect(r.theta[0]).toBe(2);
    expect(r.converged).toBe(true);
  });
});

describe('multiStart', () => {
  // r = [t^2 - 1, 0.3 (t - 0.5)]: local minima near -1 and +1, the global one near +1
  const twoWells: Problem = {
    n: 2,
    p: 1,
    residuals: ([t], r) => {
      r[0] = t * t - 1;
      r[1] = 0.3 * (t - 0.5);
    },
    jacobian: ([t], J) => {
      J[0] = 2 * t;
      J[1] = 0.3;
    },
  };
  it('a single start from the wrong side finds the local minimum; several starts find the global one', () => {
    const local = lm(twoWells, [-2], { delta: Infinity });
    expect(local.theta[0]).toBeLessThan(0);
    const best = multiStart(twoWells, [[-2], [-0.5], [2]], { delta: Infinity });
    expect(best.theta[0]).toBeGreaterThan(0.9);
    expect(best.objective).toBeLessThan(local.objective);
    expect(best.starts).toBe(3);
    expect(best.agree).toBeGreaterThanOrEqual(1);
  });
});

describe('Huber', () => {
  it('huber() is quadratic inside delta and linear outside, continuous at delta', () => {
    expect(huber(0.5, 1)).toBeCloseTo(0.125, 15);
    expect(huber(3, 1)).toBeCloseTo(2.5, 15);
    expect(huber(1 + 1e-9, 1)).toBeCloseTo(huber(1, 1), 8);
  });

  it('a line with one wild point: Huber stays near the truth where least squares does not', () => {
    const rng = new Rng(3);
    const u = Array.from({ length: 10 }, (_, i) => i);
    const v = u.map((x) => 1 + 0.5 * x + 0.05 * gaussian(rng));
    v[7] += 5; // the outlier
    const ones = u.map(() => 0.05);
    const rob = huberLine(u, v, ones);
    const ls = lm(
      {
        n: 10,
        p: 2,
        residuals: (t, r) => u.forEach((x, i) => (r[i] = (v[i] - t[0] - t[1] * x) / 0.05)),
        jacobian: (_t, J) => u.forEach((x, i) => J.set([-20, -x * 20], 2 * i)),
      },
      [0, 0],
      { delta: Infinity },
    );
    expect(Math.abs(rob.theta[1] - 0.5)).toBeLessThan(0.03);
    expect(Math.abs(ls.theta[1] - 0.5)).toBeGreaterThan(0.1);
    // the returned point is the Huber minimum: no point of a fine grid around it does better
    const obj = (c: number, d: number) =>
      objectiveOf(
        Float64Array.from(u, (x, i) => (v[i] - c - d * x) / 0.05),
        1.345,
      );
    const f0 = obj(rob.theta[0], rob.theta[1]);
    for (let a = -20; a <= 20; a++)
      for (let b = -20; b <= 20; b++)
        expect(obj(rob.theta[0] + a * 2e-3, rob.theta[1] + b * 2e-4)).toBeGreaterThanOrEqual(f0 - 1e-9);
  });

  it('robustLine without a known scale estimates it (MAD) and still ignores the outlier', () => {
    const rng = new Rng(5);
    const u = Array.from({ length: 8 }, (_, i) => i);
    const v = u.map((x) => 2 - 0.3 * x + 0.01 * gaussian(rng));
    v[2] -= 1;
    const fit = robustLine(u, v, null);
    expect(fit.fit.converged).toBe(true);
    expect(fit.d).toBeCloseTo(-0.3, 2);
    expect(fit.scale[0]).toBeGreaterThan(0.003);
    expect(fit.scale[0]).toBeLessThan(0.05);
  });

  it('madScale is about 1 for standard normal residuals', () => {
    const rng = new Rng(11);
    const r = Array.from({ length: 4000 }, () => gaussian(rng));
    expect(madScale(r, 0)).toBeGreaterThan(0.95);
    expect(madScale(r, 0)).toBeLessThan(1.05);
  });
});
