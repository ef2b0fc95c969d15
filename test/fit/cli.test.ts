/**
 * `engram-sweep fit` through the built CLI (`npm test` builds dist first): a CSV table in words
 * and as JSON, a results folder (fits.json written), and the exit-2 cases, which print one line
 * and write nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { summary } from '../../src/cli/commands/fit.js';
import { fitDataset, tableDataset, type AllocationGroup } from '../../src/fit/index.js';
import { expectInputErrorExit, runCli } from '../helpers/cli.js';
import { H_BUDGETS, H_TOKENS, makeHorizonsFixture } from '../report/horizons-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'fit-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => runCli(['fit', ...args]);
const expectInputError = (args: string[], pattern: RegExp) => expectInputErrorExit(run(args), pattern);

function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

/** Two budgets, a U with its minimum at 0.75 (d64) and 0.6 (d96), two seeds, and pure MoE. */
function ushapeCsv(): string {
  const rows = ['budget,rho,seed,variant,valLoss'];
  const noise = [0.002, -0.0015, 0.001, -0.002, 0.0005, 0.0018, -0.001, 0.0012, -0.0007];
  let k = 0;
  for (const [budget, v] of [
    ['d64', 0.75],
    ['d96', 0.6],
  ] as const) {
    for (const rho of [0, 0.25, 0.5, 0.625, 0.75, 0.875, 1]) {
      for (const seed of [0, 1])
        rows.push(
          `${budget},${rho},${seed},engram,${(3.7 + 0.15 * (rho - v) ** 2 + noise[k++ % noise.length]).toFixed(5)}`,
        );
    }
    for (const seed of [0, 1]) rows.push(`${budget},1,${seed},moe,${(3.74 + 0.002 * seed).toFixed(5)}`);
  }
  return file('ushape.csv', rows.join('\n') + '\n');
}

