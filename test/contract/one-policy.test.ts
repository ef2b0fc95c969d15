/**
 * One read policy for metrics.jsonl: status (sweep/status.ts, the last row), the tables
 * (results/table.ts), the notebooks' bundle (results/bundle.ts) and the report
 * (report/data.ts) read the same rows from the same folder, skip the same torn last line, and
 * refuse the same damaged line with the same InputError. The folder is written with the
 * contract's writers.
 */
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTrialConfig } from '../../src/contract/config-file.js';
import { InputError } from '../../src/contract/errors.js';
import { METRICS_FILE, trialDir } from '../../src/contract/files.js';
import { appendMetrics, lastMetricsRow, readMetricsFile } from '../../src/contract/metrics.js';
import { buildResult, writeResult } from '../../src/contract/result.js';
import type { MetricsRow } from '../../src/contract/results.js';
import { writeSweepRecord } from '../../src/contract/sweep-file.js';
import { loadReportData } from '../../src/report/data.js';
import { bundleSweep } from '../../src/results/bundle.js';
import { readMetrics } from '../../src/results/table.js';
import { sweepStatus } from '../../src/sweep/status.js';

const root = mkdtempSync(join(tmpdir(), 'es-policy-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const backend = { name: 'wasm', native: false, threads: 1 };
const ids = ['t0000000000000001', 't0000000000000002'];
const row = (step: number, extra: Partial<MetricsRow> = {}): MetricsRow => ({
  step,
  tokens: step * 64,
  lr: 1e-3,
  loss: 6 - step / 10,
  tokensPerSec: 1000,
  msPerStep: 64,
  ...extra,
});

/** Two finished trials; the first has a NaN loss, a cooldown branch and a torn last line. */
function makeSweep(name: string): string {
  const dir = join(root, name);
  const meta = (seed: number) => ({
    kind: 'allocation',
    variant: 'engram',
    seed,
    budget: 'b',
    rho: 0.5,
    rhoActual: 0.5,
    slots: 100,
  });
  writeSweepRecord(dir, {
    name,
    specHash: 'h',
    spec: {},
    created: 'c',
    updated: 'u',
    trials: ids.map((id, seed) => ({ id, meta: meta(seed), steps: 8 })),
  });
  ids.forEach((id, seed) => {
    const t = trialDir(dir, id);
    writeTrialConfig(t, {
      model: { dModel: 8, moe: { routed: 4 } },
      train: { seed, steps: 8 },
      meta: meta(seed),
      accounting: { pTot: 100, pAct: 10, pSparse: 90, slots: 100 },
    });
    const rows = [
      row(1),
      row(2, { loss: NaN }),
      row(4, { valLoss: 5.5, valBpb: 2 }),
      row(6),
      row(8, { valLoss: 5, valBpb: 1.9 }),
    ];
    if (seed === 0)
      rows.push(
        row(7, { branch: 512, lr: 1e-4 }),
        row(8, { branch: 512, lr: 0, valLoss: 4.9, valBpb: 1.8, horizon: true }),
      );
    for (const r of rows) appendMetrics(join(t, METRICS_FILE), r);
    if (seed === 0) appendFileSync(join(t, METRICS_FILE), '{"step":9,"tokens":5');
    writeResult(
      t,
      buildResult({ status: 'ok', valLoss: 5 - seed / 100, valBpb: 1.9, tokens: 512 }, { backend, seconds: 1 }),
    );
  });
  return dir;
}

/** What each reader gives for each trial's metrics. */
function readAll(dir: string) {
  const status = sweepStatus(dir);
  const bundle = bundleSweep(dir);
  const report = loadReportData(dir);
  return ids.map((id, i) => ({
    contract: readMetricsFile(join(trialDir(dir, id), METRICS_FILE)),
    table: readMetrics(dir, id),
    bundle: bundle.trials.find((t) => t.id === id)!,
    report: report.metrics.get(id),
    status: status.trials[i],
  }));
}

describe('metrics.jsonl: one policy for status, table, bundle and report', () => {
  it('all four read the same rows (the torn last line skipped, a NaN loss kept as NaN)', () => {
    const dir = makeSweep('same');
    const got = readAll(dir);
    expect(got[0].contract).toHaveLength(7);
    expect(got[0].contract[1].loss).toBeNaN();
    expect(got[0].contract.at(-1)).toMatchObject({ step: 8, branch: 512, horizon: true });
    expect(got[1].contract).toHaveLength(5);
    for (const g of got) {
      expect(g.table).toEqual(g.contract);
      expect(g.report).toEqual(g.contract);
      expect(g.bundle.metrics).toEqual(g.contract);
      expect(g.bundle.metricRows).toBe(g.contract.length);
      const last = g.contract.at(-1)!;
      expect(g.status).toMatchObject({ step: last.step, loss: last.loss, tokensPerSec: last.tokensPerSec });
    }
  });

  it('a damaged last complete line: all four refuse it with the same InputError (file and line)', () => {
    const dir = makeSweep('damaged');
    const f = join(trialDir(dir, ids[0]), METRICS_FILE);
    writeFileSync(f, readFileSync(f, 'utf8').replace(/\{"step":9,"tokens":5$/, '{"step":9,"tokens\n'));
    const lines: string[] = [];
    const readers: [string, () => unknown][] = [
      ['contract', () => readMetricsFile(f)],
      ['last row', () => lastMetricsRow(f)],
      ['status', () => sweepStatus(dir)],
      ['table', () => readMetrics(dir, ids[0])],
      ['bundle', () => bundleSweep(dir)],
      ['report', () => loadReportData(dir)],
    ];
    for (const [who, read] of readers) {
      let err: unknown = null;
      try {
        read();
      } catch (e) {
        err = e;
      }
      expect(err, who).toBeInstanceOf(InputError);
      expect((err as InputError).where, who).toBe(f);
      lines.push((err as InputError).line());
    }
    expect(new Set(lines).size).toBe(1);
    expect(lines[0]).toMatch(/metrics\.jsonl: line 8: malformed JSON/);
  });

  it('a damaged line in the middle: every whole-file reader refuses it (status reads only the tail)', () => {
    const src = makeSweep('middle');
    const dir = join(root, 'middle-2');
    cpSync(src, dir, { recursive: true });
    const f = join(trialDir(dir, ids[1]), METRICS_FILE);
    const text = readFileSync(f, 'utf8').split('\n');
    text[2] = '{oops';
    writeFileSync(f, text.join('\n'));
    for (const read of [
      () => readMetricsFile(f),
      () => readMetrics(dir, ids[1]),
      () => bundleSweep(dir),
      () => loadReportData(dir),
    ]) {
      expect(read).toThrow(InputError);
      expect(read).toThrow(/^line 3: malformed JSON/);
      try {
        read();
      } catch (e) {
        expect((e as InputError).where).toBe(f);
      }
    }
    expect(sweepStatus(dir).trials[1]).toMatchObject({ step: 8, loss: row(8).loss });
  });
});
