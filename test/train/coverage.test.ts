import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCompression } from '../../src/data/compress.js';
import { prepareDataset } from '../../src/data/dataset.js';
import { toTokenizerJson } from '../../src/data/bpe/tokenizer-json.js';
import { vocabFromHfTokenizerJson } from '../../src/data/vocab.js';
import { trainBatch, type Context } from '../../src/train/context.js';
import { trialNgramsSeen } from '../../src/train/coverage.js';
import { makeCorpus, tinyTrial } from '../reliability/fixture.js';

describe('distinct compressed n-grams seen', () => {
  it('matches a slow count over the batches the trainer itself draws, across an epoch boundary', async () => {
    const corpus = makeCorpus(join(mkdtempSync(join(tmpdir(), 'cov-')), 'corpus'));
    const { config } = tinyTrial(corpus, 3);
    const data = await prepareDataset(config.data);
    const compression = buildCompression(vocabFromHfTokenizerJson(toTokenizerJson(data.tokenizer), 'tokenizer'));
    const B = config.train.batchSize;
    const T = data.seqLen;
    const epochSteps = Math.ceil(data.trainWindows / B);
    const steps = [epochSteps + 7, 0, 1, 25, epochSteps - 1];
    const got = await trialNgramsSeen(config, steps);

    // reference: the trainer's own trainBatch (no memories: ids uncompressed), compressed here via
    // the map, n-grams as strings per row with the pad id before the row's start
    const ctx = { c: config, data, memories: [], trainC: data.train, valC: data.val, pad: 0 } as unknown as Context;
    const orders = new Map<number, Int32Array>();
    const pad = compression.map[data.tokenizer.eotId];
    const bi = new Set<string>();
    const tri = new Set<string>();
    const want = new Map<number, [number, number]>([[0, [0, 0]]]);
    for (let s = 0; s < Math.max(...steps); s++) {
      const { ids } = trainBatch(ctx, orders, s, B, T);
      for (let r = 0; r < B; r++) {
        const row = [pad, pad, ...Array.from(ids.subarray(r * T, r * T + T), (id) => compression.map[id])];
        for (let t = 2; t < row.length; t++) {
          bi.add(`${row[t - 1]},${row[t]}`);
          tri.add(`${row[t - 2]},${row[t - 1]},${row[t]}`);
        }
      }
      want.set(s + 1, [bi.size, tri.size]);
    }
    expect(got.map((g) => g.step)).toEqual(steps);
    for (const g of got) {
      expect([g.bigrams, g.trigrams]).toEqual(want.get(g.step));
      expect(g.tokens).toBe(g.step * B * T);
    }
    // counts never fall with more steps
    expect(got[0].bigrams).toBeGreaterThanOrEqual(got[4].bigrams);
    expect(got[3].trigrams).toBeGreaterThan(1000);
  });
});
