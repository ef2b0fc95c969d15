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
import {
  gainSentence,
  powerlawSentence,
  slotMultipleSentence,
  summarize,
  trendSentence,
  ushapeCaveats,
  ushapeSentence,
} from '../../src/report/summary.js';
import { makeFixture } from './fixture.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(dirname(d), { recursive: true, force: true })));
const fixture = (fits: boolean) => {
  const d = makeFixture({ fits });
  dirs.push(d);
  return d;
};

const wall = (estimate: number, lo: number | null, hi: number | null) => ({
  estimate,
  interval: [lo, hi] as [number | null, number | null],
  n: 5,
  method: 'bootstrap',
});

describe('sentences', () => {
  it('a U: the shape word from the walls, rho* at the vertex with its interval, both walls', () => {
    const g = {
      key: 'b',
      n: 35,
      walls: { left: wall(0.0118, 0.0003, 0.0234), right: wall(0.06, 0.045, 0.08) },
      rhoStar: { value: 0.62, source: 'vertex', interval: [0.55, 0.7] as [number, number] },
    };
    expect(ushapeSentence(g)).toBe(
      'U (both walls resolved: a mix beats both rho = 0 and rho = 1): rho* = 0.62 [0.55, 0.70] (quadratic vertex); dL0 +0.0118 [0.0003, 0.0234], dL1 +0.0600 [0.0450, 0.0800] nats',
    );
  });

  it('an L: "no left wall", the best arm with Akima beside; the stored shape word is not trusted, the walls are', () => {
    const g = {
      key: 'b',
      n: 35,
      shape: 'U',
      vertex: 0.33,
      vertexAkima: 0.47,
      walls: { left: wall(0.0073, -0.0058, 0.0182), right: wall(0.0724, 0.0493, 0.0924) },
      rhoStar: { value: 0.499, source: 'best arm' },
    };
    expect(ushapeSentence(g)).toBe(
      'no left wall (rho = 0 is within noise of the best mix, rho = 1 is worse): best arm rho = 0.50 (Akima 0.47); dL0 +0.0073 [-0.0058, 0.0182], dL1 +0.0724 [0.0493, 0.0924] nats',
    );
  });

  it('rho = 0 best, and an old fits.json without walls says to refit instead of guessing', () => {
    const g = {
      key: 'b',
      n: 9,
      vertex: 0.21,
      walls: { left: wall(-0.02, -0.025, -0.015), right: wall(0.17, 0.15, 0.19) },
      rhoStar: { value: 0, source: 'best arm' },
    };
    expect(ushapeSentence(g)).toMatch(
      /^rho = 0 best \(rho = 0 \(all memory\) beats the best mix\): best arm rho = 0\.00;/,
    );
    expect(ushapeSentence({ key: 'b', n: 9, vertex: 0.78, curvature: 0.3 })).toBe(
      "shape not classified (this fits.json has no walls: rerun engram-sweep fit); the parabola's vertex is at rho = 0.78",
    );
    expect(ushapeSentence({ key: 'b', n: 9, vertex: null })).toBeNull();
  });

  it('the gain over pure MoE, or over the fitted curve at rho = 1', () => {
    expect(gainSentence({ key: 'b', n: 9, gain: 0.014, reference: { source: 'moe' } })).toBe(
      'the best mix is 0.014 nats better than pure MoE',
    );
    expect(
      gainSentence({ key: 'b', n: 9, gain: -0.0031, gainInterval: [-0.01, 0.002], reference: { source: 'fit' } }),
    ).toBe('the best mix is 0.003 nats worse than the fitted curve at rho = 1 (gain interval [-0.010, 0.002])');
  });

  it('caveats: the vertex edge only where rho* is the vertex; no curvature test', () => {
    const vertex = { value: 0.95, source: 'vertex' };
    expect(
      ushapeCaveats({
        key: 'b',
        n: 9,
        vertex: 0.95,
        edge: 'edge',
        converged: true,
        pCurvaturePositive: 0.934,
        r2: 0.912,
        rhoStar: vertex,
      }),
    ).toEqual(['the vertex interval reaches past the swept rho range', 'quadratic R² 0.91 over 9 trials']);
    expect(
      ushapeCaveats({ key: 'b', n: 9, vertex: 0.95, edge: 'edge', rhoStar: { value: 1, source: 'best arm' } }),
    ).toEqual([]);
    // the quick sweep's case (issue 15): an interval over the whole grid locates nothing
    const residuals = [0, 0.5, 1].map((x) => ({ x, y: 4 }));
    expect(
      ushapeCaveats({
        key: 'b',
        n: 6,
        vertex: 0.749,
        interval: [null, null],
        edge: 'edge',
        residuals,
        rhoStar: vertex,
      }),
    ).toEqual(['the vertex interval spans the whole swept rho range: where the optimum lies is inconclusive']);
    expect(
      ushapeCaveats({
        key: 'b',
        n: 9,
        vertex: 1.4,
        edge: 'outside',
        converged: false,
        reason: 'singular weighted normal equations',
      }),
    ).toEqual([
      'the vertex lies outside the swept rho range: the optimum is not located',
      'the fit did not converge (singular weighted normal equations)',
    ]);
  });

  it('the trend across horizons, per doubling of tokens', () => {
    const t = {
      budget: 'b',
      rhoStar: { slope: 0.12, interval: [0.1, 0.14] as [number, number] },
      dL0: { slope: 0.0384, interval: [0.037, 0.0396] as [number, number] },
      dL1: { slope: -0.0331, interval: null },
      points: [
        { tokens: 131072, tokensPerActive: 0.33 },
        { tokens: 1048576, tokensPerActive: 2.62 },
      ],
    };
    expect(trendSentence(t)).toBe(
      'across 2 horizons (131.1k..1.05M tokens, 0.3..2.6 per active parameter), per doubling of tokens: rho* +0.120 [0.100, 0.140], dL0 +0.0384 [0.0370, 0.0396], dL1 -0.0331',
    );
  });

  it('states the memory law per decade of slots, and the slot multiple', () => {
    const g = {
      key: 'engram',
      n: 10,
      alpha: 0.00412,
      slopePerDecade: -0.0281,
      intervals: { slopePerDecade: [-0.034, -0.022] as [number, number] },
      E: null,
      r2: 0.981,
    };
    expect(powerlawSentence(g)).toBe(
      'engram: -0.028 [-0.034, -0.022] nats per decade of slots (alpha = 0.0041, R² 0.98, 10 trials)',
    );
    // slotMultiple = Engram's slots / OverEncoding's at OverEncoding's best loss (src/fit)
    expect(slotMultipleSentence(0.34)).toBe("Engram reaches OverEncoding's best loss with 2.9x fewer slots");
    expect(slotMultipleSentence({ value: 0.3125, interval: [0.208, 0.476] })).toBe(
      "Engram reaches OverEncoding's best loss with 3.2x fewer slots [2.1, 4.8]",
    );
    expect(slotMultipleSentence({ value: 0.5, interval: [0.25, null] })).toBe(
      "Engram reaches OverEncoding's best loss with 2.0x fewer slots [0.0, 4.0]",
    );
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
  it('leads with the shape per budget (the classifier on the walls), then the memory law, the gains and caveats', () => {
    const s = summarize(loadReportData(fixture(true)));
    expect(s.headline).toBe(
      'Budget large: no right wall (rho = 1 is within noise of the best mix, rho = 0 is worse): best arm rho = 0.75 (Akima 0.76); dL0 +0.1125 [0.1000, 0.1250], dL1 +0.0125 [-0.0020, 0.0270] nats.',
    );
    expect(s.details[0]).toBe(
      'Budget small: U (both walls resolved: a mix beats both rho = 0 and rho = 1): rho* = 0.75 [0.70, 0.80] (quadratic vertex); dL0 +0.1125 [0.1000, 0.1250], dL1 +0.0125 [0.0040, 0.0210] nats.',
    );
    expect(s.details).toContain(
      'Budget small: the best mix is 0.022 nats better than pure MoE (gain interval [0.018, 0.027]).',
    );
    // large's rho* is its best arm, so the vertex interval's edge is no caveat of it
    expect(s.details.some((d) => d.includes('vertex interval'))).toBe(false);
    expect(s.details.join(' ')).not.toMatch(/curvature/);
    expect(s.details).toContain("Engram reaches OverEncoding's best loss with 1.3x fewer slots [1.0, 1.9].");
    expect(s.details).toContain(
      'Engram: -0.095 [-0.103, -0.086] nats per decade of slots (alpha = 0.0100, R² 0.99, 6 trials).',
    );
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
    // two seeds with noise that cancels: paired differences without spread, both walls resolved
    expect(large.shape).toBe('U');
    expect(s.headline).toMatch(
      /^Budget large: U \(both walls resolved: a mix beats both rho = 0 and rho = 1\): rho\* = 0\.75 \[[\d.]+, [\d.]+\] \(quadratic vertex\); dL0 \+0\.1125/,
    );
    // d(4.5 M^-0.01) / d log10 M = -0.01 ln 10 L ~ -0.095; 0.012 nats apart -> 10^(0.012 / 0.095) ~ 1.3x
    expect(s.details.join(' ')).toMatch(/Engram: -0\.09\d .*nats per decade of slots/);
    // read off the observed means (memory fit): 100000 / 1.3 ~ 7.5e4 slots
    expect(s.details.join(' ')).toMatch(
      /Engram reaches overencoding's best loss \(4\.023 at 100000 slots\) with ~7\d{4} slots \(interpolated/,
    );
  });

  it('without fits.json: the best trial first, and how to fit', () => {
    const dir = fixture(false);
    const s = summarize(loadReportData(dir));
    expect(s.headline).toBe(
      `Best trial: large engram rho=0.750 seed 1, validation loss 3.6960 nats (${(3.696 / Math.LN2 / 3).toFixed(4)} bits/byte).`,
    );
    expect(s.details[0]).toBe(`No fit yet: run engram-sweep fit ${dir}.`);
  });
});
