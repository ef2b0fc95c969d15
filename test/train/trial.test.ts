import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { defaultCorpusDir } from '../../src/data/corpus.js';
import { parseTrial } from '../../src/train/config.js';
import { runTrial } from '../../src/train/trial.js';

// A real but small corpus: three Gutenberg books, so tokenizer and data take a second.
const corpusDir = mkdtempSync(join(tmpdir(), 'es-corpus-'));
for (const f of ['carroll-alice.txt', 'blake-poems.txt', 'burgess-busterbrown.txt']) {
  writeFileSync(join(corpusDir, f), readFileSync(join(defaultCorpusDir(), f)));
}

const tiny = (steps: number, extra: Record<string, unknown> = {}) =>
  parseTrial(
    {
      data: { corpus: corpusDir, vocabSize: 512, seqLen: 32, valTokens: 2048, valFraction: 0.1 },
      model: {
        dModel: 32,
        nLayers: 2,
        nHeads: 2,
        moe: { shared: 1, routed: 4, topK: 2, expertHidden: 16 },
        engram: { layerIds: [1], maxNgram: 3, headsPerNgram: 2, dimPerNgram: 16, baseSizes: [3000, 3000] },
        ...extra,
      },
      train: { steps, batchSize: 8, warmup: 2, lr: 1e-2, logEvery: 1 },
    },
    'test',
  );

let backend: Awaited<ReturnType<typeof initBackend>>;
beforeAll(async () => {
  backend = await initBackend('wasm');
});

const losses = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).loss as number);

describe('runTrial', () => {
  it('trains MoE + Engram for 20 steps: loss falls, files of the results contract written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'es-trial-'));
    const r = await runTrial(tiny(20), { dir, backend });
    expect(r.status).toBe('ok');
    const l = losses(dir);
    expect(l).toHaveLength(20);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(l.slice(-5))).toBeLessThan(mean(l.slice(0, 5)) - 0.3);
    expect(r.valLoss).toBeLessThan(Math.log(512));
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'));
    expect(result).toMatchObject({ status: 'ok', backend: 'wasm', tokens: 20 * 8 * 32 });
    expect(result.unigramValLoss).toBeGreaterThan(0);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.accounting.pTot).toBeGreaterThan(config.accounting.pAct);
    expect(config.accounting.tableSizes['1']).toHaveLength(2);
    const gates = JSON.parse(readFileSync(join(dir, 'gates.json'), 'utf8'));
    expect(gates.tokens).toHaveLength(32);
    expect(gates.layers['1']).toHaveLength(32);
    for (const [g] of gates.layers['1']) {
      expect(g).toBeGreaterThan(0);
      expect(g).toBeLessThan(1);
    }
    const metric = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n')[0];
    expect(JSON.parse(metric)).toHaveProperty('expertLoad');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('is deterministic: the same config and seed give the same losses', async () => {
    const a = mkdtempSync(join(tmpdir(), 'es-det-'));
    const b = mkdtempSync(join(tmpdir(), 'es-det-'));
    await runTrial(tiny(6), { dir: a, backend });
    await runTrial(tiny(6), { dir: b, backend });
    expect(losses(a)).toEqual(losses(b));
  });

  it('trains OverEncoding and dense variants', async () => {
    const oe = {
      engram: undefined,
      overEncoding: { maxNgram: 3, headsPerNgram: 2, dimPerNgram: 16, baseSizes: [3000, 3000] },
    };
    for (const extra of [oe, { engram: undefined, moe: undefined }]) {
      const dir = mkdtempSync(join(tmpdir(), 'es-var-'));
      const r = await runTrial(tiny(5, extra), { dir, backend });
      expect(r.status).toBe('ok');
      expect(existsSync(join(dir, 'gates.json'))).toBe(false);
    }
  });
});
