/**
 * The horizon charts and headline (issue 12, item 3) on the horizons fixture, fitted by src/fit:
 * L(rho) per budget with one curve per horizon, rho* against tokens with the paper's band, the
 * walls against tokens. Each chart is valid vega-lite, compiles without warnings and matches its
 * SVG snapshot; what it draws is checked against the fixture's closed form and the fit.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitSweep } from '../../src/fit/index.js';
import { horizonCurvesChart } from '../../src/report/charts/horizons.js';
import { rhoStarChart, TRENDS, wallsChart } from '../../src/report/charts/trends.js';
import { buildReport, compileSpec, renderSvg, type BuiltReport } from '../../src/report/index.js';
import { H_RHOS, H_TOKENS, hLoss, makeHorizonsFixture, type HBudget } from './horizons-fixture.js';
import { roundSvg, vegaLiteValidator } from './schema.js';

let dir: string;
let built: BuiltReport;
let charts: Map<string, object>;
let validate: (spec: unknown) => string[];

beforeAll(() => {
  validate = vegaLiteValidator();
  dir = makeHorizonsFixture(3);
  fitSweep(dir, { resamples: 200 });
  built = buildReport(dir, { now: new Date('2026-11-28T00:00:00Z') });
  charts = new Map(built.charts.map((c) => [c.name, c.spec]));
});
afterAll(() => rmSync(dirname(dir), { recursive: true, force: true }));

/** Data values of every layer (recursively) whose mark type is `mark`. */
function layerValues(spec: unknown, mark: string): Record<string, number | string>[][] {
  const out: Record<string, number | string>[][] = [];
  const walk = (s: Record<string, unknown>) => {
    const m = s.mark as string | { type: string } | undefined;
    if (m && (typeof m === 'string' ? m : m.type) === mark)
      out.push((s.data as { values: Record<string, number>[] }).values);
    for (const k of ['layer', 'concat']) for (const c of (s[k] as Record<string, unknown>[] | undefined) ?? []) walk(c);
  };
  walk(spec as Record<string, unknown>);
  return out;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const r6 = (x: number) => Number(x.toPrecision(6));

describe('horizon charts', () => {
  it('a horizons sweep gets the three horizon charts after the U-shape', () => {
    expect(built.charts.map((c) => c.name)).toEqual(['ushape', 'horizons', 'rhostar', 'walls']);
  });

  for (const name of ['horizons', 'rhostar', 'walls']) {
    it(`${name}: valid vega-lite, no compiler warnings, SVG matches the snapshot`, async () => {
      const spec = charts.get(name)!;
      expect(validate(spec)).toEqual([]);
      expect(compileSpec(spec as never).warnings).toEqual([]);
      await expect(roundSvg(await renderSvg(spec as never))).toMatchFileSnapshot(`__snapshots__/${name}.svg`);
    });
  }

  it('horizons: one curve per (budget, horizon) through the seed means of the closed form', () => {
    const [, lines] = layerValues(charts.get('horizons'), 'line')
      .map((v, i) => [i, v] as const)
      .find(([i]) => i === 0)!;
    // panels in budget order: large, small; the first line layer is large's
    expect(lines).toHaveLength(H_TOKENS.length * H_RHOS.length);
    for (const p of lines) {
      const k = H_TOKENS.indexOf(p.tokens as number);
      expect(p.mean).toBe(r6(mean([0, 1, 2].map((s) => hLoss('large', p.rho as number, k, s)))));
    }
  });

  it('rhostar: the trend points of the fit, the paper band at 0.75-0.8', () => {
    const trends = built.data.fits!.ushape!.trends!;
    const points = layerValues(charts.get('rhostar'), 'point')[0];
    expect(points.map((p) => [p.budget, p.tokens, p.rhoStar])).toEqual(
      trends.flatMap((t) => t.points.map((p) => [t.budget, p.tokens, r6(p.rhoStar!)])),
    );
    expect(layerValues(charts.get('rhostar'), 'rect')[0]).toEqual([
      { lo: TRENDS.paperBand[0], hi: TRENDS.paperBand[1] },
    ]);
    // small starts with rho = 0 best: its first rho* is the best arm, 0
    expect(points.find((p) => p.budget === 'small' && p.tokens === H_TOKENS[0])).toMatchObject({
      rhoStar: 0,
      source: 'best arm',
      shape: 'rho = 0 best',
    });
  });

  it('walls: dL0 and dL1 per horizon as the fit has them, zero line drawn', () => {
    const lines = layerValues(charts.get('walls'), 'line');
    const trends = built.data.fits!.ushape!.trends!;
    for (const [i, budget] of (['large', 'small'] as HBudget[]).entries()) {
      const t = trends.find((x) => x.budget === budget)!;
      const want = t.points.flatMap((p) => [r6(p.dL0!), r6(p.dL1!)]);
      expect(lines[i].map((v) => v.loss)).toEqual(want);
    }
    expect(layerValues(charts.get('walls'), 'rule').filter((v) => 'zero' in v[0])).toHaveLength(2);
  });

  it("the U-shape chart of a horizons sweep draws the longest horizon's parabola", () => {
    const g = built.data.fits!.ushape!.groups.find((x) => x.key === `large@${H_TOKENS[3]}`)!;
    const c = g.coefficients as { a: number; b: number; c: number };
    const [curve] = layerValues(charts.get('ushape'), 'line');
    for (const p of curve) expect(p.loss).toBeCloseTo(c.c + (p.rho as number) * (c.b + (p.rho as number) * c.a), 5);
  });

  it('no horizon charts without horizons in the fit', () => {
    const d = {
      ...built.data,
      fits: {
        ushape: { kind: 'ushape', groups: built.data.fits!.ushape!.groups.map((g) => ({ ...g, horizon: null })) },
      },
    };
    expect(horizonCurvesChart(d)).toBeNull();
    expect(rhoStarChart(d)).toBeNull();
    expect(wallsChart(d)).toBeNull();
  });
});

describe('the headline of a horizons sweep', () => {
  it('each budget at its longest horizon, with tokens per active parameter, then its trend', () => {
    const s = built.summary;
    expect(s.headline).toMatch(
      /^Budget large at 1\.05M tokens \(2\.6 per active parameter\): U \(both walls resolved: .*\): rho\* = 0\.71 \[[\d.]+, [\d.]+\] \(quadratic vertex\); dL0 \+0\.15\d\d/,
    );
    expect(s.details[0]).toMatch(
      /^Budget large across 4 horizons \(131\.1k\.\.1\.05M tokens, 0\.3\.\.2\.6 per active parameter\), per doubling of tokens: rho\* \+0\.12\d/,
    );
    expect(s.details.some((d) => d.startsWith('Budget small at 1.05M tokens (10.5 per active parameter): U'))).toBe(
      true,
    );
  });
});
