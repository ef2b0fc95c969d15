/**
 * The bench (src/bench): its models are the peer's (parameter counts the reference peer prints),
 * its synthetic batch and profile arithmetic, one short end-to-end run of a bench process, and
 * the project's PyTorch peer when a Python with torch is there.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { benchModel, jobFor, parseConfigs } from '../../src/bench/index.js';
import { findPython, runOurs, runPeer } from '../../src/bench/peer.js';
import { profilePerStep } from '../../src/bench/profile.js';
import { syntheticBatch } from '../../src/bench/train-bench.js';
import { paramSpecs, size } from '../../src/model/params.js';
import { skipBecause } from '../helpers/skip.js';

const count = (name: string, role?: string) =>
  paramSpecs(benchModel(name))
    .filter((p) => role == null || p.role === role)
    .reduce((s, p) => s + size(p.shape), 0);

describe('bench configs', () => {
  it('dense-s and moe-s have the parameter counts the reference peer reports (1901696, 3826816)', () => {
    expect(count('dense-s')).toBe(1_901_696);
    expect(count('moe-s')).toBe(3_826_816);
  });

  it('engram-s adds the Engram layer of the peer: 2 x (128 x 128 + 128) projections (d_mem = 2 orders x 64), 3 norms, a width-4 conv', () => {
    expect(count('engram-s') - count('moe-s')).toBe(2 * (128 * 128 + 128) + 3 * 128 + 128 * 4);
    const e = benchModel('engram-s').engram!;
    expect(e).toMatchObject({
      layerIds: [1],
      maxNgram: 3,
      headsPerNgram: 4,
      dimPerNgram: 64,
      baseSizes: [1e5, 1e5],
      signedSqrt: false,
    });
  });

  it('unknown config names are bad input', () => {
    expect(parseConfigs(undefined)).toEqual(['dense-s', 'moe-s', 'engram-s']);
    expect(parseConfigs('moe-s,dense-s')).toEqual(['moe-s', 'dense-s']);
    expect(() => parseConfigs('dense-l')).toThrow(InputError);
  });

  it('the synthetic batch: targets are the next token of each row, ids in [0, V), deterministic', () => {
    const a = syntheticBatch(3, 8, 50);
    const b = syntheticBatch(3, 8, 50);
    expect(a).toEqual(b);
    for (let r = 0; r < 3; r++) for (let t = 0; t < 7; t++) expect(a.targets[r * 8 + t]).toBe(a.ids[r * 8 + t + 1]);
    expect(Math.max(...a.ids, ...a.targets)).toBeLessThan(50);
    expect(new Set(a.ids).size).toBeGreaterThan(10);
  });

  it('profile per step: means over steps, small kernels pooled, the rest of the step as (other)', () => {
    const stats = new Map([
      ['BatchMatMul', { ms: 300 }],
      ['Add', { ms: 40 }],
      ['Neg', { ms: 1 }],
    ]);
    expect(profilePerStep(stats, 2, 200)).toEqual({
      BatchMatMul: 150,
      Add: 20,
      '(small kernels)': 0.5,
      '(other)': 29.5,
    });
  });
});

describe('bench runs', () => {
  it('one dense-s process: a full result line', async () => {
    const r = await runOurs(jobFor('dense-s', { steps: 3, threads: 1, backend: 'wasm' }));
    expect(r).toMatchObject({ config: 'dense-s', backend: 'wasm', threads: 1, steps: 3 });
    expect(r.tokensPerSec).toBeGreaterThan(100);
    // both are rounded (tokens/s to an integer): compare relatively, so a slow step still passes
    expect(Math.abs((r.msPerStep * r.tokensPerSec) / (16 * 128 * 1000) - 1)).toBeLessThan(0.01);
    expect(r.peakRssBytes).toBeGreaterThan(100e6);
    expect(r.profile.BatchMatMul).toBeGreaterThan(0);
    expect(Math.abs(r.lossFirst - Math.log(4096))).toBeLessThan(0.5); // untrained: ~uniform over the vocabulary
    expect(r.lossLast).toBeLessThan(r.lossFirst); // the same batch, three steps: it learns
  });

  const python = findPython();
  it.skipIf(
    skipBecause(
      python == null,
      'the PyTorch peer',
      'no python3 with torch (or ENGRAM_SWEEP_PYTHON)',
      'pip install torch',
    ),
  )('the PyTorch peer: same dense-s (parameter count) and a JSON line of the reference keys', async () => {
    const p = await runPeer(python!, 'dense-s', 3, 1);
    expect(p).toMatchObject({ config: 'dense-s', threads: 1, params: 1_901_696 });
    for (const k of ['ms_per_step', 'tokens_per_s', 'cpu_ms_per_step', 'tokens_per_cpu_s', 'loss_first', 'loss_last']) {
      expect(typeof (p as unknown as Record<string, unknown>)[k]).toBe('number');
    }
    expect(Math.abs(p.loss_first - Math.log(4096))).toBeLessThan(0.5);
  });
});
