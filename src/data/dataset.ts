/**
 * Corpus -> tokenizer -> token streams -> fixed windows. Training windows are non-overlapping
 * slices of the tokenised train split (T + 1 tokens, stride T); validation is a fixed set of
 * windows of the validation split, the same for every trial of a sweep (DESIGN: Data).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_DIR, writeFileAtomic } from '../util/atomic.js';
import { trainOrLoadTokenizer } from './bpe/cache.js';
import type { BpeTokenizer } from './bpe/encode.js';
import { loadCorpus, splitCorpus, type Corpus } from './corpus.js';

export interface DataOptions {
  corpus: string;
  vocabSize: number;
  seqLen: number;
  valTokens: number;
  valFraction: number;
  splitSeed: number;
}

export interface Dataset {
  corpus: Corpus;
  tokenizer: BpeTokenizer;
  tokenizerPath: string;
  /** the train split joined by <|endoftext|> */
  train: Int32Array;
  /** the validation windows' tokens, valWindows * (T + 1) of them */
  val: Int32Array;
  seqLen: number;
  trainWindows: number;
  valWindows: number;
  stats: {
    trainChars: number;
    valChars: number;
    trainTokens: number;
    valTokens: number;
    valBytes: number;
    unigramValLoss: number;
  };
}

export type Log = (line: string) => void;

export async function prepareDataset(o: DataOptions, log: Log = () => {}): Promise<Dataset> {
  const corpus = loadCorpus(o.corpus);
  const split = splitCorpus(corpus, { valFraction: o.valFraction, seed: o.splitSeed });
  // the tokenizer sees the train split only, so validation text stays unseen
  const splitKey = sha(`${corpus.hash}\0${o.valFraction}\0${o.splitSeed}`);
  const t0 = Date.now();
  const { tokenizer, path, cached } = await trainOrLoadTokenizer({
    corpusHash: splitKey,
    texts: split.train,
    vocabSize: o.vocabSize,
    onProgress: (m, total) => {
      if (m % 1000 === 0 || m === total) log(`tokenizer: ${m}/${total} merges`);
    },
  });
  if (!cached) log(`tokenizer: trained ${o.vocabSize} in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${path}`);
  const tokKey = sha(`${splitKey}\0${path}`);
  const train = cachedTokens(join(CACHE_DIR, 'tokens', `${tokKey}.train.i32`), () =>
    tokenizer.encodeDocuments(split.train),
  );
  const valAll = cachedTokens(join(CACHE_DIR, 'tokens', `${tokKey}.val.i32`), () =>
    tokenizer.encodeDocuments(split.val),
  );
  const T = o.seqLen;
  const trainWindows = Math.floor((train.length - 1) / T);
  const valWindows = Math.min(Math.floor((valAll.length - 1) / T), Math.ceil(o.valTokens / T));
  if (trainWindows < 1 || valWindows < 1) {
    throw new Error(`corpus too small for seqLen ${T}: ${train.length} train and ${valAll.length} validation tokens`);
  }
  const val = valAll.subarray(0, valWindows * T + 1);
  // bytes of the validation text actually scored, for bits per byte
  const valBytes = Buffer.byteLength(tokenizer.decode(val.subarray(1)), 'utf8');
  return {
    corpus,
    tokenizer,
    tokenizerPath: path,
    train,
    val,
    seqLen: T,
    trainWindows,
    valWindows,
    stats: {
      trainChars: split.trainChars,
      valChars: split.valChars,
      trainTokens: train.length,
      valTokens: valWindows * T,
      valBytes,
      unigramValLoss: unigramLoss(train, val.subarray(1), tokenizer.vocabSize),
    },
  };
}

/** Window w of a stream: tokens [w T, w T + T] (T inputs and their T next-token targets). */
export function windowInto(
  stream: Int32Array,
  w: number,
  T: number,
  ids: Int32Array,
  targets: Int32Array,
  row: number,
): void {
  const s = w * T;
  ids.set(stream.subarray(s, s + T), row * T);
  targets.set(stream.subarray(s + 1, s + T + 1), row * T);
}

/**
 * The baseline a language model must beat: validation cross-entropy (nats/token) of the train
 * split's unigram distribution, add-one smoothed.
 */
export function unigramLoss(train: Int32Array, val: Int32Array, vocabSize: number): number {
  const counts = new Float64Array(vocabSize);
  for (const t of train) counts[t]++;
  let sum = 0;
  for (const t of val) sum -= Math.log((counts[t] + 1) / (train.length + vocabSize));
  return sum / val.length;
}

function cachedTokens(file: string, make: () => Int32Array): Int32Array {
  if (existsSync(file)) {
    const b = readFileSync(file);
    return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice();
  }
  const t = make();
  writeFileAtomic(file, new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
  return t;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
