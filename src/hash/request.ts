/**
 * The engram-hash request of docs/SPEC.md section 6, validated and resolved into what the hash needs:
 * compressed ids (spec 1), pad' = P(pad_id), one multiplier vector per layer (spec 2.2) and the
 * prime table sizes (spec 2.3). Shared by the engram-hash and engram-forward commands.
 *
 * Which id space the request is in:
 * - vocab given ([{text, raw}] per raw id, or a vocabulary spec string such as "hf:PATH"): input
 *   ids and pad_id are raw and are compressed here; |V'| comes from the vocab (a vocab_size given
 *   too must equal it);
 * - else vocab_size (|V'|) given: ids and pad_id are already compressed and must be < vocab_size;
 * - else multipliers must be given for every layer: ids are taken as compressed, |V'| is unknown
 *   (vocabSizeCompressed = null) and ids are only bounded by int32.
 * Negative ids pass through compression unchanged (spec 1), pad_id included: the spec's P, not
 * numpy's lookup_table[-1] wrap-around. Unknown keys are ignored (reference configs carry more,
 * e.g. n_embed_per_ngram).
 */
import { InputError, show } from '../contract/errors.js';
import { buildCompression } from '../data/compress.js';
import { loadVocab, type Vocab } from '../data/vocab.js';
import { layerMultipliers, validateMultipliers } from './multipliers.js';
import { hashIds, MAX_TABLE_SIZE } from './ngram.js';
import { tableSizes } from './primes.js';
import { hashIdsBigInt } from './reference.js';

export interface HashLayer {
  multipliers: bigint[];
  /** [order index (n = 2..N)][head] */
  tableSizes: number[][];
}

export interface HashRequest {
  /** [B * T], row-major [B][T] */
  compressedIds: Int32Array;
  B: number;
  T: number;
  /** pad' = P(pad_id) */
  pad: number;
  /** |V'|, or null when only explicit multipliers were given (then ids are taken as compressed) */
  vocabSizeCompressed: number | null;
  maxNgram: number;
  headsPerNgram: number;
  /** in layer_ids order (Map insertion order) */
  layers: Map<number, HashLayer>;
}

const INT32_MIN = -(2 ** 31);
const INT32_END = 2 ** 31;
/** Base sizes up to 2^50 keep every prime exact in a double (the BigInt path takes the big ones). */
const MAX_BASE_SIZE = 2 ** 50;
const DEFAULTS = { max_ngram_size: 3, n_head_per_ngram: 8, seed: 0 }; // spec 2

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An integer in [min, max); `what` says what the bound means in the message. */
function int(where: string, field: string, v: unknown, min: number, end: number, what = ''): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v >= end) {
    throw new InputError(where, `${show(v)} is not allowed: expected an integer in [${min}, ${end})${what}`, field);
  }
  return v;
}

function optionalInt(where: string, req: Json, key: keyof typeof DEFAULTS, min: number, end: number): number {
  return req[key] === undefined ? DEFAULTS[key] : int(where, key, req[key], min, end);
}

function array(where: string, field: string, v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new InputError(where, `${show(v)} is not allowed: expected ${what}`, field);
  return v;
}

/** vocab: [{text, raw}] per raw id (raw null is read as ""), or a spec string for loadVocab. */
function parseVocab(where: string, v: unknown): Vocab {
  if (typeof v === 'string') return loadVocab(v, `${where}: vocab`);
  const entries = array(where, 'vocab', v, 'an array of {text, raw} per raw token id, or a vocabulary spec string');
  if (entries.length === 0) throw new InputError(where, 'is empty: expected at least one {text, raw} entry', 'vocab');
  return entries.map((e, i) => {
    const raw = isObject(e) ? (e.raw ?? '') : undefined;
    if (!isObject(e) || typeof e.text !== 'string' || typeof raw !== 'string') {
      throw new InputError(where, `${show(e)} is not allowed: expected {text: string, raw: string}`, `vocab[${i}]`);
    }
    return { text: e.text, raw };
  });
}

