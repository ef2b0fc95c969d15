/**
 * The results contract's JSON files (src/contract): each written by its one writer (temp file +
 * rename) and read back by its one reader; absent is null; damage is an InputError naming the
 * file, except where a reader treats damage as absence (result.json by default, progress.json).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as cliErrors from '../../src/cli/errors.js';
import { readTrialConfig, writeTrialConfig } from '../../src/contract/config-file.js';
import { InputError } from '../../src/contract/errors.js';
import {
  CONFIG_FILE,
  FITS_FILE,
  GATES_FILE,
  PROGRESS_FILE,
  RESULT_FILE,
  SWEEP_FILE,
  trialDir,
} from '../../src/contract/files.js';
import { readFitsFile, writeFitsFile } from '../../src/contract/fits-file.js';
import { readGates, writeGates } from '../../src/contract/gates.js';
import * as contract from '../../src/contract/index.js';
import { readProgress, removeProgress, writeProgress } from '../../src/contract/progress.js';
import { buildResult, failedResult, readResult, writeResult } from '../../src/contract/result.js';
import type { TrialResult } from '../../src/contract/results.js';
import { readSweepRecord, writeSweepRecord } from '../../src/contract/sweep-file.js';
import * as lib from '../../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'es-contract-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(root, `d${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};
const noTemp = (d: string) => expect(readdirSync(d).filter((f) => f.endsWith('.tmp'))).toEqual([]);
const backend = { name: 'wasm', native: true, threads: 4 };

function inputError(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}

describe('result.json', () => {
  const horizons = [
    { tokens: 4096, step: 8, valLoss: 5.1, valBpb: 2.2, seconds: 3.5 },
    { tokens: 8192, step: 16, valLoss: 4.8, valBpb: 2.1, seconds: 6.25 },
  ];

  it('round-trips a horizons result: buildResult -> writeResult -> readResult', () => {
    const dir = fresh();
    const r = buildResult(
      { status: 'ok', valLoss: 4.8, valBpb: 2.1, tokens: 8192, horizons, resumedFrom: 8 },
      { backend, seconds: 7, unigramValLoss: 6.5 },
    );
    expect(r).toEqual({
      status: 'ok',
      valLoss: 4.8,
      valBpb: 2.1,
      unigramValLoss: 6.5,
      tokens: 8192,
      seconds: 7,
      backend: 'wasm',
      native: true,
      threads: 4,
      horizons,
      resumedFrom: 8,
    });
    writeResult(dir, r);
    noTemp(dir);
    expect(readResult(dir)).toEqual(r);
    expect(readResult(dir, { strict: true })).toEqual(r);
    // pretty JSON with a final newline, keys in the builder's order
    const text = readFileSync(join(dir, RESULT_FILE), 'utf8');
    expect(text).toBe(JSON.stringify(r, null, 2) + '\n');
    expect(Object.keys(JSON.parse(text))).toEqual([
      'status',
      'valLoss',
      'valBpb',
      'unigramValLoss',
      'tokens',
      'seconds',
      'backend',
      'native',
      'threads',
      'horizons',
      'resumedFrom',
    ]);
  });

  it('failedResult: no losses, the reason and where it stopped; undefined fields left out', () => {
    const r = failedResult(
      { reason: 'crashed', message: 'killed by SIGKILL', step: 3, tokens: 192, seconds: 2 },
      backend,
    );
    expect(r).toEqual({
      status: 'failed',
      reason: 'crashed',
      message: 'killed by SIGKILL',
      step: 3,
      valLoss: null,
      valBpb: null,
      tokens: 192,
      seconds: 2,
      backend: 'wasm',
      native: true,
      threads: 4,
    });
    expect(Object.keys(failedResult({ reason: 'oom', seconds: 1 }, backend))).not.toContain('step');
    expect(failedResult({ reason: 'oom', seconds: 1 }, backend).tokens).toBe(0);
  });

  it('absent is null; damage is null, or with strict an InputError naming the file', () => {
    const dir = fresh();
    expect(readResult(dir)).toBeNull();
    expect(readResult(dir, { strict: true })).toBeNull();
    writeFileSync(join(dir, RESULT_FILE), '{"status": ');
    expect(readResult(dir)).toBeNull();
    const e = inputError(() => readResult(dir, { strict: true }));
    expect(e.where).toBe(join(dir, RESULT_FILE));
    expect(e.message).toMatch(/malformed JSON/);
    writeFileSync(join(dir, RESULT_FILE), JSON.stringify({ status: 'done' }));
    expect(readResult(dir)).toBeNull();
    expect(inputError(() => readResult(dir, { strict: true })).line()).toMatch(
      /result\.json: status: is not a trial result/,
    );
  });

  it('writeResult refuses a value that is not a result', () => {
    expect(() => writeResult(fresh(), { status: 'done' } as unknown as TrialResult)).toThrow(/status must be/);
  });
});

describe('config.json, gates.json, progress.json, sweep.json, fits.json', () => {
  it('config.json round-trips; malformed is an InputError naming it', () => {
    const dir = fresh();
    expect(readTrialConfig(dir)).toBeNull();
    const c = {
      model: { dModel: 8, moe: { routed: 4 } },
      train: { seed: 1, steps: 3 },
      meta: { kind: 'allocation', variant: 'engram', seed: 1, rho: 0.5 },
      accounting: { pTot: 10, pAct: 5, pSparse: 5, slots: 7 },
    };
    writeTrialConfig(dir, c);
    noTemp(dir);
    expect(readTrialConfig(dir)).toEqual(c);
    writeFileSync(join(dir, CONFIG_FILE), '{');
    expect(inputError(() => readTrialConfig(dir)).where).toBe(join(dir, CONFIG_FILE));
    writeFileSync(join(dir, CONFIG_FILE), '[]');
    expect(inputError(() => readTrialConfig(dir)).message).toMatch(/JSON object/);
  });

  it('gates.json round-trips; a misshapen one names the field', () => {
    const dir = fresh();
    expect(readGates(dir)).toBeNull();
    const g = {
      tokens: ['a', ' b'],
      layers: {
        '1': [
          [0.25, 0.5],
          [0.75, 1],
        ],
      },
    };
    writeGates(dir, g);
    expect(readGates(dir)).toEqual(g);
    writeFileSync(join(dir, GATES_FILE), JSON.stringify({ tokens: ['a', 'b'], layers: { 1: [[0.5]] } }));
    expect(inputError(() => readGates(dir)).line()).toMatch(/gates\.json: layers\.1: layer 1 must hold 2 arrays/);
    writeFileSync(join(dir, GATES_FILE), JSON.stringify({ tokens: 'ab', layers: {} }));
    expect(inputError(() => readGates(dir)).field).toBe('tokens');
  });

  it('progress.json round-trips and is removed; damage reads as absence', () => {
    const dir = fresh();
    const p = { worker: 'w1', step: 4, steps: 10, loss: 5.5, tokensPerSec: 900 };
    writeProgress(dir, p);
    expect(readProgress(dir)).toEqual(p);
    writeFileSync(join(dir, PROGRESS_FILE), '{"wor');
    expect(readProgress(dir)).toBeNull();
    removeProgress(dir);
    expect(readProgress(dir)).toBeNull();
    removeProgress(dir); // absent: nothing to do
  });

  it('sweep.json round-trips; malformed or foreign is an InputError naming it', () => {
    const dir = fresh();
    expect(readSweepRecord(dir)).toBeNull();
    const rec = {
      name: 'sw',
      specHash: 'h',
      spec: { a: 1 },
      created: 'c',
      updated: 'u',
      trials: [{ id: 't1', meta: { variant: 'engram' }, steps: 3 }],
    };
    writeSweepRecord(dir, rec);
    expect(readSweepRecord(dir)).toEqual(rec);
    writeFileSync(join(dir, SWEEP_FILE), '{');
    expect(inputError(() => readSweepRecord(dir)).line()).toMatch(
      /sweep\.json: is not a sweep\.json written by engram-sweep \(malformed JSON/,
    );
    writeFileSync(join(dir, SWEEP_FILE), '{"name": "x"}');
    expect(inputError(() => readSweepRecord(dir)).line()).toMatch(/\(no specHash or trials\)/);
  });

  it('fits.json round-trips; malformed is an InputError naming it, or null when lenient', () => {
    const dir = fresh();
    expect(readFitsFile(dir)).toBeNull();
    const f = { sweep: 'sw', fits: [{ kind: 'ushape', groups: [] }] };
    writeFitsFile(dir, f);
    expect(readFileSync(join(dir, FITS_FILE), 'utf8')).toBe(JSON.stringify(f, null, 2) + '\n');
    expect(readFitsFile(dir)).toEqual(f);
    writeFileSync(join(dir, FITS_FILE), '{"sweep"');
    expect(inputError(() => readFitsFile(dir)).message).toMatch(/malformed JSON/);
    expect(readFitsFile(dir, { lenient: true })).toBeNull();
  });

  it('trialDir is results/<sweep>/trials/<id>', () => {
    expect(trialDir('results/sw', 't1')).toBe(join('results/sw', 'trials', 't1'));
  });
});

describe('the error type', () => {
  it('is one class, exported by the contract, the library and (for now) cli/errors', () => {
    expect(cliErrors.InputError).toBe(InputError);
    expect(contract.InputError).toBe(InputError);
    expect(lib.InputError).toBe(InputError);
    const e = new InputError('spec.yaml', 'must be > 0', 'budgets[0].pTot');
    expect(e.line()).toBe('spec.yaml: budgets[0].pTot: must be > 0');
    expect(e.code).toBe(2);
    expect(() => contract.inputError('x', 'y')).toThrow(InputError);
    expect(contract.show('a'.repeat(100))).toHaveLength(60);
  });
});
