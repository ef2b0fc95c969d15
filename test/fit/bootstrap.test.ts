/** Seed noise, the resampler's variance (checked against the exact small-sample answer), quantiles, reproducibility. */
import { describe, expect, it } from 'vitest';
import {
  lackOfFit,
  normalQuantile,
  percentileInterval,
  pooledNoise,
  quantile,
  Resampler,
  standardErrors,
  studentFactor,
  tQuantile,
  PRIOR_DF,
} from '../../src/fit/bootstrap.js';

const variance = (v: number[]) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1);
};

describe('seed noise', () => {
  it('pools within-point variance over points with two or more seeds', () => {
    const pts = [
      { x: 0, ys: [1, 3] }, // ss 2, df 1
      { x: 1, ys: [5] }, // no information
      { x: 2, ys: [0, 3, 6] }, // ss 18, df 2
    ];
    const n = pooledNoise(pts)!;
    expect(n.df).toBe(3);
    expect(n.sd).toBeCloseTo(Math.sqrt(20 / 3), 14);
    expect(pooledNoise([{ x: 0, ys: [1] }])).toBeNull();
    expect(pooledNoise([{ x: 0, ys: [2, 2] }])).toBeNull(); // identical seeds carry no noise estimate
  });

  it("shrinks a point's own variance toward the pooled one by PRIOR_DF degrees of freedom", () => {
    const pts = [
      { x: 0, ys: [1, 1.02] },
      { x: 1, ys: [2] },
    ];
    const noise = { sd: 0.1, df: 5, source: 'seeds' as const };
    const se = standardErrors(pts, noise);
    const own = 0.0002; // (0.01^2 + 0.01^2)
    expect(se[0]).toBeCloseTo(Math.sqrt((own + PRIOR_DF * 0.01) / (1 + PRIOR_DF) / 2), 14);
    expect(se[1]).toBeCloseTo(0.1, 14);
  });
});

describe('Resampler', () => {
  const pts = [
    { x: 0, ys: [3.7, 3.74] },
    { x: 1, ys: [3.6, 3.65, 3.61] },
    { x: 2, ys: [3.5] },
  ];
  const draws = (r: Resampler, n = 20000) => Array.from({ length: n }, () => r.next());
  const col = (reps: number[][], j: number) => reps.map((r) => r[j]);

  it('within: each mean gets the variance s^2 / n of its own seeds (small-sample corrected)', () => {
    const reps = draws(new Resampler(pts.slice(0, 2), { noiseSd: 0.02, seed: 1, stream: 't', mode: 'within' }));
    expect(variance(col(reps, 0)) / (variance(pts[0].ys) / 2)).toBeCloseTo(1, 1);
    expect(variance(col(reps, 1)) / (variance(pts[1].ys) / 3)).toBeCloseTo(1, 1);
    // a two-seed mean takes exactly three values: ybar and ybar +- sqrt(2) d / 2
    expect(new Set(col(reps, 0).map((v) => v.toFixed(9))).size).toBe(3);
  });

  it('pooled: every mean gets the pooled variance / n, single-seed points included', () => {
    const pooled = pooledNoise(pts)!.sd ** 2;
    const reps = draws(new Resampler(pts, { noiseSd: 99, seed: 2, stream: 't' }));
    [2, 3, 1].forEach((n, j) => expect(variance(col(reps, j)) / (pooled / n)).toBeCloseTo(1, 1));
  });

  it('without any point of two seeds: normal noise at noiseSd', () => {
    const reps = draws(
      new Resampler(
        [
          { x: 0, ys: [1] },
          { x: 1, ys: [2] },
        ],
        { noiseSd: 0.02, seed: 3, stream: 't' },
      ),
    );
    expect(Math.sqrt(variance(col(reps, 1))) / 0.02).toBeCloseTo(1, 1);
  });

  it('is reproducible by seed and stream, and different across seeds', () => {
    const draw = (seed: number, stream: string) => draws(new Resampler(pts, { noiseSd: 0.5, seed, stream }), 50);
    expect(draw(3, 'a')).toEqual(draw(3, 'a'));
    expect(draw(3, 'a')).not.toEqual(draw(4, 'a'));
    expect(draw(3, 'a')).not.toEqual(draw(3, 'b'));
  });

  it("inflate scales each point's deviation from its observed mean", () => {
    const a = new Resampler(pts, { noiseSd: 0.5, seed: 9, stream: 's' });
    const b = new Resampler(pts, { noiseSd: 0.5, seed: 9, stream: 's', inflate: [3, 1, 2] });
    for (let i = 0; i < 20; i++) {
      const [ra, rb] = [a.next(), b.next()];
      expect(rb[0] - 3.72).toBeCloseTo(3 * (ra[0] - 3.72), 12);
      expect(rb[1]).toBeCloseTo(ra[1], 12);
      expect(rb[2] - 3.5).toBeCloseTo(2 * (ra[2] - 3.5), 12);
    }
  });
});

describe('Student correction', () => {
  it('normal and t quantiles match tables', () => {
    expect(normalQuantile(0.95)).toBeCloseTo(1.644854, 6);
    expect(normalQuantile(0.005)).toBeCloseTo(-2.575829, 6);
    expect(tQuantile(0.95, 10)).toBeCloseTo(1.812461, 3);
    expect(tQuantile(0.95, 4)).toBeCloseTo(2.131847, 2);
    expect(studentFactor(1e9, 0.9)).toBeCloseTo(1, 6);
    expect(studentFactor(10, 0.9)).toBeCloseTo(1.812461 / 1.644854, 3);
  });
});

describe('intervals', () => {
  it('quantile follows R type 7', () => {
    const s = [1, 2, 3, 4, 5];
    expect(quantile(s, 0.05)).toBeCloseTo(1.2, 14);
    expect(quantile(s, 0.95)).toBeCloseTo(4.8, 14);
    expect(quantile(s, 0.5)).toBe(3);
  });

  it('percentileInterval drops NaN and turns infinite ends into null (unbounded)', () => {
    const v = [...Array.from({ length: 100 }, (_, i) => i), NaN];
    const [lo, hi] = percentileInterval(v)!;
    expect(lo).toBeCloseTo(4.95, 12);
    expect(hi).toBeCloseTo(94.05, 12);
    const inf = [-Infinity, ...Array.from({ length: 18 }, (_, i) => i), -Infinity, -Infinity];
    expect(percentileInterval(inf)![0]).toBeNull();
    expect(percentileInterval([NaN])).toBeNull();
  });

  it('lackOfFit: chi2/df and a Birge inflation that never shrinks', () => {
    expect(lackOfFit([2, 2, 2, 2], 2)).toEqual({ chi2PerDf: 8, df: 2, inflation: Math.sqrt(8) });
    expect(lackOfFit([0.1, -0.1, 0.1], 1)!.inflation).toBe(1);
    expect(lackOfFit([1, 1], 2)).toBeNull();
  });
});