/** input_ids [B][T]: equal-length rows of integers in [INT32_MIN, idEnd). */
function parseIds(where: string, v: unknown, idEnd: number, bound: string): { ids: Int32Array; B: number; T: number } {
  const rows = array(where, 'input_ids', v, 'an array of rows [B][T] of integer token ids');
  if (rows.length === 0) throw new InputError(where, 'is empty: expected at least one row [B][T]', 'input_ids');
  const T = array(where, 'input_ids[0]', rows[0], 'a row of integer token ids').length;
  const ids = new Int32Array(rows.length * T);
  rows.forEach((row, b) => {
    const r = array(where, `input_ids[${b}]`, row, 'a row of integer token ids');
    if (r.length !== T) {
      throw new InputError(
        where,
        `row has ${r.length} ids, row 0 has ${T}: all rows of input_ids must have the same length`,
        `input_ids[${b}]`,
      );
    }
    r.forEach((id, t) => {
      ids[b * T + t] = int(where, `input_ids[${b}][${t}]`, id, INT32_MIN, idEnd, bound);
    });
  });
  return { ids, B: rows.length, T };
}

/** The id space: raw with a vocab, else compressed (bounded by vocab_size when given). */
function idSpace(where: string, req: Json) {
  if (req.vocab !== undefined) {
    const vocab = parseVocab(where, req.vocab);
    const c = buildCompression(vocab);
    if (req.vocab_size !== undefined && req.vocab_size !== c.size) {
      throw new InputError(
        where,
        `${show(req.vocab_size)} is not allowed: the vocab compresses to |V'| = ${c.size}; give that or omit vocab_size`,
        'vocab_size',
      );
    }
    const bound = ` (|V| = ${c.rawSize}: ids are raw with a vocab; negative ids pass through)`;
    const compress = (id: number) => (id < 0 ? id : c.map[id]);
    return { size: c.size as number | null, idEnd: c.rawSize, bound, compress };
  }
  if (req.vocab_size !== undefined) {
    const size = int(where, 'vocab_size', req.vocab_size, 1, INT32_END, " (|V'|, the compressed vocabulary size)");
    const bound = ` (vocab_size = ${size}: ids are compressed without a vocab; negative ids pass through)`;
    return { size: size as number | null, idEnd: size, bound, compress: (id: number) => id };
  }
  const bound = ' (32-bit ids, taken as compressed)';
  return { size: null, idEnd: INT32_END, bound, compress: (id: number) => id };
}

/** multipliers: {"<layer_id>": [decimal strings]}, every key one of layer_ids. */
function parseMultipliers(where: string, v: unknown, layerIds: number[], N: number): Map<number, bigint[]> {
  const out = new Map<number, bigint[]>();
  if (v === undefined) return out;
  if (!isObject(v))
    throw new InputError(where, `${show(v)} is not allowed: expected {"<layer_id>": [decimal strings]}`, 'multipliers');
  for (const [key, list] of Object.entries(v)) {
    const field = `multipliers[${JSON.stringify(key)}]`;
    const id = /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : NaN;
    if (!layerIds.includes(id)) {
      throw new InputError(
        where,
        `key ${show(key)} is not allowed: expected one of layer_ids ${show(layerIds)}`,
        field,
      );
    }
    const ms = array(where, field, list, `${N} multipliers as decimal strings`).map((m, i) => {
      if (typeof m === 'string' && /^[0-9]{1,19}$/.test(m)) return BigInt(m);
      if (typeof m === 'number' && Number.isSafeInteger(m)) return BigInt(m);
      throw new InputError(
        where,
        `${show(m)} is not allowed: expected a decimal string (numbers lose precision past 2^53)`,
        `${field}[${i}]`,
      );
    });
    try {
      validateMultipliers(ms, N, where);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      throw new InputError(where, e.message, field + (e.field?.replace(/^multipliers/, '') ?? ''));
    }
    out.set(id, ms);
  }
  return out;
}

/** layer_ids: a non-empty list of distinct integers >= 0, kept in the given order (spec 2). */
function parseLayerIds(where: string, v: unknown): number[] {
  const list = array(where, 'layer_ids', v, 'a non-empty array of distinct integer layer ids >= 0');
  if (list.length === 0) throw new InputError(where, 'is empty: expected at least one layer id', 'layer_ids');
  const seen = new Set<number>();
  return list.map((x, i) => {
    const id = int(where, `layer_ids[${i}]`, x, 0, Number.MAX_SAFE_INTEGER);
    if (seen.has(id)) throw new InputError(where, `${id} appears twice: layer ids must be distinct`, `layer_ids[${i}]`);
    seen.add(id);
    return id;
  });
}

