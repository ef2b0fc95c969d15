/**
 * Horizons as rows and the trend across them, on a sweep with a known answer (the horizons
 * fixture: rho* moves 0.12 per doubling at budget large, 0.2 at small). The walls' slopes are
 * checked to rounding against a re-computation from the closed form, the paired-t slope interval
 * against the per-seed slopes computed here, and the expansion of horizons into rows against its
 * rules (a sweep without horizons keeps its keys; a trial without horizons is one horizon).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/contract/errors.js';
import { expandHorizons, readHorizons } from '../../src/fit/horizons.js';
import { fitDataset, type AllocationGroup } from '../../src/fit/index.js';
import { sweepDatasets } from '../../src/fit/source.js';
import { olsSlope } from '../../src/fit/trend.js';
import { tQuantileExact } from '../../src/fit/tdist.js';
import type { TrialRow } from '../../src/results/table.js';
import {
  H_BUDGETS,
  H_RHOS,
  H_TOKENS,
  hLoss,
  hOptimum,
  makeHorizonsFixture,
  type HBudget,
} from '../report/horizons-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'fit-trend-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const fitted = (seeds: number) =>
  fitDataset(sweepDatasets(makeHorizonsFixture(seeds, mkdtempSync(join(root, 's-'))), ['ushape'])[0], {
    resamples: 1000,
  });
const three = fitted(3);
const five = fitted(5);
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const K = [0, 1, 2, 3];
const U = H_TOKENS.map(Math.log2);

/** dL0 of budget b at horizon k for one seed (or the seed mean), best interior arm from the seed means. */
function dL0(b: HBudget, k: number, seeds: number[], only?: number): number {
  const at = (rho: number, s: number) => hLoss(b, rho, k, s);
  const interior = H_RHOS.slice(1, -1);
  const best = interior.reduce((a, r) => (mean(seeds.map((s) => at(r, s))) < mean(seeds.map((s) => at(a, s))) ? r : a));
  const use = only === undefined ? seeds : [only];
  return mean(use.map((s) => at(0, s) - at(best, s)));
}

describe('horizons as curves', () => {
  it('one group per (budget, horizon), keyed "<budget>@<tokens>", with tokens per active parameter', () => {
    const keys = three.groups.map((g) => g.key);
    expect(keys).toEqual(['large', 'small'].flatMap((b) => H_TOKENS.map((t) => `${b}@${t}`)));
    const g = three.groups[1] as AllocationGroup;
    expect(g).toMatchObject({
      budget: 'large',
      horizon: H_TOKENS[1],
      tokensPerActive: H_TOKENS[1] / H_BUDGETS.large.pAct,
    });
    // pure MoE of the same horizon is the group's reference: 0.05 above rho = 1
    expect(g.reference.source).toBe('moe');
    expect(g.reference.loss).toBeCloseTo(mean([0, 1, 2].map((s) => hLoss('large', 1, 1, s))) + 0.05, 12);
  });

  it('known shapes: large is a U at every horizon with rho* at the vertex; small starts at "rho = 0 best"', () => {
    for (const k of K) {
      const g = three.groups[k] as AllocationGroup;
      expect(g.shape).toBe('U');
      expect(g.rhoStar.source).toBe('vertex');
      expect(g.rhoStar.value).toBeCloseTo(hOptimum('large', k), 2);
    }
    const small0 = three.groups[4] as AllocationGroup;
    expect(small0.shape).toBe('rho = 0 best');
    expect(small0.rhoStar).toMatchObject({ value: 0, source: 'best arm' });
  });
});

describe('trends', () => {
  it('slopes per doubling: the walls exactly as re-computed from the closed form, rho* near the truth', () => {
    for (const b of ['large', 'small'] as HBudget[]) {
      const t = three.trends!.find((x) => x.budget === b)!;
      expect(t.per).toBe('doubling of tokens');
      expect(t.points.map((p) => p.tokens)).toEqual(H_TOKENS);
      expect(t.dL0.slope!).toBeCloseTo(
        olsSlope(
          U,
          K.map((k) => dL0(b, k, [0, 1, 2])),
        ),
        10,
      );
    }
    expect(three.trends![0].rhoStar.slope!).toBeCloseTo(H_BUDGETS.large.dr, 2);
  });

  it('3 seeds: paired-t over the per-seed slopes, centred on the point slope', () => {
    const t = three.trends!.find((x) => x.budget === 'large')!;
    expect(t.dL0.method).toBe('paired-t');
    const slopes = [0, 1, 2].map((s) =>
      olsSlope(
        U,
        K.map((k) => dL0('large', k, [0, 1, 2], s)),
      ),
    );
    const sd = Math.sqrt(slopes.reduce((a, v) => a + (v - mean(slopes)) ** 2, 0) / 2);
    const half = (tQuantileExact(0.95, 2) * sd) / Math.sqrt(3);
    expect(t.dL0.interval![0]!).toBeCloseTo(t.dL0.slope! - half, 10);
    expect(t.dL0.interval![1]!).toBeCloseTo(t.dL0.slope! + half, 10);
  });

  it('5 seeds: a seed bootstrap whose intervals contain the true slopes', () => {
    const t = five.trends!.find((x) => x.budget === 'large')!;
    expect(t.rhoStar.method).toBe('bootstrap');
    const [lo, hi] = t.rhoStar.interval!;
    expect(lo!).toBeLessThan(H_BUDGETS.large.dr);
    expect(hi!).toBeGreaterThan(H_BUDGETS.large.dr);
    expect(t.dL0.interval![0]!).toBeLessThan(t.dL0.slope!);
    expect(t.dL0.interval![1]!).toBeGreaterThan(t.dL0.slope!);
  });
});

