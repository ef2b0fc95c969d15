/**
 * results/<sweep>/bundle.json: the notebooks' one file per sweep. Checked against a hand-made
 * results folder whose every file is known: plan order, unfinished and failed trials, a half-
 * written metrics line, the gates rule (first Engram trial with gates.json), fits passed through,
 * and the downsampling of long training curves against its stated guarantees.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { bundleSweep, downsample, MAX_METRIC_ROWS, writeBundle } from '../../src/results/bundle.js';

const root = mkdtempSync(join(tmpdir(), 'es-bundle-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const row = (step: number, val = false) => ({
  step,
  tokens: step * 64,
  loss: 10 / step,
  ...(val ? { valLoss: 9 / step } : {}),
});

describe('downsample', () => {
  it('keeps short curves whole (a copy)', () => {
    const rows = Array.from({ length: MAX_METRIC_ROWS }, (_, i) => row(i + 1));
    const out = downsample(rows);
    expect(out).toEqual(rows);
    expect(out).not.toBe(rows);
  });

  it('thins a long curve to the budget, evenly, keeping first, last and every validation row', () => {
    // 5000 steps, validation every 250 steps and at the end: 20 rows that must all survive
    const rows = Array.from({ length: 5000 }, (_, i) => row(i + 1, (i + 1) % 250 === 0));
    const out = downsample(rows);
    expect(out).toHaveLength(MAX_METRIC_ROWS);
    const steps = out.map((r) => r.step);
    expect(steps[0]).toBe(1);
    expect(steps.at(-1)).toBe(5000);
    for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeGreaterThan(steps[i - 1]);
    expect(out.filter((r) => 'valLoss' in r).map((r) => r.step)).toEqual(
      Array.from({ length: 20 }, (_, k) => 250 * (k + 1)),
    );
    // evenly spread: 200 rows over 5000 steps leave no gap much wider than 5000 / 180
    const gaps = steps.slice(1).map((s, i) => s - steps[i]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(Math.ceil(5000 / 180) + 1);
  });

  it('spreads validation rows too when they alone exceed half the budget', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => row(i + 1, true));
    const out = downsample(rows, 50);
    expect(out).toHaveLength(50);
    expect(out[0].step).toBe(1);
    expect(out.at(-1)!.step).toBe(1000);
    const steps = out.map((r) => r.step);
    expect(new Set(steps).size).toBe(50);
    expect(Math.max(...steps.slice(1).map((s, i) => s - steps[i]))).toBeLessThanOrEqual(Math.ceil(1000 / 24) + 1);
  });

  it('max = 2 gives the first and the last row', () => {
    const rows = Array.from({ length: 10 }, (_, i) => row(i + 1));
    expect(downsample(rows, 2).map((r) => r.step)).toEqual([1, 10]);
  });
});

/** A results folder: three planned trials and one stray folder. */
function makeSweep(): { dir: string; gates: unknown; fits: unknown; longRows: ReturnType<typeof row>[] } {
  const dir = join(root, 'sw');
  const plan = [
    { id: 'tb000000000000000', meta: { kind: 'memory', variant: 'overencoding', seed: 0, slots: 1000 } },
    { id: 'ta000000000000000', meta: { kind: 'memory', variant: 'engram', seed: 0, slots: 1000 } },
    { id: 'tc000000000000000', meta: { kind: 'memory', variant: 'engram', seed: 1, slots: 1000 } },
  ];
  const trial = (id: string, files: Record<string, string>) => {
    mkdirSync(join(dir, 'trials', id), { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, 'trials', id, f), text);
  };
  const cfg = (meta: object) =>
    JSON.stringify({
      model: { dModel: 8, moe: { routed: 4 } },
      meta,
      accounting: { pTot: 100, pAct: 10, pSparse: 90, slots: 1000 },
    });
  const gates = { tokens: ['a', ' b'], layers: { '1': [[0.25], [0.75]] } };
  const longRows = Array.from({ length: 450 }, (_, i) => row(i + 1, i === 449));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'sweep.json'),
    JSON.stringify({ name: 'sw', specHash: 'h', spec: {}, trials: plan.map((t) => ({ ...t, steps: 3 })) }),
  );
  // the OverEncoding trial has a gates.json (it should not: the rule wants an Engram trial)
  trial(plan[0].id, {
    'config.json': cfg(plan[0].meta),
    'result.json': JSON.stringify({ status: 'failed', reason: 'diverged', valLoss: null }),
    'gates.json': JSON.stringify({ tokens: ['x'], layers: {} }),
  });
  trial(plan[1].id, {
    'config.json': cfg(plan[1].meta),
    'result.json': JSON.stringify({ status: 'ok', valLoss: 4.5, valBpb: 2, tokens: 192, seconds: 1 }),
    'metrics.jsonl': longRows.map((r) => JSON.stringify(r)).join('\n') + '\n',
    'gates.json': JSON.stringify(gates),
  });
  // unfinished: no result.json, and a metrics line cut in half by the running writer
  trial(plan[2].id, { 'config.json': cfg(plan[2].meta), 'metrics.jsonl': JSON.stringify(row(1)) + '\n{"step":2,"tok' });
  trial('tz000000000000000', { 'metrics.jsonl': '' });
  const fits = {
    sweep: 'sw',
    fits: [{ kind: 'powerlaw', x: 'slots', y: 'valLoss', by: 'variant', groups: [{ key: 'engram', n: 1 }] }],
  };
  writeFileSync(join(dir, 'fits.json'), JSON.stringify(fits));
  return { dir, gates, fits, longRows };
}

