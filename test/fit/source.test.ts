/**
 * What fit reads: CSV / JSONL tables and results folders, the grouping of seeds per x (arquero),
 * the moe reference, and the input errors that name the row. Also fitSweep writing fits.json.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { fitSweep, type FitsFile } from '../../src/fit/index.js';
import { parseCsv, sweepDatasets, tableDataset } from '../../src/fit/source.js';

const dir = mkdtempSync(join(tmpdir(), 'fit-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('no InputError thrown');
}

/** A results folder with trials as the sweep writes them (config.json meta + result.json). */
function fakeSweep(
  name: string,
  trials: { meta: Record<string, unknown>; status?: string; valLoss: number | null }[],
): string {
  const root = join(dir, name);
  trials.forEach((t, i) => {
    const d = join(root, 'trials', `t${String(i).padStart(16, '0')}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(
      join(d, 'config.json'),
      JSON.stringify({ meta: t.meta, accounting: { pTot: 1, pAct: 1, pSparse: 0 } }),
    );
    writeFileSync(
      join(d, 'result.json'),
      JSON.stringify({ status: t.status ?? 'ok', valLoss: t.valLoss, tokens: 1, seconds: 1 }),
    );
  });
  return root;
}

describe('parseCsv', () => {
  it('reads quoted fields, CRLF and blank lines, and names lines', () => {
    const rows = parseCsv('rho,"note, quoted",valLoss\r\n0.5,"a ""b""",3.7\r\n\r\n1,x,3.8\n', 'f.csv');
    expect(rows).toEqual([
      { row: { rho: '0.5', 'note, quoted': 'a "b"', valLoss: '3.7' }, label: 'line 2' },
      { row: { rho: '1', 'note, quoted': 'x', valLoss: '3.8' }, label: 'line 4' },
    ]);
    expect(inputError(() => parseCsv('a,b\n1,2,3\n', 'f.csv')).line()).toMatch(/line 2 has 3 fields, the header has 2/);
  });
});

describe('tableDataset', () => {
  it('groups seeds per x, keeps moe rows as the reference, drops dense and failed rows', () => {
    const f = file(
      'u.csv',
      [
        'rho,variant,status,valLoss',
        '0,engram,ok,3.8',
        '0,engram,ok,3.82',
        '0.5,engram,ok,3.7',
        '0.5,engram,failed,9',
        '1,engram,ok,3.9',
        '1,moe,ok,3.95',
        '1,moe,ok,3.97',
        '1,dense,ok,4.2',
      ].join('\n'),
    );
    const ds = tableDataset(f, 'ushape');
    expect(ds).toMatchObject({ kind: 'ushape', x: 'rho', y: 'valLoss', by: null });
    // no seed column: no seed labels (the walls pair by row order); no horizon column: horizon null
    expect(ds.series).toEqual([
      {
        key: 'all',
        budget: 'all',
        horizon: null,
        pAct: null,
        points: [
          { x: 0, ys: [3.8, 3.82] },
          { x: 0.5, ys: [3.7] },
          { x: 1, ys: [3.9] },
        ],
        reference: [3.95, 3.97],
      },
    ]);
  });

  it('reads JSONL with --x/--y/--by and defaults y to loss when there is no valLoss', () => {
    const f = file(
      'p.jsonl',
      [
        '{"M": 1000, "loss": 3.9, "v": "engram"}',
        '{"M": 1000, "loss": 3.92, "v": "engram"}',
        '{"M": 3000, "loss": 3.8, "v": "overencoding"}',
        '',
      ].join('\n'),
    );
    const ds = tableDataset(f, 'powerlaw', { x: 'M', by: 'v' });
    expect(ds.y).toBe('loss');
    expect(ds.series.map((s) => s.key)).toEqual(['engram', 'overencoding']);
    expect(ds.series[0].points).toEqual([{ x: 1000, ys: [3.9, 3.92] }]);
  });

  it('input errors: a missing column lists the columns, a bad value names its line', () => {
    const f = file('bad.csv', 'rho,valLoss\n0,3.8\n0.5,abc\n');
    expect(inputError(() => tableDataset(f, 'ushape', { y: 'loss' })).line()).toMatch(
      /--y column "loss" is not in the table \(columns: rho, valLoss\)/,
    );
    expect(inputError(() => tableDataset(f, 'ushape')).line()).toMatch(
      /bad\.csv: line 3: valLoss = "abc" is not a number/,
    );
    const neg = file('neg.csv', 'slots,valLoss\n0,3.8\n10,3.7\n');
    expect(inputError(() => tableDataset(neg, 'powerlaw')).line()).toMatch(/line 2: slots = "0" must be positive/);
    expect(inputError(() => tableDataset(file('empty.csv', 'rho,valLoss\n'), 'ushape')).line()).toMatch(/no data rows/);
  });
});

describe('results folders', () => {
  const trials = [
    ...[0, 0.5, 0.75, 1].flatMap((rho) =>
      [0, 1].map((seed) => ({
        meta: {
          kind: 'allocation',
          variant: 'engram',
          seed,
          budget: 'd64',
          rho,
          rhoActual: rho === 0.75 ? 0.74 : null,
        },
        valLoss: 3.7 + 0.2 * (rho - 0.7) ** 2 + 0.003 * seed,
      })),
    ),
    ...[0, 1].map((seed) => ({
      meta: { kind: 'allocation', variant: 'moe', seed, budget: 'd64', rho: 1 },
      valLoss: 3.8 + 0.003 * seed,
    })),
    {
      meta: { kind: 'allocation', variant: 'engram', seed: 2, budget: 'd64', rho: 0.5 },
      status: 'failed',
      valLoss: null,
    },
    ...[1000, 3000, 10000].flatMap((slots) =>
      ['engram', 'overencoding'].map((variant) => ({
        meta: { kind: 'memory', variant, seed: 0, slots },
        valLoss: 4 - 0.03 * Math.log10(slots) + (variant === 'engram' ? 0 : 0.01),
      })),
    ),
  ];

  it('turns trials into both kinds: realised rho (nominal as fallback), budgets, the moe reference, variants', () => {
    const root = fakeSweep('both', trials);
    const [u, p] = sweepDatasets(root, null);
    expect(u).toMatchObject({ kind: 'ushape', x: 'rhoActual', by: 'budget' });
    expect(u.series[0].key).toBe('d64');
    expect(u.series[0].points.map((pt) => pt.x)).toEqual([0, 0.5, 0.74, 1]);
    expect(u.series[0].reference).toEqual([3.8, 3.803]);
    // each y labelled with its trial's seed, for the walls' pairing; no horizons: keys as before
    expect(u.series[0].points[0]).toEqual({ x: 0, ys: [3.7 + 0.2 * 0.49, 3.7 + 0.2 * 0.49 + 0.003], seeds: [0, 1] });
    expect(u.series[0]).toMatchObject({ key: 'd64', budget: 'd64', horizon: null, pAct: 1 });
    expect(p).toMatchObject({ kind: 'powerlaw', x: 'slots', by: 'variant' });
    expect(p.series.map((s) => s.key)).toEqual(['engram', 'overencoding']);
  });

  it('fitSweep writes fits.json with one fit per kind, and slotMultiple for the two variants', () => {
    const root = fakeSweep('write', trials);
    const results = fitSweep(root, { resamples: 1000 });
    const saved = JSON.parse(readFileSync(join(root, 'fits.json'), 'utf8')) as FitsFile;
    expect(saved.sweep).toBe('write');
    expect(saved.fits.map((f) => f.kind)).toEqual(['ushape', 'powerlaw']);
    expect(saved.fits).toEqual(JSON.parse(JSON.stringify(results)));
    expect(saved.fits[1].slotMultiple!.value).toBeGreaterThan(0);
    // refitting one kind keeps the other
    fitSweep(root, { resamples: 1000, kinds: ['powerlaw'] });
    expect(
      (JSON.parse(readFileSync(join(root, 'fits.json'), 'utf8')) as FitsFile).fits.map((f) => f.kind).sort(),
    ).toEqual(['powerlaw', 'ushape']);
  });

  it('a folder without finished trials, or with too few rho values, is an input error and writes nothing', () => {
    const none = fakeSweep('none', [
      {
        meta: { kind: 'allocation', variant: 'engram', seed: 0, budget: 'b', rho: 0 },
        status: 'failed',
        valLoss: null,
      },
    ]);
    expect(inputError(() => fitSweep(none)).line()).toMatch(/no finished trials/);
    expect(existsSync(join(none, 'fits.json'))).toBe(false);
    const two = fakeSweep(
      'two',
      [0, 1].map((rho) => ({
        meta: { kind: 'allocation', variant: 'engram', seed: 0, budget: 'b', rho },
        valLoss: 3.7,
      })),
    );
    expect(inputError(() => fitSweep(two)).line()).toMatch(
      /budget b: 2 distinct rhoActual value\(s\) \(0, 1\); a quadratic needs at least 3/,
    );
    expect(existsSync(join(two, 'fits.json'))).toBe(false);
    expect(inputError(() => fitSweep(join(dir, 'nowhere'))).line()).toMatch(/not a results folder/);
  });
});