function parseBaseSizes(where: string, v: unknown, N: number): number[] {
  const list = array(where, 'engram_vocab_size', v, `${N - 1} base table sizes, one per order n = 2..${N}`);
  if (list.length !== N - 1) {
    throw new InputError(
      where,
      `${show(v)} is not allowed: expected ${N - 1} base sizes (orders 2..${N}, max_ngram_size ${N})`,
      'engram_vocab_size',
    );
  }
  return list.map((b, i) => int(where, `engram_vocab_size[${i}]`, b, 1, MAX_BASE_SIZE + 1));
}

/** Validate a request (docs/SPEC.md section 6) read from `where`; every field error is an InputError. */
export function resolveHashRequest(req: unknown, where: string): HashRequest {
  if (!isObject(req))
    throw new InputError(where, `${show(req)} is not allowed: expected a request object (docs/SPEC.md section 6)`);
  const N = optionalInt(where, req, 'max_ngram_size', 2, 33);
  const K = optionalInt(where, req, 'n_head_per_ngram', 1, 4097);
  const seed = optionalInt(where, req, 'seed', 0, Number.MAX_SAFE_INTEGER);
  const baseSizes = parseBaseSizes(where, req.engram_vocab_size, N);
  const layerIds = parseLayerIds(where, req.layer_ids);
  const explicit = parseMultipliers(where, req.multipliers, layerIds, N);
  const space = idSpace(where, req);
  if (space.size === null && explicit.size < layerIds.length) {
    const missing = layerIds.find((id) => !explicit.has(id));
    const field = req.multipliers === undefined ? 'vocab_size' : `multipliers[${JSON.stringify(String(missing))}]`;
    throw new InputError(
      where,
      `missing: layer ${missing} has no multipliers and there is no |V'| to derive them; give vocab, vocab_size (|V'|) or multipliers for every layer id`,
      field,
    );
  }
  if (req.pad_id === undefined)
    throw new InputError(where, 'missing: give the pad token id (raw with a vocab, else compressed)', 'pad_id');
  const pad = space.compress(int(where, 'pad_id', req.pad_id, INT32_MIN, space.idEnd, space.bound));
  const { ids, B, T } = parseIds(where, req.input_ids, space.idEnd, space.bound);
  const compressedIds = ids.map(space.compress);
  const sizes = tableSizes(baseSizes, layerIds, N, K);
  const layers = new Map<number, HashLayer>();
  for (const id of layerIds) {
    const multipliers = explicit.get(id) ?? layerMultipliers(space.size as number, seed, id, N);
    layers.set(id, { multipliers, tableSizes: sizes.get(id) as number[][] });
  }
  return { compressedIds, B, T, pad, vocabSizeCompressed: space.size, maxNgram: N, headsPerNgram: K, layers };
}

/**
 * Hash indices of one layer, [B * T * (N-1)K] row-major [B][T][(N-1)K], per table, no offsets
 * (spec 2.5-2.6). The fast exact path needs every prime <= MAX_TABLE_SIZE; bigger tables (allowed
 * by the reference) go through the BigInt reference, slower but exact, as a Float64Array when a
 * prime passes 2^31.
 */
export function hashRequestLayer(r: HashRequest, layerId: number): Int32Array | Float64Array {
  const layer = r.layers.get(layerId);
  if (!layer)
    throw new InputError('hashRequestLayer', `layer ${show(layerId)} is not one of ${show([...r.layers.keys()])}`);
  const maxPrime = Math.max(...layer.tableSizes.flat());
  if (maxPrime <= MAX_TABLE_SIZE) return hashIds(r.compressedIds, r.B, r.T, r.pad, layer.multipliers, layer.tableSizes);
  const rows = Array.from({ length: r.B }, (_, b) => Array.from(r.compressedIds.subarray(b * r.T, (b + 1) * r.T)));
  const flat = hashIdsBigInt(rows, r.pad, layer.multipliers, layer.tableSizes).flat(2);
  return maxPrime <= INT32_END ? Int32Array.from(flat) : Float64Array.from(flat);
}
