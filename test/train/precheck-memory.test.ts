/**
 * Issue 15, items 2 and 4: "estimated memory fits" is checked before anything is written. A
 * trial whose tables (value + two Adam moments, 12 bytes a parameter) need more than the
 * machine's memory is refused by `train` and `run`: exit 2, one line naming the file and the
 * field, no --out folder and no results folder.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrial } from '../../src/train/config.js';
import { estimateMemory, memoryProblem } from '../../src/train/precheck.js';
import { parse } from 'yaml';
import { expectInputErrorExit, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'precheck-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// tables of 2 orders x 4 heads x ~2e8 rows x 8 floats per row: ~1.6e9 rows (< 2^31, so the row
// check passes) and ~1.3e10 parameters, ~150 GB with their Adam moments
const BIG = 200_000_000;
const tiny = readFileSync('sweeps/trials/tiny-engram.yaml', 'utf8');
const big = tiny.replace('baseSizes: [20000, 20000]', `baseSizes: [${BIG}, ${BIG}]`);

describe('estimated memory', () => {
  it('tables dominate a huge-table trial and exceed this machine; the tiny trial fits', () => {
    expect(big).not.toEqual(tiny);
    const small = estimateMemory(parseTrial(parse(tiny), 'test'));
    expect(small.total).toBeLessThan(1e9);
    expect(memoryProblem(parseTrial(parse(tiny), 'test'))).toBeNull();
    const e = estimateMemory(parseTrial(parse(big), 'test'));
    expect(e.tables).toBeGreaterThan(os.totalmem());
    // 12 bytes per table parameter: 2 orders x 4 heads x >= BIG rows x 8 floats (dim 32 / 4 heads)
    expect(e.tables).toBeGreaterThanOrEqual(2 * 4 * BIG * 8 * 12);
    const p = memoryProblem(parseTrial(parse(big), 'test'));
    expect(p?.field).toBe('model.engram.baseSizes');
    // a machine with memory to spare passes it
    expect(memoryProblem(parseTrial(parse(big), 'test'), e.total * 2)).toBeNull();
  });
});

describe('train and run refuse a trial larger than the machine', () => {
  it('train: exit 2, one line with the file and model.engram.baseSizes, no --out folder', () => {
    const file = join(dir, 'big.yaml');
    writeFileSync(file, big);
    const out = join(dir, 'out');
    const r = runCli(['train', file, '--out', out]);
    expectInputErrorExit(r, /big\.yaml: model\.engram\.baseSizes: .*GB.*more than this machine's/);
    expect(existsSync(out)).toBe(false);
  });

  it('run: exit 2, one line with the spec and its budget, no results folder', () => {
    const spec = join(dir, 'bigsweep.yaml');
    writeFileSync(
      spec,
      `name: bigsweep
data: { vocabSize: 2048, seqLen: 64, valTokens: 32768 }
backbone:
  dModel: 64
  nLayers: 2
  nHeads: 2
  moe: { shared: 1, topK: 2, expertHidden: 48 }
  engram: { layerIds: [1], maxNgram: 3, headsPerNgram: 4, dimPerNgram: 32 }
budgets: [{ name: huge, pTot: 12000000000 }]
train: { steps: 10, batchSize: 16, warmup: 2 }
axes: { rho: [0] }
`,
    );
    const results = join(dir, 'results');
    const r = runCli(['run', spec, '--results', results]);
    expectInputErrorExit(r, /bigsweep\.yaml: budgets\[0\].*model\.engram\.baseSizes.*more than this machine's/);
    expect(existsSync(results)).toBe(false);
  });
});
