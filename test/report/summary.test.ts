/**
 * The fit summary in words: known sentences for known fit groups, the caveats that must travel
 * with a number, and the fallback when nothing is fitted yet.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadReportData } from '../../src/report/data.js';
import { fitSweep } from '../../src/fit/index.js';
import { normalizeFits, quadratic } from '../../src/report/fits.js';
import { powerlawSentence, slotMultipleSentence, summarize, ushapeCaveats, ushapeSentence } from '../../src/report/summary.js';
import { makeFixture } from './fixture.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(dirname(d), { recursive: true, force: true })));
const fixture = (fits: boolean) => {
  const d = makeFixture({ fits });
  dirs.push(d);
  return d;
};

describe('sentences', () => {
  it('states the optimum, its interval and the gain over pure MoE', () => {
    const g = { key: 'b', n: 15, vertex: 0.78, interval: [0.71, 0.86] as [number, number], gain: 0.014, reference: { source: 'moe' } };
    expect(ushapeSentence(g)).toBe('optimum rho = 0.78 [0.71, 0.86], 0.014 nats better than pure MoE');
  });

  it('says worse for a negative gain, names a fitted reference, and shows unbounded ends', () => {
    const g = { key: 'b', n: 9, vertex: 0.912, interval: [0.6, null] as [number, null], gain: -0.0031, gainInterval: [-0.01, 0.002] as [number, number], reference: { source: 'fit' } };
    expect(ushapeSentence(g)).toBe('optimum rho = 0.91 [0.60, +inf], 0.003 nats worse than the fitted curve at rho = 1 (gain interval [-0.010, 0.002])');
  });

  it('says there is no optimum without a vertex (a concave fit), and nothing without a fit', () => {
    expect(ushapeSentence({ key: 'b', n: 9, vertex: null, curvature: -0.1234, gain: 0.01 })).toBe('no optimum in rho: the fitted parabola has no minimum (curvature -0.123)');
    expect(ushapeCaveats({ key: 'b', n: 9, vertex: null, edge: 'outside' })).toEqual([]);
    expect(ushapeSentence({ key: 'b', n: 9, vertex: null, curvature: null })).toBeNull();
  });

  it('warns when the optimum is at or past the edge, or the fit failed', () => {
    expect(ushapeCaveats({ key: 'b', n: 9, vertex: 0.95, edge: 'edge', converged: true, pCurvaturePositive: 0.934, r2: 0.912 })).toEqual([
      'the vertex interval reaches past the swept rho range: extend the grid there',
      'U-shape (positive curvature) in 93% of bootstrap resamples',
      'R² 0.91 over 9 trials',
    ]);
    expect(ushapeCaveats({ key: 'b', n: 9, vertex: 1.4, edge: 'outside', converged: false, reason: 'singular weighted normal equations' })).toEqual([
      'the vertex lies outside the swept rho range: the optimum is not located',
      'the fit did not converge (singular weighted normal equations)',
    ]);
    expect(ushapeCaveats({ key: 'b', n: 9, edge: 'inside' })).toEqual([]);
  });

  it('states the memory law per decade of slots, and the slot multiple', () => {
    const g = { key: 'engram', n: 10, alpha: 0.00412, slopePerDecade: -0.0281, intervals: { slopePerDecade: [-0.034, -0.022] as [number, number] }, E: null, r2: 0.981 };
    expect(powerlawSentence(g)).toBe('engram: -0.028 [-0.034, -0.022] nats per decade of slots (alpha = 0.0041, R² 0.98, 10 trials)');
    // slotMultiple = Engram's slots / OverEncoding's at OverEncoding's best loss (src/fit)
    expect(slotMultipleSentence(0.34)).toBe("Engram reaches OverEncoding's best loss with 2.9x fewer slots");
    expect(slotMultipleSentence({ value: 0.3125, interval: [0.208, 0.476] })).toBe("Engram reaches OverEncoding's best loss with 3.2x fewer slots [2.1, 4.8]");
    expect(slotMultipleSentence({ value: 0.5, interval: [0.25, null] })).toBe("Engram reaches OverEncoding's best loss with 2.0x fewer slots [0.0, 4.0]");
    expect(slotMultipleSentence({ value: 1.5, interval: [1.2, null], extrapolated: true })).toBe(
      "Engram reaches OverEncoding's best loss with 1.5x more slots [1.2, +inf], extrapolated beyond the sampled slots",
    );
    expect(slotMultipleSentence({ value: null })).toBeNull();
  });
});

describe('fits.json forms', () => {
  it("reads src/fit's {sweep, fits}, {ushape, powerlaw}, a list of results, or one result; keys as strings", () => {
    const u = { kind: 'ushape', groups: [{ key: { budget: 'b1' }, n: 3 }] };
    const p = { kind: 'powerlaw', groups: [{ key: 'engram', n: 3 }] };
    expect(Object.keys(normalizeFits('f', { sweep: 's', fits: [p, u] }))).toEqual(['powerlaw', 'ushape']);
    expect(normalizeFits('f', { ushape: u, powerlaw: p }).ushape!.groups[0].key).toBe('b1');
    expect(Object.keys(normalizeFits('f', [u, p]))).toEqual(['ushape', 'powerlaw']);
    expect(Object.keys(normalizeFits('f', p))).toEqual(['powerlaw']);
  });

  it('refuses groups that are not a list', () => {
    expect(() => normalizeFits('fits.json', { ushape: { kind: 'ushape', groups: 3 } })).toThrow(/needs \{kind, groups/);
    expect(() => normalizeFits('fits.json', { sweep: 's', fits: {} })).toThrow(/needs "fits": a list/);
  });
});

describe('summarize', () => {
  it('leads with the U-shape optimum per budget, then the memory law and caveats', () => {
    const s = summarize(loadReportData(fixture(true)));
    expect(s.headline).toBe('Budget large: optimum rho = 0.75 [0.70, +inf], 0.022 nats better than pure MoE (gain interval [0.018, 0.027]).');
    expect(s.details[0]).toBe('Budget small: optimum rho = 0.75 [0.70, 0.80], 0.022 nats better than pure MoE (gain interval [0.018, 0.027]).');
    expect(s.details).toContain("Engram reaches OverEncoding's best loss with 1.3x fewer slots [1.0, 1.9].");
    expect(s.details).toContain('Engram: -0.095 [-0.103, -0.086] nats per decade of slots (alpha = 0.0100, R² 0.99, 6 trials).');
    expect(s.details.some((d) => d.startsWith('Budget large: the vertex interval reaches past'))).toBe(true);
    expect(s.details.some((d) => d.startsWith('1 of 42 finished trials failed (diverged)'))).toBe(true);
  });

  it("reads the fits.json that src/fit's fitSweep writes for the same folder", () => {
    const dir = fixture(false);
    fitSweep(dir, { resamples: 200 });
    const d = loadReportData(dir);
    const large = d.fits!.ushape!.groups.find((g) => g.key === 'large')!;
    // the fixture's U is 0.2 (rho - 0.75)^2 + noise that cancels over the two seeds
    expect(large.vertex).toBeCloseTo(0.75, 2);
    expect(quadratic(large.coefficients)![2]).toBeCloseTo(0.2, 2);
    const s = summarize(d);
    expect(s.headline).toMatch(/^Budget large: optimum rho = 0\.75 \[[\d.]+, [\d.]+\], 0\.0[12]\d nats better than pure MoE/);
    // d(4.5 M^-0.01) / d log10 M = -0.01 ln 10 L ~ -0.095; 0.012 nats apart -> 10^(0.012 / 0.095) ~ 1.3x
    expect(s.details.join(' ')).toMatch(/Engram: -0\.09\d .*nats per decade of slots/);
    expect(s.details.join(' ')).toMatch(/Engram reaches OverEncoding's best loss with 1\.3x fewer slots/);
  });

  it('without fits.json: the best trial first, and how to fit', () => {
    const dir = fixture(false);
    const s = summarize(loadReportData(dir));
    expect(s.headline).toBe(`Best trial: large engram rho=0.750 seed 1, validation loss 3.6960 nats (${(3.696 / Math.LN2 / 3).toFixed(4)} bits/byte).`);
    expect(s.details[0]).toBe(`No fit yet: run engram-sweep fit ${dir}.`);
  });
});
