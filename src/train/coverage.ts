/**
 * Distinct compressed n-grams a trial's training batches held (issue 13): how many different
 * 2-grams and 3-grams of compressed token ids (the Engram module's hash input, before hashing)
 * the trial has seen up to a step, replaying the trainer's batch order exactly (context.ts:
 * stepWindows, a function of (seed, step), per-epoch reshuffle included).
 *
 * An n-gram is counted as the module looks it up: within one window (row), positions before the
 * window's start are the pad id (hash/ngram.ts computeMix), so a row's first positions give
 * pad-prefixed n-grams, counted like any other. Steps 0 .. step-1 are "up to step".
 */
import { buildCompression, compressIds } from '../data/compress.js';
import { prepareDataset } from '../data/dataset.js';
import { toTokenizerJson } from '../data/bpe/tokenizer-json.js';
import { vocabFromHfTokenizerJson } from '../data/vocab.js';
import type { TrialConfig } from './config.js';
import { stepWindows } from './context.js';

export interface NgramsSeen {
  /** training steps done (batches 0 .. step-1) */
  step: number;
  /** training tokens of those steps: step x batch x seqLen */
  tokens: number;
  bigrams: number;
  trigrams: number;
}

export interface CoverageInput {
  /** the compressed training stream */
  streamC: Int32Array;
  /** compressed vocabulary size (every id and pad below it) */
  vocab: number;
  pad: number;
  seqLen: number;
  trainWindows: number;
  batchSize: number;
  seed: number;
}

/** Distinct compressed 2- and 3-grams seen up to each of `steps` (any order; answered in that order). */
export function countNgramsSeen(o: CoverageInput, steps: readonly number[]): NgramsSeen[] {
  const V = o.vocab;
  if (V ** 3 > Number.MAX_SAFE_INTEGER) throw new Error(`coverage: vocabulary ${V} too large for exact 3-gram keys`);
  const T = o.seqLen;
  const bi = new Set<number>();
  const tri = new Set<number>();
  const orders = new Map<number, Int32Array>();
  const wanted = [...new Set(steps)].sort((a, b) => a - b);
  const at = new Map<number, NgramsSeen>();
  let done = 0;
  for (const target of wanted) {
    for (; done < target; done++) {
      for (const w of stepWindows(o.trainWindows, o.seed, orders, done, o.batchSize)) {
        const s = w * T;
        let p2 = o.pad;
        let p1 = o.pad;
        for (let t = 0; t < T; t++) {
          const c = o.streamC[s + t];
          bi.add(p1 * V + c);
          tri.add((p2 * V + p1) * V + c);
          p2 = p1;
          p1 = c;
        }
      }
    }
    at.set(target, { step: target, tokens: target * o.batchSize * T, bigrams: bi.size, trigrams: tri.size });
  }
  return steps.map((s) => at.get(s)!);
}

/** The same for a trial config: loads its corpus and tokenizer (prepareDataset caches them). */
export async function trialNgramsSeen(
  c: TrialConfig,
  steps: readonly number[],
  log: (l: string) => void = () => {},
): Promise<NgramsSeen[]> {
  const data = await prepareDataset(c.data, log);
  const compression = buildCompression(vocabFromHfTokenizerJson(toTokenizerJson(data.tokenizer), 'tokenizer'));
  return countNgramsSeen(
    {
      streamC: compressIds(compression, data.train, 'train'),
      vocab: compression.size,
      pad: compression.map[data.tokenizer.eotId],
      seqLen: data.seqLen,
      trainWindows: data.trainWindows,
      batchSize: c.train.batchSize,
      seed: c.train.seed,
    },
    steps,
  );
}
