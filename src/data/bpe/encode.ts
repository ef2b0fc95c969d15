/**
 * Byte-level BPE encoding and decoding (GPT-2 / Hugging Face `tokenizers` BPE model + ByteLevel
 * pre-tokenizer and decoder).
 *
 * encode(text): split with the GPT-2 pattern (pretokenize.ts), take each piece's UTF-8 bytes
 * (lone surrogates become U+FFFD, as TextEncoder does, so such text cannot round-trip; all other
 * text does), map bytes to their ids, then apply merges exactly as `tokenizers`' Word::merge_all:
 * repeatedly merge the adjacent pair with the lowest merge rank, leftmost first. Results are cached
 * per piece. The literal text `<|endoftext|>` is encoded as ordinary text, never as the special id:
 * only encodeDocuments() inserts that id, between documents.
 */
import { byteLevelToBytes, byteToChar } from '../bytelevel.js';
import { InputError } from '../../contract/errors.js';
import { gpt2Regex } from './pretokenize.js';

export const EOT_TOKEN = '<|endoftext|>';

/** Cap on cached pieces; the cache is dropped when full (bounded memory on any input). */
const CACHE_LIMIT = 1 << 18;
/** Heap keys pack (rank, position): rank * 2^32 + pos, exact in a double while rank < 2^21. */
const POS_SPAN = 4294967296;

export interface BpeTokenizerParts {
  /** Token string of each id (byte-level alphabet; special tokens as their text). */
  tokens: readonly string[];
  /** Merges in rank order, flat: [left0, right0, left1, right1, ...] as token ids. */
  merges: Int32Array;
  /** Id of `<|endoftext|>`. */
  eotId: number;
}

export class BpeTokenizer {
  readonly vocabSize: number;
  readonly eotId: number;
  private readonly tokens: readonly string[];
  private readonly merges: Int32Array;
  /** key a * vocabSize + b -> merge rank */
  private readonly rankOf = new Map<number, number>();
  /** merge rank -> id of the merged token */
  private readonly mergeResult: Int32Array;
  private readonly byteId = new Int32Array(256);
  private readonly tokenBytes: Uint8Array[];
  private readonly cache = new Map<string, Int32Array>();

  constructor(parts: BpeTokenizerParts, where = 'tokenizer') {
    const { tokens, merges, eotId } = parts;
    const V = tokens.length;
    this.vocabSize = V;
    this.tokens = tokens;
    this.merges = merges;
    if (!Number.isInteger(eotId) || eotId < 0 || eotId >= V || tokens[eotId] !== EOT_TOKEN) {
      throw new InputError(where, `eot id ${eotId} is not the id of ${EOT_TOKEN} in a vocabulary of ${V}`);
    }
    this.eotId = eotId;
    const idOf = new Map<string, number>();
    tokens.forEach((t, id) => {
      if (idOf.has(t))
        throw new InputError(where, `token ${JSON.stringify(t)} appears twice (ids ${idOf.get(t)}, ${id})`);
      idOf.set(t, id);
    });
    for (let b = 0; b < 256; b++) {
      const id = idOf.get(byteToChar(b));
      if (id === undefined) throw new InputError(where, `vocabulary lacks the byte-level token for byte ${b}`);
      this.byteId[b] = id;
    }
    this.mergeResult = this.resolveMerges(idOf, where);
    // Decoding follows the ByteLevel decoder (docs/SPEC.md section 1): alphabet bytes, else own UTF-8.
    this.tokenBytes = tokens.map((t) => byteLevelToBytes(t) ?? new Uint8Array(Buffer.from(t, 'utf8')));
  }

  private resolveMerges(idOf: Map<string, number>, where: string): Int32Array {
    const V = this.vocabSize;
    const m = this.merges;
    if (m.length % 2 !== 0) throw new InputError(where, `merge list has odd length ${m.length}`);
    const result = new Int32Array(m.length / 2);
    for (let r = 0; r < result.length; r++) {
      const a = m[2 * r];
      const b = m[2 * r + 1];
      if (!(a >= 0 && a < V && b >= 0 && b < V))
        throw new InputError(where, `merge ${r} has ids out of range: ${a} ${b}`);
      const id = idOf.get(this.tokens[a] + this.tokens[b]);
      if (id === undefined) {
        throw new InputError(
          where,
          `merge ${r} (${this.tokens[a]} ${this.tokens[b]}) makes a token not in the vocabulary`,
        );
      }
      result[r] = id;
      this.rankOf.set(a * V + b, r); // a repeated pair keeps its last rank, as HF's map does
    }
    return result;
  }

  /** Number of merges (ranks 0 .. mergeCount - 1). */
  get mergeCount(): number {
    return this.mergeResult.length;
  }

