/**
 * Issue 15, item 12: `train --threads N`, and retraining a trial folder's config.json with the BLAS
 * threads its result.json recorded (said in the log), so that a retrain gives the recorded loss to
 * the last digit, as the README's example promises.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultCorpusDir } from '../../src/data/corpus.js';
import { loadNative } from '../../src/backend/index.js';
import { expectInputErrorExit, runCli } from '../helpers/cli.js';
import { INSTALL_NATIVE, skipBecause } from '../helpers/skip.js';

const dir = mkdtempSync(join(tmpdir(), 'train-threads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** the native addon (OpenBLAS) is built here: only then do BLAS threads apply */
const native = loadNative().ok;

interface Result {
  status: string;
  valLoss: number;
  threads: number;
  native: boolean;
}

function train(args: string[]): { result: Result; log: string } {
  const r = runCli(['train', ...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return { result: JSON.parse(r.stdout) as Result, log: r.stderr };
}

/** A tiny MoE + Engram trial (12 steps on three small books). */
function tinyTrial(): string {
  const corpus = join(dir, 'corpus');
  mkdirSync(corpus);
  for (const f of ['carroll-alice.txt', 'blake-poems.txt', 'burgess-busterbrown.txt'])
    copyFileSync(join(defaultCorpusDir(), f), join(corpus, f));
  const file = join(dir, 'tiny.yaml');
  writeFileSync(
    file,
    `data: { corpus: ${JSON.stringify(corpus)}, vocabSize: 512, seqLen: 32, valTokens: 2048, valFraction: 0.1 }
model:
  dModel: 32
  nLayers: 2
  nHeads: 2
  moe: { shared: 1, routed: 4, topK: 2, expertHidden: 16 }
  engram: { layerIds: [1], maxNgram: 3, headsPerNgram: 2, dimPerNgram: 16, baseSizes: [3000, 3000] }
train: { steps: 12, batchSize: 8, warmup: 2, lr: 1.0e-2, logEvery: 1 }
`,
  );
  return file;
}

describe('train --threads', () => {
  it('takes a whole number of BLAS threads; anything else is bad input', () => {
    for (const bad of ['0', 'two', '1.5', '5000']) {
      expectInputErrorExit(
        runCli(['train', 'sweeps/trials/tiny-engram.yaml', '--threads', bad, '--out', join(dir, 'never')]),
        /^engram-sweep: --threads: /,
      );
    }
  });

  it('trains with the threads asked for, and a retrain of the folder uses the threads result.json recorded, and says so', () => {
    const a = join(dir, 'a');
    const first = train([tinyTrial(), '--threads', '1', '--out', a]);
    expect(first.result.status).toBe('ok');
    if (native) expect(first.result.threads).toBe(1);
    expect(first.log).not.toMatch(/as .* recorded/);

    // retrain a's config.json: the recorded threads, the same loss to the last digit
    const again = train([join(a, 'config.json'), '--out', join(dir, 'b')]);
    expect(again.log).toContain(`BLAS threads: ${first.result.threads}, as ${join(a, 'result.json')} recorded`);
    expect(again.result.threads).toBe(first.result.threads);
    expect(again.result.valLoss).toBe(first.result.valLoss);

    // a folder that recorded 2 threads is retrained with 2; --threads overrides the record
    const c = join(dir, 'c');
    mkdirSync(c);
    copyFileSync(join(a, 'config.json'), join(c, 'config.json'));
    writeFileSync(join(c, 'result.json'), JSON.stringify({ ...first.result, threads: 2 }));
    const two = train([join(c, 'config.json'), '--out', join(dir, 'd')]);
    expect(two.log).toContain(`BLAS threads: 2, as ${join(c, 'result.json')} recorded`);
    if (native) {
      expect(two.log).toMatch(/backend: wasm.*threads: 2, native kernels: on/);
      expect(two.result.threads).toBe(2);
    }
    const asked = train([join(c, 'config.json'), '--threads', '1', '--out', join(dir, 'e')]);
    expect(asked.log).not.toMatch(/as .* recorded/);
    if (native) expect(asked.result.threads).toBe(1);
    expect(asked.result.valLoss).toBe(first.result.valLoss);
  });
});

const state = loadNative();
const skipReason = state.ok
  ? ''
  : ` (skipped: native addon ${state.reason}; apt-get install libopenblas-dev, then npm run build:native)`;

describe(`the README's retrain example${skipReason}`, () => {
  // The committed trial was trained on the native path with 1 BLAS thread (its result.json);
  // without the addon the wasm path gives another (equally deterministic) loss.
  it.skipIf(
    skipBecause(
      !native,
      "the README's retrain example",
      `native addon ${'reason' in state ? state.reason : 'not loaded'}`,
      INSTALL_NATIVE,
    ),
  )(
    'engram-sweep train results/examples/ushape/trials/t2959c5e3e64f5e81/config.json gives the recorded 4.801396153867245',
    () => {
      const folder = 'results/examples/ushape/trials/t2959c5e3e64f5e81';
      const recorded = JSON.parse(readFileSync(join(folder, 'result.json'), 'utf8')) as Result;
      expect(recorded.valLoss).toBe(4.801396153867245);
      const { result, log } = train([join(folder, 'config.json'), '--out', join(dir, 'readme')]);
      expect(log).toContain(`BLAS threads: ${recorded.threads}, as ${join(folder, 'result.json')} recorded`);
      expect(result.valLoss).toBe(4.801396153867245);
    },
    900_000,
  );
});
