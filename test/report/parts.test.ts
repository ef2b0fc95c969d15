/**
 * The charts' data preparation against known answers: seed means and standard errors, the sampled
 * curves, stride, tail-averaged expert loads, and the gate text layout.
 */
import { describe, expect, it } from 'vitest';
import { displayToken, layoutTokens, tokenGate } from '../../src/report/charts/gates.js';
import { loadCells, relativeLoad, tailLoad } from '../../src/report/charts/load.js';
import { powerCurve } from '../../src/report/charts/powerlaw.js';
import { stride, trialCurve } from '../../src/report/charts/training.js';
import { parabola, seedMeans } from '../../src/report/charts/ushape.js';
import type { MetricRow } from '../../src/report/data.js';
import type { TrialRow } from '../../src/results/table.js';

const row = (over: Partial<TrialRow>): TrialRow => ({
  id: 't0',
  kind: 'allocation',
  variant: 'engram',
  seed: 0,
  budget: 'b',
  rho: 0.5,
  rhoActual: 0.5,
  slots: 10,
  status: 'ok',
  reason: null,
  valLoss: 3,
  valBpb: 1,
  tokens: 1000,
  seconds: 1,
  pTot: 1,
  pAct: 1,
  pSparse: 0,
  routedExperts: 4,
  ...over,
});

describe('ushape parts', () => {
  it('seed means: mean and sample standard error (known: 1, 2, 3 -> 2 +/- 1/sqrt(3))', () => {
    const m = seedMeans(
      [1, 2, 3]
        .map((v, i) => row({ id: `t${i}`, seed: i, valLoss: v }))
        .concat(row({ id: 'x', rhoActual: 1, valLoss: 5 })),
    );
    expect(m).toHaveLength(2);
    expect(m[0].mean).toBe(2);
    expect(m[0].hi - m[0].mean).toBeCloseTo(1 / Math.sqrt(3), 5);
    expect(m[0].mean - m[0].lo).toBeCloseTo(1 / Math.sqrt(3), 5);
    expect(m[1]).toMatchObject({ rho: 1, mean: 5, lo: 5, hi: 5, n: 1 }); // one seed: no bar
  });

  it('rho is the realised one when it is recorded', () => {
    expect(seedMeans([row({ rho: 0.5, rhoActual: 0.4844 })])[0].rho).toBe(0.4844);
  });

  it('parabola: c + b x + a x^2 on an even grid (1 - 3x + 2x^2: 0 at 0.5 and 1, -0.125 at 0.75)', () => {
    const p = parabola([1, -3, 2], 0, 1, 5);
    expect(p.map((q) => q.rho)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(p.map((q) => q.loss)).toEqual([1, 0.375, 0, -0.125, 0]);
  });
});

describe('powerlaw parts', () => {
  it('A M^-alpha (+ E) on a log-even grid (10 M^-0.5: 1 at 100, 0.1 at 10^4)', () => {
    const c = powerCurve(10, 0.5, null, 100, 10000, 3);
    expect(c).toEqual([
      { slots: 100, loss: 1 },
      { slots: 1000, loss: Number((10 / Math.sqrt(1000)).toPrecision(6)) },
      { slots: 10000, loss: 0.1 },
    ]);
    expect(powerCurve(10, 0.5, 2, 100, 10000, 3)[2].loss).toBe(2.1);
  });
});

describe('training parts', () => {
  it('stride keeps the first and the last and at most max rows', () => {
    const xs = Array.from({ length: 1001 }, (_, i) => i);
    const s = stride(xs, 150);
    expect(s).toHaveLength(150);
    expect([s[0], s[149]]).toEqual([0, 1000]);
    expect(stride([1, 2, 3], 150)).toEqual([1, 2, 3]);
  });

  it('a trial curve: strided train loss, every validation loss, and the final validation pass', () => {
    const metrics: MetricRow[] = Array.from({ length: 400 }, (_, i) => ({
      step: i,
      tokens: i * 10,
      loss: 5 - i / 100,
      ...(i % 100 === 99 ? { valLoss: 4 } : {}),
    }));
    const pts = trialCurve(row({ tokens: 4000, valLoss: 3.5 }), metrics, 50);
    expect(pts.filter((p) => p.metric === 'train')).toHaveLength(50);
    const val = pts.filter((p) => p.metric === 'validation');
    expect(val.map((p) => p.tokens)).toEqual([990, 1990, 2990, 3990, 4000]);
    expect(val[4].loss).toBe(3.5);
  });
});

describe('load parts', () => {
  it('averages the last quarter of the logged loads', () => {
    const m: MetricRow[] = [
      [8, 0],
      [8, 0],
      [8, 0],
      [6, 2],
      [8, 0],
      [8, 0],
      [2, 6],
      [4, 4],
    ].map((l, i) => ({ step: i, tokens: i, loss: 1, expertLoad: [l] }));
    expect(tailLoad(m)).toEqual([[3, 5]]); // rows 7 and 8
    expect(tailLoad([{ step: 1, tokens: 1, loss: 1 }])).toBeNull();
  });

  it('relative load: share over an even split; nothing routed gives 0s', () => {
    expect(
      relativeLoad([
        [3, 1],
        [0, 0],
      ]),
    ).toEqual([
      [1.5, 0.5],
      [0, 0],
    ]);
  });

  it('averages seeds of one configuration cell by cell', () => {
    const cells = loadCells('cfg', [[[3, 1]], [[1, 1]]]);
    expect(cells.map((c) => [c.expert, c.load, c.relative, c.seeds])).toEqual([
      [0, 2, 1.25, 2],
      [1, 1, 0.75, 2],
    ]);
  });
});

describe('gate text layout', () => {
  it('shows newlines, tabs and control characters visibly; an empty token as a placeholder', () => {
    expect(displayToken('\n')).toBe('\u21b5');
    expect(displayToken('a\tb\u0001')).toBe('a b\u00b7');
    expect(displayToken('')).toBe('\u2205');
  });

  it('wraps at maxChars, breaks after newlines, keeps reading order, counts leading spaces', () => {
    const tokens = ['Hello', ' world', ',', '\n', 'a', ' bb', ' ccc', '  dd'];
    const p = layoutTokens(tokens, 10);
    expect(p.map((t) => [t.line, t.col, t.chars, t.lead])).toEqual(expectedLayout());
  });

  it('a token longer than a line sits alone on its line', () => {
    const p = layoutTokens(['ab', 'x'.repeat(30), 'c'], 10);
    expect(p.map((t) => [t.line, t.col])).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
  });

  it('a token gate is the mean over branches', () => {
    expect(tokenGate([0.2, 0.4, 0.9])).toBeCloseTo(0.5, 12);
    expect(tokenGate([0.7])).toBe(0.7);
  });
});

/** Hand layout of ['Hello', ' world', ',', '\n', 'a', ' bb', ' ccc', '  dd'] on 10 columns. */
function expectedLayout(): number[][] {
  return [
    [0, 0, 5, 0], // Hello
    [1, 0, 6, 1], // " world" does not fit after col 5 (5 + 6 > 10)
    [1, 6, 1, 0], // ,
    [1, 7, 1, 0], // the newline arrow, then a line break
    [2, 0, 1, 0], // a
    [2, 1, 3, 1], // " bb"
    [2, 4, 4, 1], // " ccc"
    [3, 0, 4, 2], // "  dd" does not fit after col 8
  ];
}