  /** Merges in rank order, flat [left, right, ...] (a copy). */
  mergePairs(): Int32Array {
    return this.merges.slice();
  }

  tokenString(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new InputError('tokenizer', `token id ${id} is outside 0..${this.vocabSize - 1}`);
    }
    return this.tokens[id];
  }

  encode(text: string): Int32Array {
    let out = new Int32Array(Math.max(16, text.length >> 2));
    let n = 0;
    const re = gpt2Regex();
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const ids = this.encodePiece(m[0]);
      if (n + ids.length > out.length) {
        const grown = new Int32Array(Math.max(out.length * 2, n + ids.length));
        grown.set(out.subarray(0, n));
        out = grown;
      }
      out.set(ids, n);
      n += ids.length;
    }
    return out.slice(0, n);
  }

  /** Documents joined by the `<|endoftext|>` id (between documents, like Array.join). */
  encodeDocuments(docs: readonly string[]): Int32Array {
    const parts = docs.map((d) => this.encode(d));
    const total = parts.reduce((s, p) => s + p.length, 0) + Math.max(0, parts.length - 1);
    const out = new Int32Array(total);
    let n = 0;
    parts.forEach((p, i) => {
      if (i > 0) out[n++] = this.eotId;
      out.set(p, n);
      n += p.length;
    });
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += this.bytesOf(ids[i]).length;
    const buf = Buffer.allocUnsafe(total);
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const b = this.bytesOf(ids[i]);
      buf.set(b, n);
      n += b.length;
    }
    // Buffer's decoder keeps a leading BOM and maps invalid UTF-8 to U+FFFD (lossy, like HF).
    return buf.toString('utf8');
  }

  private bytesOf(id: number): Uint8Array {
    const b = this.tokenBytes[id];
    if (b === undefined || !Number.isInteger(id)) {
      throw new InputError('tokenizer', `token id ${id} is outside 0..${this.vocabSize - 1}`);
    }
    return b;
  }

  private encodePiece(piece: string): Int32Array {
    let ids = this.cache.get(piece);
    if (ids === undefined) {
      ids = this.mergeAll(Buffer.from(piece, 'utf8'));
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(piece, ids);
    }
    return ids;
  }

  private rank(a: number, b: number): number {
    return this.rankOf.get(a * this.vocabSize + b) ?? -1;
  }

  /**
   * `tokenizers` Word::merge_all without dropout: a heap of (rank, position) over a linked list of
   * symbols; an entry is stale when its left symbol is gone, has no right neighbour, or the pair
   * there no longer merges into the same token. O(n log n) in the piece length.
   */
  private mergeAll(bytes: Uint8Array): Int32Array {
    const n = bytes.length;
    const sym = new Int32Array(n);
    for (let i = 0; i < n; i++) sym[i] = this.byteId[bytes[i]];
    if (n < 2) return sym;
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    const heap: number[] = [];
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
      if (i + 1 < n) {
        const r = this.rank(sym[i], sym[i + 1]);
        if (r >= 0) heapPush(heap, r * POS_SPAN + i);
      }
    }
    let alive = n;
    while (heap.length > 0) {
      const top = heapPop(heap);
      const pos = top % POS_SPAN;
      const r = (top - pos) / POS_SPAN;
      const nx = next[pos];
      if (sym[pos] < 0 || nx < 0) continue;
      const cur = this.rank(sym[pos], sym[nx]);
      const newId = this.mergeResult[r];
      if (cur < 0 || this.mergeResult[cur] !== newId) continue;
      sym[pos] = newId;
      sym[nx] = -1;
      alive--;
      const nn = next[nx];
      next[pos] = nn;
      if (nn >= 0) prev[nn] = pos;
      const p = prev[pos];
      if (p >= 0) {
        const rp = this.rank(sym[p], newId);
        if (rp >= 0) heapPush(heap, rp * POS_SPAN + p);
      }
      if (nn >= 0) {
        const rn = this.rank(newId, sym[nn]);
        if (rn >= 0) heapPush(heap, rn * POS_SPAN + pos);
      }
    }
    const out = new Int32Array(alive);
    for (let i = 0, k = 0; i >= 0; i = next[i]) out[k++] = sym[i];
    return out;
  }
}

/** Min-heap of numbers on a plain array. */
function heapPush(h: number[], v: number): void {
  let i = h.length;
  h.push(v);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p] <= v) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = v;
}

function heapPop(h: number[]): number {
  const top = h[0];
  const last = h.pop() as number;
  const n = h.length;
  if (n === 0) return top;
  let i = 0;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && h[c + 1] < h[c]) c++;
    if (h[c] >= last) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = last;
  return top;
}
