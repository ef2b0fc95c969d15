/**
 * Byte-level BPE training, as `tokenizers`' BpeTrainer with a ByteLevel pre-tokenizer (no
 * min_frequency, no length limit): count distinct pre-tokenised words, then repeatedly merge the
 * most frequent adjacent pair of symbols (counted over words, weighted by word frequency).
 *
 * Id layout (this project's choice, fixed for every vocab size):
 *   0..255  the single bytes, in byte order (token string = byteToChar(byte));
 *   256     `<|endoftext|>` (document separator and pad id; never produced by a merge);
 *   257..   merged tokens, in the order they were created.
 * Ties in pair count go to the smaller pair of ids, compared (left id, then right id), as HF's
 * trainer does with its own ids. (HF numbers the alphabet by code point of the byte-level char,
 * not by byte, and puts special tokens first, so on ties the two can pick different pairs.)
 * When a merge spells a string that is already a token (e.g. "a"+"bc" after "ab"+"c"), the merge is
 * recorded and reuses that token's id, as HF does; the vocabulary counts distinct strings.
 *
 * Incremental algorithm: pair -> count, pair -> words that contained it (entries may be stale),
 * and a max-heap with lazy deletion. Existing pairs only lose counts when a pair merges, so a
 * popped entry whose count is stale is pushed back with its current count; the pairs that gain
 * (all involve the new token) are pushed after each merge. Each merge rewrites only its words.
 */
import { byteToChar } from '../bytelevel.js';
import { InputError } from '../../contract/errors.js';
import { BpeTokenizer, EOT_TOKEN } from './encode.js';
import { countWords } from './pretokenize.js';

export const MIN_VOCAB_SIZE = 257;
export const MAX_VOCAB_SIZE = 32768;
export const EOT_ID = 256;
/** Bump when training output could change; part of the tokenizer cache key. */
export const TRAINER_VERSION = 'bpe-bytelevel-1';

/** Pair key: left * SHIFT + right; ids < MAX_VOCAB_SIZE, so keys are small integers ordered (left, right). */
const SHIFT = MAX_VOCAB_SIZE;

/** Called after each merge that adds a token: (tokens added so far, vocabSize - 257). */
export type TrainProgress = (merges: number, total: number) => void;

export function validateVocabSize(vocabSize: unknown, where = '--vocab-size'): number {
  if (
    typeof vocabSize !== 'number' ||
    !Number.isInteger(vocabSize) ||
    vocabSize < MIN_VOCAB_SIZE ||
    vocabSize > MAX_VOCAB_SIZE
  ) {
    throw new InputError(
      where,
      `vocab size ${String(vocabSize)} is not allowed: use an integer in ${MIN_VOCAB_SIZE}..${MAX_VOCAB_SIZE} ` +
        `(256 bytes + ${EOT_TOKEN} + merges)`,
    );
  }
  return vocabSize;
}

/**
 * Train on documents (each pre-tokenised on its own). The result has vocabSize tokens, or fewer
 * when the corpus runs out of pairs.
 */
export function trainBpe(
  texts: readonly string[],
  vocabSize: number,
  onProgress?: TrainProgress,
  where = '--vocab-size',
): BpeTokenizer {
  validateVocabSize(vocabSize, where);
  const tokens: string[] = [];
  for (let b = 0; b < 256; b++) tokens.push(byteToChar(b));
  tokens.push(EOT_TOKEN);
  const idOf = new Map<string, number>(tokens.map((t, i) => [t, i]));
  const state = new PairState(countWords(texts));
  const merges: number[] = [];
  const total = vocabSize - MIN_VOCAB_SIZE;
  let made = 0; // distinct new tokens so far (a merge that reuses a token adds none)
  while (tokens.length < vocabSize) {
    const key = state.popBest();
    if (key < 0) break;
    const a = Math.floor(key / SHIFT);
    const b = key - a * SHIFT;
    const s = tokens[a] + tokens[b];
    let c = idOf.get(s);
    if (c === undefined) {
      c = tokens.length;
      tokens.push(s);
      idOf.set(s, c);
    }
    if (c === EOT_ID) throw new Error(`internal: a merge spelled ${EOT_TOKEN}`);
    merges.push(a, b);
    state.merge(key, a, b, c);
    if (tokens.length - MIN_VOCAB_SIZE > made) {
      made++;
      onProgress?.(made, total);
    }
  }
  return new BpeTokenizer({ tokens, merges: Int32Array.from(merges), eotId: EOT_ID });
}

/** Words as symbol-id runs in one flat array, plus pair counts, pair -> words index, and the heap. */
class PairState {
  private readonly sym: Int32Array;
  private readonly start: Int32Array;
  private readonly len: Int32Array;
  private readonly freq: Float64Array;
  private readonly count = new Map<number, number>();
  private readonly where = new Map<number, number[]>();
  private readonly heap = new PairHeap();

