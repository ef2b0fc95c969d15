/**
 * Trained tokenizers cached on disk as tokenizer.json, keyed by sha256 of (corpus hash, vocab size,
 * trainer version). Written to a unique temp file and renamed into place (DESIGN "Layout"): trial
 * processes that race train the same bytes and the last rename wins; a reader sees either no file
 * or a whole one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BpeTokenizer } from './encode.js';
import { fromTokenizerJson, toTokenizerJson } from './tokenizer-json.js';
import { TRAINER_VERSION, trainBpe, validateVocabSize, type TrainProgress } from './train.js';

/** <repo>/.cache/tokenizers: this file sits at <repo>/{src,dist}/data/bpe/. */
export const DEFAULT_TOKENIZER_CACHE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../.cache/tokenizers',
);

export interface TrainOrLoadOptions {
  /** Identifies the corpus content (e.g. sha256 of the documents). */
  corpusHash: string;
  /** Documents; only read when no cached tokenizer exists. */
  texts: readonly string[];
  vocabSize: number;
  cacheDir?: string;
  onProgress?: TrainProgress;
  /** Names the source of vocabSize in errors (default "--vocab-size"). */
  where?: string;
}

export interface TrainOrLoadResult {
  tokenizer: BpeTokenizer;
  path: string;
  cached: boolean;
}

export function tokenizerCacheKey(corpusHash: string, vocabSize: number): string {
  return createHash('sha256')
    .update(JSON.stringify({ corpusHash, vocabSize, trainer: TRAINER_VERSION }))
    .digest('hex');
}

export async function trainOrLoadTokenizer(opts: TrainOrLoadOptions): Promise<TrainOrLoadResult> {
  const vocabSize = validateVocabSize(opts.vocabSize, opts.where ?? '--vocab-size');
  const dir = opts.cacheDir ?? DEFAULT_TOKENIZER_CACHE;
  const key = tokenizerCacheKey(opts.corpusHash, vocabSize);
  const file = path.join(dir, `bpe-${vocabSize}-${key.slice(0, 24)}.tokenizer.json`);
  const existing = await readCached(file);
  if (existing) return { tokenizer: existing, path: file, cached: true };

  const tokenizer = trainBpe(opts.texts, vocabSize, opts.onProgress, opts.where);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(toTokenizerJson(tokenizer)));
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return { tokenizer, path: file, cached: false };
}

/** The cached tokenizer, or null when absent or unreadable (then it is retrained and replaced). */
async function readCached(file: string): Promise<BpeTokenizer | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    return fromTokenizerJson(JSON.parse(text), file);
  } catch {
    return null;
  }
}
