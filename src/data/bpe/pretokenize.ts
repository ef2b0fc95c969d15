/**
 * GPT-2 pre-tokenisation, as Hugging Face's ByteLevel pre-tokenizer (use_regex: true) does it.
 *
 * The pattern is GPT-2's `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
 * with one deliberate change: `\s` is written `\p{White_Space}`. `tokenizers` runs the pattern in
 * Oniguruma, whose Unicode `\s` is exactly the White_Space property (it includes U+0085 NEL);
 * JavaScript's `\s` differs (it adds U+FEFF and drops U+0085). With the property the pieces match
 * the Rust library's on every input. The alternatives cover every code point (each one is
 * whitespace, a letter, a number or "other"), so the pieces concatenate back to the input.
 *
 * A piece never mixes letters with punctuation, so no BPE merge can ever spell `<|endoftext|>`.
 */
export const GPT2_PATTERN_SOURCE =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\p{White_Space}\\p{L}\\p{N}]+" +
  '|\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+';

/** A fresh global regex (each caller owns its lastIndex). */
export function gpt2Regex(): RegExp {
  return new RegExp(GPT2_PATTERN_SOURCE, 'gu');
}

/** The pieces of one text, in order; they concatenate back to the text. */
export function pretokenize(text: string): string[] {
  const re = gpt2Regex();
  const out: string[] = [];
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) out.push(m[0]);
  return out;
}

/**
 * Count distinct pieces over documents. Each document is split on its own, so no piece spans a
 * document boundary. Returns raw (not yet byte-level) pieces with their counts.
 */
export function countWords(texts: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  const re = gpt2Regex();
  for (const text of texts) {
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const w = m[0];
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  return counts;
}
