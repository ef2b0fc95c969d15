/**
 * Tokenizer compression P: V -> V' (docs/SPEC.md section 1): raw ids whose decoded texts normalise to the
 * same key share one compressed id, so the n-gram hashes of section 2 see "The", "the" and " the"
 * as one token.
 */
import { InputError } from '../contract/errors.js';
import type { Vocab, VocabEntry } from './vocab.js';

const MARK = /\p{M}/gu;
const ASCII_SPACE_RUN = /[ \t\r\n]+/g;
// Unicode White_Space, as the reference's Strip (Rust char::is_whitespace). String.trim differs:
// it strips U+FEFF (not White_Space) and keeps U+0085 (White_Space).
const EDGE_WHITE_SPACE = /^\p{White_Space}+|\p{White_Space}+$/gu;

/**
 * Lowercase one code point at a time: whole-string toLowerCase applies the final-sigma rule
 * ("ΟΔΟΣ" -> "οδος"); the reference maps each character alone ("οδοσ"). Without a capital sigma
 * the two agree (the other context rules are locale-only), so the per-code-point loop is needed
 * only then.
 */
function lowerPerCodePoint(s: string): string {
  if (!s.includes('\u03a3')) return s.toLowerCase();
  let out = '';
  for (const ch of s) out += ch.toLowerCase();
  return out;
}

/** The key of a decoded text, exactly as docs/SPEC.md section 1 (the reference's HF normalizer sequence). */
export function normalizeKey(text: string): string {
  let s = text.normalize('NFKC').normalize('NFD').replace(MARK, '');
  s = lowerPerCodePoint(s).replace(ASCII_SPACE_RUN, ' ');
  if (s !== ' ') s = s.replace(EDGE_WHITE_SPACE, '');
  return s === '' ? text : s;
}

/** Partial UTF-8 tokens decode to U+FFFD and would all collide: they keep their raw string. */
function keyOf(entry: VocabEntry): string {
  return entry.text.includes('\ufffd') ? entry.raw : normalizeKey(entry.text);
}

export interface Compression {
  /** raw id -> compressed id */
  map: Int32Array;
  /** |V'| */
  size: number;
  /** |V| */
  rawSize: number;
}

/** Compressed ids in order of each key's first appearance over ascending raw ids (one key space). */
export function buildCompression(vocab: Vocab): Compression {
  const ids = new Map<string, number>();
  const map = new Int32Array(vocab.length);
  for (let id = 0; id < vocab.length; id++) {
    const key = keyOf(vocab[id]);
    let cid = ids.get(key);
    if (cid === undefined) {
      cid = ids.size;
      ids.set(key, cid);
    }
    map[id] = cid;
  }
  return { map, size: ids.size, rawSize: vocab.length };
}

/** Map raw ids to compressed ids. Negative ids (padding, ignore markers) pass through unchanged. */
export function compressIds(c: Compression, ids: ArrayLike<number>, where: string): Int32Array {
  const out = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < -(2 ** 31) || id >= c.rawSize) {
      const why = Number.isInteger(id) && id >= c.rawSize ? `is >= |V| = ${c.rawSize}` : 'is not an integer id';
      throw new InputError(
        where,
        `token id ${id} at position ${i} ${why}; allowed: integers < ${c.rawSize} (negative ids pass through)`,
      );
    }
    out[i] = id < 0 ? id : c.map[id];
  }
  return out;
}

export interface CompressionGroup {
  /** the shared key */
  key: string;
  /** how many raw ids map to it */
  count: number;
  /** decoded texts of its first few raw ids */
  examples: string[];
}

export interface CompressionStats {
  rawSize: number;
  size: number;
  /** 1 - |V'| / |V| */
  reduction: number;
  /** merged groups (count >= 2), largest first, ties by first appearance */
  groups: CompressionGroup[];
}

export function compressionStats(c: Compression, vocab: Vocab, top = 10, examples = 8): CompressionStats {
  const counts = new Int32Array(c.size);
  const members: number[][] = Array.from({ length: c.size }, () => []);
  for (let id = 0; id < c.rawSize; id++) {
    const cid = c.map[id];
    counts[cid]++;
    if (members[cid].length < examples) members[cid].push(id);
  }
  const order: number[] = [];
  for (let cid = 0; cid < c.size; cid++) if (counts[cid] > 1) order.push(cid);
  order.sort((a, b) => counts[b] - counts[a] || a - b);
  const groups = order.slice(0, top).map((cid) => ({
    key: keyOf(vocab[members[cid][0]]),
    count: counts[cid],
    examples: members[cid].map((id) => vocab[id].text),
  }));
  return { rawSize: c.rawSize, size: c.size, reduction: 1 - c.size / c.rawSize, groups };
}
