/**
 * Every chart of the fixture sweep: valid against vega-lite's JSON schema, compiled without
 * warnings, rendered to SVG and compared with the committed snapshot (numbers rounded), plus
 * checks of what is drawn against values computed here from the fixture's closed forms.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, compileSpec, renderSvg, type ReportData } from '../../src/report/index.js';
import { trialLabel } from '../../src/report/charts/common.js';
import { gatesChart } from '../../src/report/charts/gates.js';
import { powerlawChart } from '../../src/report/charts/powerlaw.js';
import { ushapeChart } from '../../src/report/charts/ushape.js';
import { FIXTURE_RHOS, FIXTURE_SEEDS, FIXTURE_SLOTS, GATE_TOKENS, makeFixture, uLoss } from './fixture.js';
import { roundSvg, vegaLiteValidator } from './schema.js';

const NOW = new Date('2026-11-28T00:00:00Z');
let validate: (spec: unknown) => string[];
let dir: string;
let data: ReportData;
let charts: Map<string, object>;
const svgs = new Map<string, string>();

beforeAll(async () => {
  validate = vegaLiteValidator();
  dir = makeFixture();
  const r = buildReport(dir, { now: NOW });
  data = r.data;
  charts = new Map(r.charts.map((c) => [c.name, c.spec]));
  for (const [name, spec] of charts) svgs.set(name, await renderSvg(spec as never));
});
afterAll(() => rmSync(dirname(dir), { recursive: true, force: true }));

/** Data values of every layer (recursively) whose mark type is `mark`. */
function layerValues(spec: unknown, mark: string): Record<string, number>[][] {
  const out: Record<string, number>[][] = [];
  const walk = (s: Record<string, unknown>, data?: unknown) => {
    const d = (s.data as { values?: unknown[] } | undefined)?.values ?? data;
    const m = s.mark as string | { type: string } | undefined;
    if (m && (typeof m === 'string' ? m : m.type) === mark) out.push(d as Record<string, number>[]);
    for (const k of ['layer', 'concat', 'vconcat', 'hconcat'])
      for (const c of (s[k] as Record<string, unknown>[] | undefined) ?? []) walk(c, d);
  };
  walk(spec as Record<string, unknown>);
  return out;
}

const count = (svg: string, role: string) => svg.split(`aria-roledescription="${role}"`).length - 1;

describe('chart specs', () => {
  it('builds all five charts for a sweep with allocation, memory and Engram trials', () => {
    expect([...charts.keys()]).toEqual(['ushape', 'powerlaw', 'gates', 'training', 'load']);
  });

  for (const name of ['ushape', 'powerlaw', 'gates', 'training', 'load']) {
    it(`${name}: valid vega-lite, no compiler warnings, SVG matches the snapshot`, async () => {
      const spec = charts.get(name)!;
      expect(validate(spec)).toEqual([]);
      expect(compileSpec(spec as never).warnings).toEqual([]);
      const svg = svgs.get(name)!;
      expect(svg.startsWith('<svg')).toBe(true);
      await expect(roundSvg(svg)).toMatchFileSnapshot(`__snapshots__/${name}.svg`);
    });
  }

  it('the schema check can fail: a misspelt encoding channel is rejected', () => {
    expect(validate({ mark: 'point', encoding: { colour: { field: 'x' } } }).length).toBeGreaterThan(0);
  });
});

