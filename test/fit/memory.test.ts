import { describe, expect, it } from 'vitest';
import { fitMemory, memoryLines, reference, slotsAtLoss, step, type MemoryRow } from '../../src/fit/memory.js';

const row = (
  variant: string,
  slots: number | null,
  seed: number,
  valLoss: number,
  horizon: number | null = null,
): MemoryRow => ({ variant, slots, seed, valLoss, horizon });

describe('memory analysis', () => {
  it('pairs a step by seed: se = sd of the per-seed drops / sqrt n (hand-computed)', () => {
    // drops per seed: 0.10, 0.20, 0.30 -> mean 0.2, sd 0.1, se 0.1/sqrt(3) = 0.057735
    const s = step(
      { x: 10, ys: [5.1, 5.2, 5.3], seeds: [0, 1, 2] },
      { x: 100, ys: [5.0, 5.0, 5.0], seeds: [0, 1, 2] },
      null,
      null,
    );
    expect(s.paired).toBe(true);
    expect(s.drop).toBeCloseTo(0.2, 12);
    expect(s.se).toBeCloseTo(0.1 / Math.sqrt(3), 12);
    expect(s.falls).toBe(true); // 0.2 > 2 * 0.0577
    // no common seeds: unpaired, the two se in quadrature
    const u = step({ x: 10, ys: [5.1], seeds: [0] }, { x: 100, ys: [5.0], seeds: [1] }, 0.03, 0.04);
    expect(u.paired).toBe(false);
    expect(u.se).toBeCloseTo(0.05, 12);
    expect(u.falls).toBe(false); // 0.1 is not > 0.1
  });

  it('interpolates slots in log10 on the observed means and never extrapolates', () => {
    const pts = [
      { slots: 100, loss: 5.0 },
      { slots: 1000, loss: 4.8 },
      { slots: 10000, loss: 4.7 },
    ];
    // 4.9 is half-way from 100 to 1000 in log10: 10^2.5
    expect(slotsAtLoss(pts, 4.9).engramSlots).toBeCloseTo(10 ** 2.5, 6);
    expect(slotsAtLoss(pts, 4.75).engramSlots).toBeCloseTo(10 ** 3.5, 6);
    expect(slotsAtLoss(pts, 5.2)).toEqual({ engramSlots: null, where: 'fewer than the smallest sampled' });
    expect(slotsAtLoss(pts, 4.6)).toEqual({ engramSlots: null, where: 'more than the largest sampled' });
  });

  it('reports the no-memory reference, where the curve stops falling, and both OverEncoding settings per horizon', () => {
    const rows: MemoryRow[] = [];
    // engram: falls clearly 100 -> 1000 -> 10000, flat 10000 -> 100000 (seed noise +-0.01)
    const means: Record<number, number> = { 100: 5.0, 1000: 4.9, 10000: 4.8, 100000: 4.8 };
    for (const h of [1000, 4000]) {
      for (const seed of [0, 1, 2]) {
        const e = [-0.01, 0, 0.012][seed];
        const late = h === 4000 ? -0.2 : 0;
        for (const [m, l] of Object.entries(means))
          rows.push(row('engram', Number(m), seed, l + e + late + (Number(m) === 100000 ? 0.001 * seed : 0), h));
        rows.push(row('moe', null, seed, 5.05 + late + 0.01 * seed, h));
        rows.push(row('overencoding', 1000, seed, 5.3 + late, h), row('overencoding', 10000, seed, 5.25 + late, h));
        rows.push(row('overencoding-full', 1000, seed, 4.85 + late + e, h));
      }
    }
    const m = fitMemory(rows, { resamples: 200, coverage: [{ horizon: 4000, bigrams: 600, trigrams: 400 }] });
    expect(m.horizons.map((h) => h.horizon)).toEqual([1000, 4000]);
    const last = m.horizons[1];
    // reference: 4.85, 4.86, 4.87 -> mean 4.86, se 0.01 / sqrt 3
    expect(last.reference!.mean).toBeCloseTo(4.86, 12);
    expect(last.reference!.se).toBeCloseTo(0.01 / Math.sqrt(3), 12);
    expect(last.steps.map((s) => s.falls)).toEqual([true, true, false]);
    expect(last.stopsFalling).toBe(10000);
    // a flat first step followed by falling ones is not a stop (the committed memory sweep's shape)
    const early = fitMemory(
      [0, 1, 2].flatMap((seed) =>
        Object.entries({ 300: 4.9, 1000: 4.9, 3000: 4.85, 10000: 4.8 }).map(([m, l]) =>
          row('engram', Number(m), seed, l + 0.002 * seed, null),
        ),
      ),
      { resamples: 200 },
    );
    expect(early.horizons[0].steps.map((s) => s.falls)).toEqual([false, true, true]);
    expect(early.horizons[0].stopsFalling).toBeNull();
    expect(memoryLines(early)[0]).toMatch(/still falls .* \(flat earlier: 300->1000\)/);
    // one seed: no noise estimate, so no step is judged and no stop is claimed
    const one = fitMemory(
      Object.entries({ 300: 4.9, 1000: 4.9, 3000: 4.85 }).map(([m, l]) => row('engram', Number(m), 0, l, null)),
      { resamples: 200 },
    );
    expect(one.horizons[0].stopJudged).toBe(false);
    expect(one.horizons[0].stopsFalling).toBeNull();
    expect(memoryLines(one)[0]).toMatch(/not judged \(one seed/);
    expect(early.horizons[0].stopJudged).toBe(true);
    // slope of a + b log10 M through the means 4.8, 4.7, 4.6, 4.6 + 0.001: negative with an interval below 0
    expect(last.slopePerDecade!).toBeLessThan(0);
    expect(last.slopeInterval![1]!).toBeLessThan(0);
    expect(last.overencoding.map((o) => [o.variant, o.slots])).toEqual([
      ['overencoding', 10000],
      ['overencoding-full', 1000],
    ]);
    expect(last.points[0].slotsPerBigram).toBeCloseTo(100 / 600, 12);
    expect(last.points[3].slotsPerTrigram).toBeCloseTo(100000 / 400, 12);
    expect(m.horizons[0].points[0].slotsPerBigram).toBeNull();
    // overencoding best 5.05: above every engram mean -> fewer than the smallest sampled;
    // overencoding-full best 4.65 (+ mean seed offset 0.000667): between 4.7 (1000) and 4.6 (10000)
    expect(m.slotsToMatch[0]).toMatchObject({
      variant: 'overencoding',
      where: 'fewer than the smallest sampled',
      engramSlots: null,
    });
    const full = m.slotsToMatch[1];
    expect(full.where).toBe('interpolated');
    const t = (4.7 + 0.000667 - (4.65 + 0.000667)) / (4.7 - 4.6);
    expect(Math.log10(full.engramSlots!)).toBeCloseTo(3 + t, 2);
    expect(memoryLines(m).length).toBe(4);
  });

  it('has no reference without moe rows', () => {
    expect(reference([row('engram', 10, 0, 5)])).toBeNull();
  });
});