  constructor(words: Map<string, number>) {
    const n = words.size;
    this.start = new Int32Array(n);
    this.len = new Int32Array(n);
    this.freq = new Float64Array(n);
    let total = 0;
    for (const w of words.keys()) total += Buffer.byteLength(w, 'utf8');
    const bytes = Buffer.alloc(total);
    this.sym = new Int32Array(total);
    let off = 0;
    let i = 0;
    for (const [w, f] of words) {
      const l = bytes.write(w, off, 'utf8');
      this.start[i] = off;
      this.len[i] = l;
      this.freq[i] = f;
      for (let k = off; k < off + l; k++) this.sym[k] = bytes[k]; // byte b has id b
      for (let k = off; k + 1 < off + l; k++) this.addPair(this.sym[k] * SHIFT + this.sym[k + 1], f, i);
      off += l;
      i++;
    }
    for (const [key, c] of this.count) this.heap.push(c, key);
  }

  /** Key of the most frequent pair (ties: smallest key), or -1 when no pair is left. */
  popBest(): number {
    for (;;) {
      if (this.heap.size === 0) return -1;
      const cnt = this.heap.topCount();
      const key = this.heap.pop();
      const cur = this.count.get(key) ?? 0;
      if (cur === cnt) return key;
      if (cur > 0) this.heap.push(cur, key);
    }
  }

  /** Replace every (a, b) by c in the words that hold it; update counts, index and heap. */
  merge(key: number, a: number, b: number, c: number): void {
    const list = this.where.get(key) ?? [];
    this.where.delete(key);
    const touched = new Set<number>();
    for (const w of list) this.mergeWord(w, a, b, c, touched);
    this.count.delete(key);
    for (const k of touched) {
      const cnt = this.count.get(k) ?? 0;
      if (cnt > 0) this.heap.push(cnt, k);
    }
  }

  /** Left-to-right, non-overlapping, in place (HF Word::merge); neighbours' pairs move to c. */
  private mergeWord(w: number, a: number, b: number, c: number, touched: Set<number>): void {
    const sym = this.sym;
    const s0 = this.start[w];
    const end = s0 + this.len[w];
    const f = this.freq[w];
    let r = s0;
    let out = s0;
    while (r < end) {
      if (r + 1 < end && sym[r] === a && sym[r + 1] === b) {
        if (out > s0) {
          const left = sym[out - 1]; // already rewritten: may be c from the previous match
          this.addPair(left * SHIFT + a, -f, w);
          this.addPair(left * SHIFT + c, f, w);
          touched.add(left * SHIFT + c);
        }
        if (r + 2 < end) {
          const right = sym[r + 2];
          this.addPair(b * SHIFT + right, -f, w);
          this.addPair(c * SHIFT + right, f, w);
          touched.add(c * SHIFT + right);
        }
        sym[out++] = c;
        r += 2;
      } else {
        sym[out++] = sym[r++];
      }
    }
    this.len[w] = out - s0;
  }

  private addPair(key: number, delta: number, w: number): void {
    const v = (this.count.get(key) ?? 0) + delta;
    if (v === 0) this.count.delete(key);
    else this.count.set(key, v);
    if (delta > 0) {
      const list = this.where.get(key);
      if (list === undefined) this.where.set(key, [w]);
      else if (list[list.length - 1] !== w) list.push(w);
    }
  }
}

/** Max-heap of (count, key): larger count first, then smaller key. */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  topCount(): number {
    return this.counts[0];
  }

  push(count: number, key: number): void {
    const { counts, keys } = this;
    let i = keys.length;
    counts.push(count);
    keys.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(count, key, counts[p], keys[p])) break;
      counts[i] = counts[p];
      keys[i] = keys[p];
      i = p;
    }
    counts[i] = count;
    keys[i] = key;
  }

  /** Remove the top; returns its key. */
  pop(): number {
    const { counts, keys } = this;
    const top = keys[0];
    const lc = counts.pop() as number;
    const lk = keys.pop() as number;
    const n = keys.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let ch = 2 * i + 1;
      if (ch >= n) break;
      if (ch + 1 < n && before(counts[ch + 1], keys[ch + 1], counts[ch], keys[ch])) ch++;
      if (!before(counts[ch], keys[ch], lc, lk)) break;
      counts[i] = counts[ch];
      keys[i] = keys[ch];
      i = ch;
    }
    counts[i] = lc;
    keys[i] = lk;
    return top;
  }
}

function before(c1: number, k1: number, c2: number, k2: number): boolean {
  return c1 > c2 || (c1 === c2 && k1 < k2);
}