describe('what the charts draw', () => {
  it('ushape: one point per ok allocation trial (engram and moe), none for the failed one', () => {
    const perBudget = FIXTURE_SEEDS.length * (FIXTURE_RHOS.length + 1);
    expect(count(svgs.get('ushape')!, 'point')).toBe(2 * perBudget);
    const points = layerValues(charts.get('ushape'), 'point').flat();
    expect(points.map((p) => p.valLoss).sort()).toEqual(
      data.rows
        .filter((r) => r.kind === 'allocation' && r.status === 'ok')
        .map((r) => Number(r.valLoss!.toPrecision(6)))
        .sort(),
    );
  });

  it('ushape: the drawn parabola is the fitted one, lowest at its vertex 0.75', () => {
    const [small] = layerValues(charts.get('ushape'), 'line').slice(-1); // panels in budget order: large, small
    for (const p of small) expect(p.loss).toBeCloseTo(4.0 + 0.2 * (p.rho - 0.75) ** 2, 5);
    const lowest = small.reduce((a, b) => (b.loss < a.loss ? b : a));
    expect(lowest.rho).toBeCloseTo(0.75, 6);
    expect(small[0].rho).toBe(0);
    expect(small[small.length - 1].rho).toBe(1);
  });

  it('ushape: the band is the vertex interval, an unbounded end drawn to the axis end', () => {
    const bands = layerValues(charts.get('ushape'), 'rect');
    expect(bands).toEqual([[{ lo: 0.7, hi: 1 }], [{ lo: 0.7, hi: 0.8 }]]); // large: [0.7, null]; small: [0.7, 0.8]
  });

  it('ushape: the seed means are the fixture means, pure MoE drawn at its mean', () => {
    const ticks = layerValues(charts.get('ushape'), 'tick');
    const engramSmall = ticks[1].filter((t) => (t as unknown as { variant: string }).variant === 'engram');
    for (const t of engramSmall) expect(t.mean).toBeCloseTo(uLoss('small', t.rho, 0) - 0.004, 5); // seed noise averages out
    const rules = layerValues(charts.get('ushape'), 'rule')
      .flat()
      .filter((r) => 'label' in r);
    expect(rules.length).toBe(2);
    rules.forEach((r, i) => expect(r.loss).toBeCloseTo(uLoss(['large', 'small'][i], 1, 0) - 0.004 + 0.01, 5));
  });

  it('ushape without the moe variant: the dashed line is Engram at nominal rho = 1 (realised 0.998), labelled as such (issue 15)', () => {
    const rows = data.rows
      .filter((r) => r.variant !== 'moe')
      .map((r) => (r.kind === 'allocation' && r.rho === 1 ? { ...r, rhoActual: 0.998 } : r));
    const spec = ushapeChart({ ...data, rows });
    const rules = layerValues(spec, 'rule')
      .flat()
      .filter((r) => 'label' in r) as unknown as { loss: number; label: string }[];
    expect(rules.map((r) => r.loss)).toEqual(
      ['large', 'small'].map((b) => Number((uLoss(b, 1, 0) - 0.004).toPrecision(6))),
    );
    expect(rules.map((r) => r.label)).toEqual(Array(2).fill('rho = 1 with the Engram module kept (1-slot tables)'));
    const subtitle = (spec as unknown as { title: { subtitle: string } }).title.subtitle;
    expect(subtitle).toContain('dashed: rho = 1 with the Engram module kept (1-slot tables)');
    expect(subtitle).not.toContain('pure MoE');
    // with the moe variant it is pure MoE
    expect((charts.get('ushape') as unknown as { title: { subtitle: string } }).title.subtitle).toContain(
      'dashed: pure MoE',
    );
  });

  it('ushape without fits: points and bars only, no curve, band or vertex', () => {
    const spec = ushapeChart({ ...data, fits: null });
    expect(validate(spec)).toEqual([]);
    expect(layerValues(spec, 'line')).toEqual([]);
    expect(layerValues(spec, 'rect')).toEqual([]);
    expect(JSON.stringify(spec)).toContain('no fit yet');
  });

  it('powerlaw: one point per memory trial and per mean, the fitted law through the slot range on log axes', () => {
    const means = 2 * FIXTURE_SLOTS.length;
    expect(count(svgs.get('powerlaw')!, 'point')).toBe(means * FIXTURE_SEEDS.length + means);
    const [curves] = layerValues(charts.get('powerlaw'), 'line');
    const engram = curves.filter((c) => (c as unknown as { variant: string }).variant === 'engram');
    expect(engram[0].slots).toBe(1000);
    expect(engram[engram.length - 1].slots).toBe(100000);
    for (const c of engram) expect(c.loss).toBeCloseTo(4.5 * c.slots ** -0.01, 5);
    expect(JSON.stringify(charts.get('powerlaw'))).toContain('"type":"log"');
  });

  it('powerlaw without fits: the means joined by a dashed line instead', () => {
    const spec = powerlawChart({ ...data, fits: null })!;
    const [means] = layerValues(spec, 'line');
    expect(means.length).toBe(2 * FIXTURE_SLOTS.length);
    expect(JSON.stringify(spec)).toContain('no fit yet');
  });

  it('gates: every token drawn once as text on a cell, in the best Engram trial', () => {
    const svg = svgs.get('gates')!;
    expect(count(svg, 'text mark')).toBe(GATE_TOKENS.length);
    expect(count(svg, 'rect mark')).toBe(GATE_TOKENS.length);
    const best = data.rows
      .filter((r) => r.variant === 'engram' && r.status === 'ok')
      .sort((a, b) => a.valLoss! - b.valLoss!)[0];
    expect(data.gates!.id).toBe(best.id);
    expect(svg).toContain('&lt;/script&gt;&lt;b&gt;x');
  });

  it('gates: cell colour darkens with the gate (luminance falls as the gate rises)', () => {
    const cells = [
      ...svgs
        .get('gates')!
        .matchAll(/gate: ([\d.]+);[^>]*aria-roledescription="rect mark"[^>]*fill="rgb\((\d+), (\d+), (\d+)\)"/g),
    ];
    expect(cells.length).toBe(GATE_TOKENS.length);
    const pts = cells.map((m) => ({
      gate: Number(m[1]),
      lum: 0.2126 * Number(m[2]) + 0.7152 * Number(m[3]) + 0.0722 * Number(m[4]),
    }));
    pts.sort((a, b) => a.gate - b.gate);
    for (let i = 1; i < pts.length; i++) expect(pts[i].lum).toBeLessThan(pts[i - 1].lum);
    // the mean over the two branches: g and g + 0.1
    expect(pts[0].gate).toBeCloseTo(0.05, 4);
    expect(pts[pts.length - 1].gate).toBeCloseTo(0.95, 4);
  });

  it('gates: no chart without an Engram gate excerpt', () => {
    expect(gatesChart({ ...data, gates: null })).toBeNull();
  });

  it('training: one train line and one validation line per ok trial with metrics', () => {
    const svg = svgs.get('training')!;
    const ok = data.rows.filter((r) => r.status === 'ok').length;
    expect(count(svg, 'line mark')).toBe(2 * ok);
  });

  it('load: one row of cells per (MoE configuration, layer), seeds averaged, known relative loads', () => {
    const [cells] = layerValues(charts.get('load'), 'rect') as unknown as {
      label: string;
      layer: number;
      expert: number;
      relative: number;
      seeds: number;
    }[][];
    const moeTrials = data.rows.filter((r) => r.status === 'ok' && r.routedExperts);
    const labels = new Set(moeTrials.map((r) => trialLabel(r)));
    expect(new Set(cells.map((c) => `${c.label}/${c.layer}`)).size).toBe(2 * labels.size);
    for (const r of moeTrials) {
      const R = r.routedExperts!;
      const mine = cells.filter((c) => c.label === trialLabel(r));
      expect(mine.length).toBe(2 * R);
      for (const c of mine) {
        expect(c.seeds).toBe(2);
        expect(c.relative).toBeCloseTo(c.layer === 0 ? 1 : c.expert === 0 ? (R + 1) / 2 : 0.5, 4);
      }
    }
  });
});
