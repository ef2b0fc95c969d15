/**
 * `engram-sweep fit` through the built CLI (`npm test` builds dist first): a CSV table in words
 * and as JSON, a results folder (fits.json written), and the exit-2 cases, which print one line
 * and write nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectInputErrorExit, runCli } from '../helpers/cli.js';

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
  for (const [budget, v] of [['d64', 0.75], ['d96', 0.6]] as const) {
    for (const rho of [0, 0.25, 0.5, 0.625, 0.75, 0.875, 1]) {
      for (const seed of [0, 1]) rows.push(`${budget},${rho},${seed},engram,${(3.7 + 0.15 * (rho - v) ** 2 + noise[k++ % noise.length]).toFixed(5)}`);
    }
    for (const seed of [0, 1]) rows.push(`${budget},1,${seed},moe,${(3.74 + 0.002 * seed).toFixed(5)}`);
  }
  return file('ushape.csv', rows.join('\n') + '\n');
}

describe('engram-sweep fit', () => {
  it('a CSV in words: one line per budget with the optimum, its interval, the gain and R^2', () => {
    const r = run([ushapeCsv(), '--kind', 'ushape', '--by', 'budget']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^budget d64: optimum rho = 0\.7\d \[0\.\d\d, 0\.\d\d\] \(quadratic\), 0\.\d\d \(Akima\); 0\.0\d\d \[0\.\d+, 0\.\d+\] nats better than pure MoE; curvature > 0 with p = \d\.\d\d; R\^2 [01]\.\d\d$/);
    expect(lines[1]).toMatch(/^budget d96: optimum rho = 0\.6\d/);
  });

  it('--json: the DESIGN shape, reproducible by --seed', () => {
    const args = [ushapeCsv(), '--kind', 'ushape', '--by', 'budget', '--json', '--resamples', '1000', '--seed', '3'];
    const r = run(args);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ kind: 'ushape', x: 'rho', y: 'valLoss', by: 'budget' });
    const g = out.groups[0];
    for (const key of ['key', 'n', 'vertex', 'interval', 'vertexAkima', 'curvature', 'pCurvaturePositive', 'gain', 'gainInterval', 'r2', 'residuals', 'edge', 'converged']) expect(g).toHaveProperty(key);
    expect(g.vertex).toBeCloseTo(0.75, 1);
    expect(g.reference.source).toBe('moe');
    expect(run(args).stdout).toBe(r.stdout);
  });

  it('a power-law table by variant adds slotMultiple', () => {
    const rows = ['slots,variant,valLoss'];
    for (const m of [1e5, 3e5, 1e6, 3e6]) {
      rows.push(`${m},engram,${(3.9 - 0.028 * Math.log10(m)).toFixed(6)}`, `${m},engram,${(3.902 - 0.028 * Math.log10(m)).toFixed(6)}`);
      rows.push(`${m},overencoding,${(3.912 - 0.028 * Math.log10(m)).toFixed(6)}`, `${m},overencoding,${(3.914 - 0.028 * Math.log10(m)).toFixed(6)}`);
    }
    const r = run([file('mem.csv', rows.join('\n')), '--kind', 'powerlaw', '--by', 'variant', '--json', '--resamples', '1000']);
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
        writeFileSync(join(d, 'config.json'), JSON.stringify({ meta: { kind: 'allocation', variant: 'engram', seed, budget: 'b', rho } }));
        writeFileSync(join(d, 'result.json'), JSON.stringify({ status: 'ok', valLoss: 3.7 + 0.2 * (rho - 0.7) ** 2 + 0.002 * seed }));
      }),
    );
    const r = run([root]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^budget b: optimum rhoActual = 0\.7/);
    expect(JSON.parse(readFileSync(join(root, 'fits.json'), 'utf8')).fits[0].kind).toBe('ushape');
  });

  it('bad input exits 2 with one line and writes nothing', () => {
    const csv = ushapeCsv();
    expectInputError([csv, '--kind', 'cubic'], /--kind: "cubic" is not one of ushape, powerlaw/);
    expectInputError([csv], /--kind: required for a table/);
    expectInputError([csv, '--kind', 'ushape', '--y', 'loss'], /--y column "loss" is not in the table/);
    expectInputError([file('nan.csv', 'rho,valLoss\n0,3.8\n0.5,3.7\n1,oops\n'), '--kind', 'ushape'], /nan\.csv: line 4: valLoss = "oops" is not a number/);
    expectInputError([file('two.csv', 'rho,valLoss\n0,3.8\n1,3.7\n0,3.81\n'), '--kind', 'ushape'], /2 distinct rho value\(s\) \(0, 1\); a quadratic needs at least 3/);
    expectInputError([join(dir, 'missing.csv'), '--kind', 'ushape'], /missing\.csv: file not found/);
    expectInputError([csv, '--kind', 'ushape', '--resamples', '10'], /--resamples: "10" is not an integer >= 1000/);
    const empty = join(dir, 'empty-sweep');
    mkdirSync(join(empty, 'trials'), { recursive: true });
    expectInputError([empty], /no finished trials/);
    expect(existsSync(join(empty, 'fits.json'))).toBe(false);
  });
});