describe('expandHorizons', () => {
  const row = (id: string, tokens: number): TrialRow => ({
    id,
    kind: 'allocation',
    variant: 'engram',
    seed: 0,
    budget: 'b',
    rho: 0.5,
    rhoActual: 0.5,
    slots: 1,
    status: 'ok',
    reason: null,
    valLoss: 4,
    valBpb: 1.5,
    tokens,
    seconds: 9,
    pTot: 4,
    pAct: 1,
    pSparse: 3,
    routedExperts: 4,
  });

  it('a sweep without horizons keeps one row per trial with horizon null', () => {
    const rows = [row('a', 100), row('b', 100)];
    expect(expandHorizons(rows, () => null)).toEqual(rows.map((r) => ({ ...r, horizon: null })));
  });

  it('horizons become rows; a trial without them is one horizon at its own tokens', () => {
    const hs = [
      { tokens: 50, step: 5, valLoss: 4.5, valBpb: 1.6, seconds: 3 },
      { tokens: 100, step: 10, valLoss: 4, valBpb: 1.5, seconds: 9 },
    ];
    const out = expandHorizons([row('a', 100), row('b', 200)], (id) => (id === 'a' ? hs : null));
    expect(out.map((r) => [r.id, r.horizon, r.valLoss, r.tokens])).toEqual([
      ['a', 50, 4.5, 50],
      ['a', 100, 4, 100],
      ['b', 200, 4, 200],
    ]);
  });

  it("memory trials with horizons: the memory law uses each trial's longest horizon, keyed by variant as before", () => {
    const dir = join(root, 'mem');
    [1000, 3000].forEach((slots, i) => {
      const td = join(dir, 'trials', `t${i}`);
      mkdirSync(td, { recursive: true });
      writeFileSync(
        join(td, 'config.json'),
        JSON.stringify({
          meta: { kind: 'memory', variant: 'engram', seed: 0, slots },
          accounting: { pTot: 1, pAct: 1, pSparse: 0 },
        }),
      );
      const horizons = [
        { tokens: 100, valLoss: 5 - i * 0.01 },
        { tokens: 200, valLoss: 4 - i * 0.01 },
      ];
      writeFileSync(
        join(td, 'result.json'),
        JSON.stringify({ status: 'ok', valLoss: 4 - i * 0.01, tokens: 200, seconds: 1, horizons }),
      );
    });
    const [p] = sweepDatasets(dir, ['powerlaw']);
    expect(p.series.map((x) => x.key)).toEqual(['engram']);
    expect(p.series[0].points.map((pt) => pt.ys)).toEqual([[4], [3.99]]);
  });

  it('bad horizons in result.json are input errors naming the file and field', () => {
    const dir = join(root, 'bad');
    const write = (horizons: unknown) => {
      const td = join(dir, 'trials', 't1');
      mkdirSync(td, { recursive: true });
      writeFileSync(join(td, 'result.json'), JSON.stringify({ status: 'ok', valLoss: 4, tokens: 100, horizons }));
    };
    const line = () => {
      try {
        readHorizons(dir, 't1');
      } catch (e) {
        if (e instanceof InputError) return e.line();
        throw e;
      }
      return 'no error';
    };
    write([
      { tokens: 100, valLoss: 4 },
      { tokens: 100, valLoss: 3.9 },
    ]);
    expect(line()).toMatch(
      /t1\/result\.json: horizons\[1\]\.tokens: 100 does not increase on the previous horizon \(100\)/,
    );
    write([{ tokens: 100, valLoss: 'x' }]);
    expect(line()).toMatch(/result\.json: horizons\[0\]\.valLoss: must be a number, not "x"/);
    write({ tokens: 100 });
    expect(line()).toMatch(/result\.json: horizons: must be a list/);
  });
});
