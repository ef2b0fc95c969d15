import { describe, expect, it } from 'vitest';
import { countWords, pretokenize } from '../../../src/data/bpe/pretokenize.js';

describe('pretokenize (GPT-2 pattern)', () => {
  it('splits known examples as GPT-2 does', () => {
    // Worked by hand from the pattern: contractions, optional leading space, whitespace runs that
    // leave their last space to the next word, newlines before a letter.
    expect(pretokenize("Hello world, I'm here")).toEqual(['Hello', ' world', ',', ' I', "'m", ' here']);
    expect(pretokenize('a  b')).toEqual(['a', ' ', ' b']);
    expect(pretokenize('a\n\nb')).toEqual(['a', '\n', '\n', 'b']);
    expect(pretokenize('x 123 !! y   ')).toEqual(['x', ' 123', ' !!', ' y', '   ']);
    expect(pretokenize("they'll've")).toEqual(['they', "'ll", "'ve"]);
    expect(pretokenize('日本語 テキスト')).toEqual(['日本語', ' テキスト']);
    expect(pretokenize('<|endoftext|>')).toEqual(['<|', 'endoftext', '|>']);
    expect(pretokenize('')).toEqual([]);
  });

  it('uses Unicode White_Space for \\s, as Oniguruma in `tokenizers` does (not JS \\s)', () => {
    // U+0085 is White_Space (JS \s says no); U+FEFF is not (JS \s says yes).
    expect(pretokenize('a \u0085b')).toEqual(['a', ' ', '\u0085', 'b']);
    expect(pretokenize('a \uFEFFb')).toEqual(['a', ' \uFEFF', 'b']);
    expect(pretokenize('a\u3000b')).toEqual(['a', '\u3000', 'b']);
  });

  it('pieces concatenate back to the input', () => {
    const text = "Mr. Woodhouse's 3rd\r\n\r\n  visit\t—\u00a0café 🎉🎉 x\u0301 \uD800 end ";
    expect(pretokenize(text).join('')).toBe(text);
  });
});

describe('countWords', () => {
  it('counts pieces per document, never across documents', () => {
    const counts = countWords(['a b a', 'ab', 'b']);
    expect(Object.fromEntries(counts)).toEqual({ a: 1, ' b': 1, ' a': 1, ab: 1, b: 1 });
    expect(Object.fromEntries(countWords(['the the', ' the']))).toEqual({ the: 1, ' the': 2 });
  });
});
