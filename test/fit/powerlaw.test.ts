/**
 * The memory law: known parameters back from synthetic data (power law, log10 line, saturating
 * floor), E reported null where the data cannot determine it, robustness to one wild point
 * (against an ordinary least-squares fit computed here), and Engram's slot multiple.
 */
import { describe, expect, it } from 'vitest';
import { gaussian, type Point } from '../../src/fit/bootstrap.js';
import { slotMultiple } from '../../src/fit/index.js';
import { fitPowerlaw } from '../../src/fit/powerlaw.js';
import { Rng } from '../../src/util/rng.js';

const SLOTS = [258000, 500000, 1e6, 2e6, 4e6, 1e7];

function simulate(rng: Rng, f: (m: number) => number, seeds: number, sd: number, xs = SLOTS): Point[] {
  return xs.map((x) => ({ x, ys: Array.from({ length: seeds }, () => f(x) + sd * gaussian(rng)) }));
}

const inside = (v: number, i: [number | null, number | null] | null | undefined) =>
  !!i && i[0] !== null && i[1] !== null && i[0] <= v && v <= i[1];

/** Ordinary least squares of log L on log M: the non-robust reference. */
function olsLogLog(points: Point[]): { alpha: number } {
  const u = points.map((p) => Math.log(p.x));
  const v = points.map((p) => Math.log(p.ys[0]));
  const um = u.reduce((a, b) => a + b) / u.length;
  const vm = v.reduce((a, b) => a + b) / v.length;
  const slope = u.reduce((s, x, i) => s + (x - um) * (v[i] - vm), 0) / u.reduce((s, x) => s + (x - um) ** 2, 0);
  return { alpha: -slope };
}

describe('fitPowerlaw', () => {
  it('recovers A and alpha of L = A M^-alpha, each inside its 90% interval', () => {
    const { group: g } = fitPowerlaw(
      { key: 'engram', points: simulate(new Rng(1), (m) => 6 * m ** -0.05, 3, 0.004) },
      { resamples: 1000 },
    );
    expect(g.converged).toBe(true);
    expect(g.alpha).toBeCloseTo(0.05, 2);
    expect(g.A / 6).toBeCloseTo(1, 1);
    expect(inside(0.05, g.intervals.alpha)).toBe(true);
    expect(inside(6, g.intervals.A)).toBe(true);
    expect(g.r2).toBeGreaterThan(0.99);
    expect(g.noise!.source).toBe('seeds');
  });

  it('slopePerDecade and intercept of an exact L = a + b log10 M; no noise, so no intervals (said why)', () => {
    const points = SLOTS.map((x) => ({ x, ys: [3.9 - 0.028 * Math.log10(x)] }));
    const { group: g } = fitPowerlaw({ key: 'engram', points }, { resamples: 1000 });
    expect(g.slopePerDecade).toBeCloseTo(-0.028, 9);
    expect(g.intercept).toBeCloseTo(3.9, 8);
    expect(g.intervals.slopePerDecade).toBeNull();
    expect(g.reason).toMatch(/no noise estimate/);
  });

  it('the saturating form: E determined and recovered when the data bend toward it', () => {
    const f = (m: number) => 2 + 1.5 * (m / 1e4) ** -0.5;
    const xs = [1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6];
    const { group: g } = fitPowerlaw(
      { key: 'engram', points: simulate(new Rng(2), f, 3, 0.002, xs) },
      { resamples: 400 },
    );
    expect(g.E).not.toBeNull();
    expect(g.E!).toBeCloseTo(2, 2);
    expect(inside(2, g.intervals.E)).toBe(true);
    expect(g.saturating!.alpha).toBeCloseTo(0.5, 2);
    expect(g.saturating!.A / (1.5 * 1e4 ** 0.5)).toBeCloseTo(1, 1);
    expect(g.saturating!.converged).toBe(true);
  });

  it("E is null, with the reason, for a loss straight in log M (the paper's memory law) and for too few slot counts", () => {
    const straight = fitPowerlaw(
      { key: 'engram', points: simulate(new Rng(3), (m) => 3.9 - 0.028 * Math.log10(m), 2, 0.003) },
      { resamples: 400 },
    ).group;
    expect(straight.E).toBeNull();
    expect(straight.eReason).toMatch(/bound|wider than/);
    const three = fitPowerlaw(
      { key: 'engram', points: simulate(new Rng(4), (m) => 4 * m ** -0.01, 2, 0.003, SLOTS.slice(0, 3)) },
      { resamples: 400 },
    ).group;
    expect(three.E).toBeNull();
    expect(three.eReason).toMatch(/fewer than 4/);
    expect(three.saturating).toBeNull();
  });

  it('one wild point barely moves the robust fit, while least squares follows it', () => {
    const xs = [1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 2e7];
    const points = simulate(new Rng(5), (m) => 5 * m ** -0.02, 1, 0.002, xs);
    points[7].ys[0] += 0.3;
    const { group: g } = fitPowerlaw({ key: 'engram', points }, { resamples: 400 });
    expect(Math.abs(g.alpha - 0.02)).toBeLessThan(0.002);
    expect(Math.abs(olsLogLog(points).alpha - 0.02)).toBeGreaterThan(0.005);
    expect(g.noise!.source).toBe('residuals');
  });

  it('is reproducible by seed', () => {
    const points = simulate(new Rng(6), (m) => 4 * m ** -0.01, 2, 0.003, SLOTS.slice(0, 3));
    const a = fitPowerlaw({ key: 'e', points }, { resamples: 1000, seed: 1 }).group;
    const b = fitPowerlaw({ key: 'e', points }, { resamples: 1000, seed: 1 }).group;
    const c = fitPowerlaw({ key: 'e', points }, { resamples: 1000, seed: 2 }).group;
    expect(a.intervals).toEqual(b.intervals);
    expect(a.intervals.alpha).not.toEqual(c.intervals.alpha);
  });
});

describe('slotMultiple', () => {
  const engramLaw = (m: number) => 4 * m ** -0.004;
  // OverEncoding at M slots does what Engram does at M / 3: Engram needs a third of the slots
  const oeLaw = (m: number) => engramLaw(m / 3);
  const xs = SLOTS.slice(0, 3);

  it('is exactly 1/3 on noiseless curves', () => {
    const e = fitPowerlaw({ key: 'engram', points: xs.map((x) => ({ x, ys: [engramLaw(x)] })) });
    const o = fitPowerlaw({ key: 'overencoding', points: xs.map((x) => ({ x, ys: [oeLaw(x)] })) });
    const m = slotMultiple(e, o);
    expect(m.value!).toBeCloseTo(1 / 3, 8);
    expect(m.overencodingSlots).toBe(1e6);
    expect(m.overencodingLoss).toBeCloseTo(oeLaw(1e6), 12);
    expect(m.extrapolated).toBe(false);
  });

  it('covers 1/3 with its interval under noise', () => {
    const rng = new Rng(8);
    const e = fitPowerlaw({ key: 'engram', points: simulate(rng, engramLaw, 3, 0.001, xs) }, { resamples: 1000 });
    const o = fitPowerlaw({ key: 'overencoding', points: simulate(rng, oeLaw, 3, 0.001, xs) }, { resamples: 1000 });
    const m = slotMultiple(e, o);
    expect(inside(1 / 3, m.interval)).toBe(true);
  });
});