describe('engram-sweep fit', () => {
  it('a CSV in words: one line per budget led by the shape and its walls, then rho*, the gain and R^2', () => {
    const r = run([ushapeCsv(), '--kind', 'ushape', '--by', 'budget']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    // two seeds: paired-t walls; L(0) - L(0.75) = 0.15 x 0.75^2 = 0.084 at d64
    expect(lines[0]).toMatch(
      /^budget d64: U \(dL0 \+0\.08\d\d \[0\.\d{4}, 0\.\d{4}\], dL1 \+0\.0\d{3} \[0\.\d{4}, 0\.\d{4}\] nats, 2 seeds, paired-t\); rho\* = 0\.7\d \[0\.\d\d, 0\.\d\d\] \(vertex\); Akima 0\.\d\d; 0\.0\d\d \[0\.\d+, 0\.\d+\] nats better than pure MoE; R\^2 [01]\.\d\d$/,
    );
    expect(lines[1]).toMatch(/^budget d96: U \(dL0 \+0\.05\d\d .*; rho\* = 0\.6\d/);
  });

  it('a U whose vertex interval spans the grid says the location is inconclusive', () => {
    const r = fitDataset(tableDataset(ushapeCsv(), 'ushape', { by: 'budget' }), { resamples: 1000 });
    const g = r.groups[0] as AllocationGroup;
    const wide = {
      ...r,
      groups: [{ ...g, interval: [null, null], edge: 'edge', rhoStar: { ...g.rhoStar, interval: [null, null] } }],
    } as typeof r;
    expect(summary(wide)).toMatch(
      /^budget d64: U .*; rho\* = 0\.7\d \[-inf, \+inf\] \(vertex\); Akima 0\.\d\d \[vertex interval spans the sampled range: where the optimum lies is inconclusive\];/,
    );
  });

  it('--json: the DESIGN shape, reproducible by --seed', () => {
    const args = [ushapeCsv(), '--kind', 'ushape', '--by', 'budget', '--json', '--resamples', '1000', '--seed', '3'];
    const r = run(args);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ kind: 'ushape', x: 'rho', y: 'valLoss', by: 'budget' });
    const g = out.groups[0];
    for (const key of [
      'key',
      'n',
      'vertex',
      'interval',
      'vertexAkima',
      'curvature',
      'pCurvaturePositive',
      'gain',
      'gainInterval',
      'r2',
      'residuals',
      'edge',
      'converged',
      'budget',
      'horizon',
      'shape',
      'walls',
      'rhoStar',
      'bestArm',
    ])
      expect(g).toHaveProperty(key);
    expect(g.walls.left).toMatchObject({ n: 2, method: 'paired-t', x: 0, against: 0.75 });
    expect(g.walls.right).toMatchObject({ n: 2, method: 'paired-t', x: 1, against: 0.75 });
    expect(g).toMatchObject({ shape: 'U', horizon: null, rhoStar: { source: 'vertex' } });
    expect(out.trends).toBeUndefined();
    expect(g.vertex).toBeCloseTo(0.75, 1);
    expect(g.reference.source).toBe('moe');
    expect(run(args).stdout).toBe(r.stdout);
  });

  it('a power-law table by variant adds slotMultiple', () => {
    const rows = ['slots,variant,valLoss'];
    for (const m of [1e5, 3e5, 1e6, 3e6]) {
      rows.push(
        `${m},engram,${(3.9 - 0.028 * Math.log10(m)).toFixed(6)}`,
        `${m},engram,${(3.902 - 0.028 * Math.log10(m)).toFixed(6)}`,
      );
      rows.push(
        `${m},overencoding,${(3.912 - 0.028 * Math.log10(m)).toFixed(6)}`,
        `${m},overencoding,${(3.914 - 0.028 * Math.log10(m)).toFixed(6)}`,
      );
    }
    const r = run([
      file('mem.csv', rows.join('\n')),
      '--kind',
      'powerlaw',
      '--by',
      'variant',
      '--json',
      '--resamples',
      '1000',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.groups.map((g: { key: string }) => g.key)).toEqual(['engram', 'overencoding']);
    expect(out.groups[0].slopePerDecade).toBeCloseTo(-0.028, 3);
    // OverEncoding sits 0.012 higher: Engram reaches its best with 10^(-0.012 / 0.028) of the slots
    expect(out.slotMultiple.value).toBeCloseTo(10 ** (-0.012 / 0.028), 1);
  });

  it('a results folder: fits.json written, summary printed', () => {
    const root = join(dir, 'sweep');
    [0, 0.5, 0.75, 1].forEach((rho, i) =>
      [0, 1].forEach((seed) => {
        const d = join(root, 'trials', `t${i}${seed}`);
        mkdirSync(d, { recursive: true });
        writeFileSync(
          join(d, 'config.json'),
          JSON.stringify({ meta: { kind: 'allocation', variant: 'engram', seed, budget: 'b', rho } }),
        );
        writeFileSync(
          join(d, 'result.json'),
          JSON.stringify({ status: 'ok', valLoss: 3.7 + 0.2 * (rho - 0.7) ** 2 + 0.002 * seed }),
        );
      }),
    );
    const r = run([root]);
    expect(r.code).toBe(0);
    // the seeds differ by a constant: paired differences have no spread, both walls resolved
    expect(r.stdout).toMatch(
      /^budget b: U \(dL0 \+0\.0975 \[0\.0975, 0\.0975\], dL1 \+0\.0175 \[0\.0175, 0\.0175\] nats, 2 seeds, paired-t\); rho\* = 0\.70/,
    );
    expect(JSON.parse(readFileSync(join(root, 'fits.json'), 'utf8')).fits[0].kind).toBe('ushape');
  });

  it('a horizons sweep --json: per (budget, horizon) the vertex, both walls and the shape; per budget the trend (issue 12)', () => {
    const root = makeHorizonsFixture(3, mkdtempSync(join(dir, 'h-')));
    const r = run([root, '--json', '--resamples', '1000']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.groups.map((g: { key: string }) => g.key)).toEqual(
      ['large', 'small'].flatMap((b) => H_TOKENS.map((t) => `${b}@${t}`)),
    );
    for (const g of out.groups) {
      expect(g).toHaveProperty('vertex');
      expect(g).toHaveProperty('interval');
      expect(g.walls.left.interval).toHaveLength(2);
      expect(g.walls.right.interval).toHaveLength(2);
      expect(typeof g.shape).toBe('string');
      expect(g.tokensPerActive).toBeCloseTo(g.horizon / H_BUDGETS[g.budget as 'small' | 'large'].pAct, 10);
    }
    expect(out.trends.map((t: { budget: string }) => t.budget)).toEqual(['large', 'small']);
    for (const t of out.trends) {
      expect(t.points.map((p: { tokens: number }) => p.tokens)).toEqual(H_TOKENS);
      for (const k of ['rhoStar', 'dL0', 'dL1']) expect(t[k].interval).toHaveLength(2);
    }
  });

  it('bad input exits 2 with one line and writes nothing', () => {
    const csv = ushapeCsv();
    expectInputError([csv, '--kind', 'cubic'], /--kind: "cubic" is not one of ushape, powerlaw/);
    expectInputError([csv], /--kind: required for a table/);
    expectInputError([csv, '--kind', 'ushape', '--y', 'loss'], /--y column "loss" is not in the table/);
    expectInputError(
      [file('nan.csv', 'rho,valLoss\n0,3.8\n0.5,3.7\n1,oops\n'), '--kind', 'ushape'],
      /nan\.csv: line 4: valLoss = "oops" is not a number/,
    );
    expectInputError(
      [file('two.csv', 'rho,valLoss\n0,3.8\n1,3.7\n0,3.81\n'), '--kind', 'ushape'],
      /2 distinct rho value\(s\) \(0, 1\); a quadratic needs at least 3/,
    );
    expectInputError([join(dir, 'missing.csv'), '--kind', 'ushape'], /missing\.csv: file not found/);
    expectInputError([csv, '--kind', 'ushape', '--resamples', '10'], /--resamples: "10" is not an integer >= 1000/);
    const empty = join(dir, 'empty-sweep');
    mkdirSync(join(empty, 'trials'), { recursive: true });
    expectInputError([empty], /no finished trials/);
    expect(existsSync(join(empty, 'fits.json'))).toBe(false);
  });
});
