/**
 * One size up, end to end at 3 steps (correctness only, no speed claim): `bench --config dense-m
 * --json` through the built CLI, and the project's PyTorch peer on moe-m. A -m step costs about 4
 * -s steps. The peer test skips (one line says why) without a Python with torch, and fails
 * instead under ENGRAM_SWEEP_REQUIRE_SYSTEM=1.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runPeer } from '../../src/bench/peer.js';
import { benchModel } from '../../src/bench/configs.js';
import { paramSpecs, size } from '../../src/model/params.js';
import { runCli } from '../helpers/cli.js';
import { skipBecause } from '../helpers/skip.js';

const PYTHON = process.env.ENGRAM_SWEEP_PYTHON ?? '/usr/bin/python3';
const REQUIRED = process.env.ENGRAM_SWEEP_REQUIRE_SYSTEM === '1';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

/** ms/step x tokens/s / 1000: the tokens of one step (both are rounded, hence toBeCloseTo) */
const tokensPerStep = (ms: number, perSec: number) => (ms * perSec) / 1000;

describe('bench -m runs', () => {
  it('bench --help names the -m configs and keeps the three -s ones as the default', () => {
    const r = runCli(['bench', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('dense-m, moe-m, engram-m (default the three -s');
  });

  it('bench --config dense-m --steps 3 --json: one JSON line, batch 8 x seq 256 per step', () => {
    const r = runCli(['bench', '--config', 'dense-m', '--steps', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const l = JSON.parse(lines[0]);
    expect(l).toMatchObject({ config: 'dense-m', steps: 3 });
    expect(tokensPerStep(l.msPerStep, l.tokensPerSec) / (8 * 256)).toBeCloseTo(1, 2);
    expect(Math.abs(l.lossFirst - Math.log(8192))).toBeLessThan(0.5); // untrained: ~uniform over 8192
    expect(l.lossLast).toBeLessThan(l.lossFirst); // the same batch, three steps: it learns
    expect(l.peakRssBytes).toBeGreaterThan(100e6);
  });

  it.skipIf(
    skipBecause(
      !hasTorch && !REQUIRED,
      'the PyTorch peer on moe-m',
      `${PYTHON} has no torch`,
      'apt-get install python3-torch',
    ),
  )('the peer on moe-m: our moe-m parameter count, batch 8 x seq 256, a JSON line of the reference keys', async () => {
    expect(hasTorch, `ENGRAM_SWEEP_REQUIRE_SYSTEM=1 but ${PYTHON} has no torch`).toBe(true);
    const p = await runPeer(PYTHON, 'moe-m', 3, 1);
    const ours = paramSpecs(benchModel('moe-m')).reduce((s, q) => s + size(q.shape), 0);
    expect(p).toMatchObject({ config: 'moe-m', threads: 1, params: ours });
    for (const k of ['ms_per_step', 'tokens_per_s', 'cpu_ms_per_step', 'tokens_per_cpu_s', 'loss_first', 'loss_last']) {
      expect(typeof (p as unknown as Record<string, unknown>)[k]).toBe('number');
    }
    expect(tokensPerStep(p.ms_per_step, p.tokens_per_s) / (8 * 256)).toBeCloseTo(1, 2);
    expect(Math.abs(p.loss_first - Math.log(8192))).toBeLessThan(0.5);
    expect(p.loss_last).toBeLessThan(p.loss_first);
  });
});
