/**
 * The horizons trainer (WSD with a cooldown branch per horizon): each branch equals a standalone
 * WSD trial trained to that horizon, to the last digit; an interrupted trial resumes from its last
 * branch-point snapshot and ends with the same losses; bad horizons are refused.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { InputError } from '../../src/cli/errors.js';
import { defaultCorpusDir } from '../../src/data/corpus.js';
import { parseTrial, withoutRecorded } from '../../src/train/config.js';
import { horizonPlan, wsdLearningRate } from '../../src/train/schedule.js';
import { trialId } from '../../src/train/trial-id.js';
import { runTrial } from '../../src/train/trial.js';
import { CLI, runCli } from '../helpers/cli.js';

const corpusDir = mkdtempSync(join(tmpdir(), 'es-corpus-'));
for (const f of ['carroll-alice.txt', 'blake-poems.txt'])
  writeFileSync(join(corpusDir, f), readFileSync(join(defaultCorpusDir(), f)));

// 8 x 32 = 256 tokens per step; horizons of 10 and 20 steps branch at 8 and 16 (cooldown 20%)
const input = (horizons: number[]) => ({
  data: { corpus: corpusDir, vocabSize: 512, seqLen: 32, valTokens: 2048, valFraction: 0.1 },
  model: {
    dModel: 32,
    nLayers: 2,
    nHeads: 2,
    moe: { shared: 1, routed: 4, topK: 2, expertHidden: 16 },
    engram: { layerIds: [1], maxNgram: 3, headsPerNgram: 2, dimPerNgram: 16, baseSizes: [3000, 3000] },
  },
  train: { steps: 20, batchSize: 8, warmup: 2, lr: 1e-2, logEvery: 1, horizons },
});
const trial = (horizons: number[]) => parseTrial(input(horizons), 'test');

let backend: Awaited<ReturnType<typeof initBackend>>;
beforeAll(async () => {
  backend = await initBackend('wasm');
});
const run = (horizons: number[], dir = mkdtempSync(join(tmpdir(), 'es-hz-')), onStep?: (s: { step: number }) => void) =>
  runTrial(trial(horizons), { dir, backend, onStep });
const lossesOf = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const r = JSON.parse(l);
      return [r.step, r.branch ?? null, r.loss, r.valLoss ?? null];
    });

describe('WSD schedule', () => {
  it('rounds horizons to whole steps and branches 20% before each', () => {
    expect(horizonPlan([2560, 5000], 256, 0.2, 2)).toEqual([
      { asked: 2560, steps: 10, tokens: 2560, branch: 8 },
      { asked: 5000, steps: 20, tokens: 5120, branch: 16 }, // 19.53 steps -> 20
    ]);
  });
  it('warms up, holds, and cools down to 0 at the horizon (1-sqrt and linear)', () => {
    const o = { lr: 1, warmup: 4 };
    const h = { asked: 0, steps: 20, tokens: 0, branch: 16 };
    expect([0, 3, 4, 15].map((s) => wsdLearningRate(s, o, h, '1-sqrt'))).toEqual([0.25, 1, 1, 1]);
    expect([16, 17, 18, 19].map((s) => wsdLearningRate(s, o, h, 'linear'))).toEqual([1, 0.75, 0.5, 0.25]);
    expect(wsdLearningRate(17, o, h, '1-sqrt')).toBeCloseTo(1 - Math.sqrt(0.25), 15);
    expect(wsdLearningRate(18, o, null, '1-sqrt')).toBe(1); // the trunk does not cool down
  });
});

describe('horizons trial', () => {
  it('gives each branch the loss of a standalone WSD trial to that horizon, to the last digit', async () => {
    const both = await run([2560, 5120]);
    const first = await run([2560]);
    const second = await run([5120]);
    expect(both.status).toBe('ok');
    expect(both.horizons!.map((h) => [h.tokens, h.step])).toEqual([
      [2560, 10],
      [5120, 20],
    ]);
    expect(both.horizons![0].valLoss).toBe(first.valLoss);
    expect(both.horizons![1].valLoss).toBe(second.valLoss);
    expect(both.valLoss).toBe(second.valLoss); // the trial's own loss is the longest horizon's
    expect(both.tokens).toBe(5120);
  });

  it('marks the branches in metrics.jsonl and logs the horizon rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'es-hz-'));
    await run([2560, 5120], dir);
    const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.filter((r) => r.branch === undefined).map((r) => r.step)).toEqual(
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
    expect(rows.filter((r) => r.branch === 2560).map((r) => r.step)).toEqual([9, 10]);
    expect(rows.filter((r) => r.horizon).map((r) => [r.branch, r.step, typeof r.valBpb])).toEqual([
      [2560, 10, 'number'],
      [5120, 20, 'number'],
    ]);
    expect(rows.find((r) => r.branch === 2560 && r.step === 10).lr).toBeCloseTo(1e-2 * (1 - Math.sqrt(0.5)), 12);
  });

  it('resumes an interrupted trial from its last branch point with the same losses', async () => {
    const whole = mkdtempSync(join(tmpdir(), 'es-hz-'));
    const cut = mkdtempSync(join(tmpdir(), 'es-hz-'));
    const ref = await run([2560, 5120], whole);
    // stop between the branch points: 10 trunk+branch steps done, then 3 trunk steps after step 8
    await expect(
      run([2560, 5120], cut, (s) => {
        if (s.step === 13) throw new Error('cut');
      }),
    ).rejects.toThrow('cut');
    expect(existsSync(join(cut, 'snapshot', 'state.json'))).toBe(true);
    expect(existsSync(join(cut, 'result.json'))).toBe(false);
    const resumed = await run([2560, 5120], cut);
    expect(existsSync(join(cut, 'snapshot'))).toBe(false);
    expect(resumed.resumedFrom).toBe(8);
    expect(resumed.horizons!.map((h) => h.valLoss)).toEqual(ref.horizons!.map((h) => h.valLoss));
    expect(lossesOf(cut)).toEqual(lossesOf(whole));
  });

  it('resumes after SIGKILL of the train command, and the result matches an uninterrupted run', async () => {
    const cfg = join(mkdtempSync(join(tmpdir(), 'es-hz-')), 'trial.json');
    // a long trunk between the branch points (steps 8 and 40), so the kill lands between them
    writeFileSync(
      cfg,
      JSON.stringify({ ...input([2560, 12800]), train: { ...input([]).train, steps: 50, horizons: [2560, 12800] } }),
    );
    const whole = mkdtempSync(join(tmpdir(), 'es-hz-'));
    const cut = mkdtempSync(join(tmpdir(), 'es-hz-'));
    const env = { ...process.env, OPENBLAS_NUM_THREADS: '1' };
    const args = (out: string) => ['train', cfg, '--out', out, '--backend', 'wasm', '--json'];
    const ref = runCli(args(whole), { env });
    expect(ref.code).toBe(0);
    const child = spawn(process.execPath, [CLI, ...args(cut)], { env, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const trunkAfterFirstBranch = () => {
      const f = join(cut, 'metrics.jsonl');
      const rows = existsSync(f)
        ? readFileSync(f, 'utf8')
            .split('\n')
            .filter((l) => l.endsWith('}'))
            .map((l) => JSON.parse(l))
        : [];
      return rows.some((r) => r.branch === undefined && r.step >= 14);
    };
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (trunkAfterFirstBranch() || child.exitCode !== null) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        }
      }, 5);
    });
    await exited;
    expect(child.signalCode).toBe('SIGKILL'); // it was cut, not finished
    expect(existsSync(join(cut, 'result.json'))).toBe(false);
    const again = runCli(args(cut), { env });
    expect(again.code).toBe(0);
    const a = JSON.parse(ref.stdout);
    const b = JSON.parse(again.stdout);
    expect(b.resumedFrom).toBe(8);
    expect(b.horizons.map((h: { valLoss: number }) => h.valLoss)).toEqual(
      a.horizons.map((h: { valLoss: number }) => h.valLoss),
    );
    expect(lossesOf(cut)).toEqual(lossesOf(whole));
    // finished: the snapshot is gone (a finished trial never resumes)
    expect(readdirSync(cut).sort()).toEqual(['config.json', 'gates.json', 'metrics.jsonl', 'result.json']);
  });
});

describe('horizons: bad input', () => {
  const fails = (horizons: number[], train: Record<string, unknown>, pattern: RegExp) => {
    const i = input(horizons);
    let err: unknown;
    try {
      parseTrial({ ...i, train: { ...i.train, ...train } }, 'trial.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).line()).toMatch(pattern);
  };
  it('refuses horizons that do not increase, exceed train.steps, or leave no stable phase', () => {
    fails([5120, 2560], {}, /train\.horizons: horizons\[1\] = 2560 is not above the previous horizon/);
    fails([2560, 2600], {}, /not above the previous horizon once rounded to whole steps/);
    fails([2560, 10240], {}, /train\.horizons: 10240 tokens \(40 steps of 256\) is beyond train\.steps 20/);
    fails(
      [512],
      {},
      /train\.horizons: horizons\[0\] = 512 tokens \(2 steps\) leaves 1 steps before its cooldown of 1, fewer than warmup 2/,
    );
  });
  it('refuses a cooldown fraction outside (0, 1), and a cooldown without horizons', () => {
    fails([2560], { cooldown: 1 }, /train\.cooldown: 1: /);
    fails([2560], { cooldown: 0 }, /train\.cooldown: 0: /);
    let err: unknown;
    try {
      parseTrial({ ...input([]), train: { steps: 20, cooldown: 0.2 } }, 'trial.yaml');
    } catch (e) {
      err = e;
    }
    expect((err as InputError).line()).toMatch(/train\.cooldown: 0\.2: a cooldown needs train\.horizons/);
  });
  it('leaves the ids of trials without horizons unchanged (a committed example trial)', () => {
    const dir = 'results/examples/ushape/trials/t2959c5e3e64f5e81';
    const c = parseTrial(withoutRecorded(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))), dir);
    expect(trialId(c)).toBe('t2959c5e3e64f5e81');
  });
  it('sweep: axes.horizons beyond train.steps exits 2 naming axes.horizons, nothing written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'es-hz-spec-'));
    const spec = join(dir, 'h.yaml');
    writeFileSync(
      spec,
      [
        'name: h',
        `data: { corpus: ${JSON.stringify(corpusDir)}, vocabSize: 512, seqLen: 32, valTokens: 2048 }`,
        'backbone: { dModel: 32, nLayers: 2, nHeads: 2, moe: { shared: 1, topK: 2, expertHidden: 16 }, engram: { layerIds: [1], headsPerNgram: 2, dimPerNgram: 16 } }',
        'budgets: [{ name: b, ratio: 4 }]',
        'train: { steps: 20, batchSize: 8, warmup: 2 }',
        'axes: { rho: [0, 1], horizons: [2560, 10240] }',
        '',
      ].join('\n'),
    );
    const r = runCli(['run', spec, '--results', join(dir, 'results')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/h\.yaml: axes\.horizons: 10240 tokens .* beyond train\.steps 20/);
    expect(existsSync(join(dir, 'results'))).toBe(false);
  });
});