describe('bundleSweep / writeBundle', () => {
  const { dir, gates, fits, longRows } = makeSweep();

  it('lists the planned trials in plan order, then stray folders', () => {
    const b = bundleSweep(dir);
    expect(b.format).toBe(1);
    expect(b.sweep.name).toBe('sw');
    expect(b.trials.map((t) => t.id)).toEqual([
      'tb000000000000000',
      'ta000000000000000',
      'tc000000000000000',
      'tz000000000000000',
    ]);
  });

  it('carries meta, result, accounting and model from the trial files', () => {
    const [oe, done, running, stray] = bundleSweep(dir).trials;
    expect(oe.result).toEqual({ status: 'failed', reason: 'diverged', valLoss: null });
    expect(done.meta).toEqual({ kind: 'memory', variant: 'engram', seed: 0, slots: 1000 });
    expect(done.result).toEqual({ status: 'ok', valLoss: 4.5, valBpb: 2, tokens: 192, seconds: 1 });
    expect(done.accounting).toEqual({ pTot: 100, pAct: 10, pSparse: 90, slots: 1000 });
    expect(done.model).toEqual({ dModel: 8, moe: { routed: 4 } });
    expect(running.result).toBeNull();
    expect(stray).toMatchObject({ meta: {}, result: null, accounting: null, model: null, metrics: [], metricRows: 0 });
  });

  it('downsamples metrics and skips a half-written line', () => {
    const [, done, running] = bundleSweep(dir).trials;
    expect(done.metricRows).toBe(450);
    expect(done.metrics).toEqual(downsample(longRows));
    expect(done.metrics.at(-1)).toEqual(longRows[449]);
    expect(running.metrics).toEqual([row(1)]);
    expect(running.metricRows).toBe(1);
  });

  it('takes gates from the first Engram trial with gates.json, and passes fits.json through', () => {
    const b = bundleSweep(dir);
    expect(b.gates).toEqual({ trial: 'ta000000000000000', meta: b.trials[1].meta, ...(gates as object) });
    expect(b.fits).toEqual(fits);
  });

  it('writeBundle writes bundle.json atomically and returns its path', () => {
    const file = writeBundle(dir);
    expect(file).toBe(join(dir, 'bundle.json'));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(JSON.parse(JSON.stringify(bundleSweep(dir))));
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a folder without sweep.json, or a malformed trial file, is an input error naming it', () => {
    expect(() => bundleSweep(join(root, 'nothing'))).toThrow(InputError);
    expect(() => bundleSweep(join(root, 'nothing'))).toThrow(/no sweep\.json/);
    const bad = join(dir, 'trials', 'tc000000000000000', 'result.json');
    writeFileSync(bad, '{"status": ');
    try {
      expect(() => bundleSweep(dir)).toThrow(InputError);
      try {
        bundleSweep(dir);
      } catch (e) {
        expect((e as InputError).where).toBe(bad);
      }
    } finally {
      rmSync(bad);
    }
  });
});
