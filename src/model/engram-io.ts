/**
 * Engram weights in the reference's state-dict names and torch shapes (docs/SPEC.md section 6), to and
 * from this project's layouts: the float64 layer (engram64.ts, torch layout) and the trainer's
 * parameters (params.ts names, linear weights [in, out], so value/key projections transpose).
 */
import { InputError, show } from '../contract/errors.js';
import type { Engram64Weights } from './engram64.js';
import { tableOffsets } from './engram64.js';

/** A dense row-major tensor. */
export interface Tensor64 {
  shape: number[];
  data: Float64Array;
}

/** Reference name -> tensor. */
export type StateDict = Map<string, Tensor64>;

/** What fixes every shape of one Engram layer. */
export interface EngramDims {
  d: number; // hidden_size
  hc: number; // hc_mult
  kernel: number; // kernel_size
  maxNgram: number; // N
  headsPerNgram: number; // K
  dimPerNgram: number; // n_embed_per_ngram (d_order)
  sizes: number[]; // this layer's primes, order-major, (N - 1) K of them
}

/** The reference's persistent buffer: running sums of the primes (validated, never trained). */
export const OFFSETS_KEY = 'multi_head_embedding.offsets';
export const TABLE_KEY = 'multi_head_embedding.embedding.weight';

interface Link {
  ref: string; // state-dict name
  internal: string | null; // params.ts suffix after `layers.<l>.engram.`; null for the table
  shape: number[]; // torch shape
  label: string; // the shape in words, for error lines
  transpose: boolean; // torch [out, in] <-> ours [in, out]
}

/** d_mem, D_h and the total rows, after checking the dims (field names as the reference's config, with a prefix). */
export function derivedDims(dims: EngramDims, where = 'engram dims', prefix = '') {
  const { d, hc, kernel, maxNgram: N, headsPerNgram: K, dimPerNgram, sizes } = dims;
  const ints: [string, number, number][] = [
    ['hidden_size', d, 1],
    ['hc_mult', hc, 1],
    ['kernel_size', kernel, 1],
    ['max_ngram_size', N, 2],
    ['n_head_per_ngram', K, 1],
    ['n_embed_per_ngram', dimPerNgram, 1],
  ];
  for (const [name, v, min] of ints) {
    if (!Number.isSafeInteger(v) || v < min)
      throw new InputError(where, `${show(v)} must be an integer >= ${min}`, prefix + name);
  }
  if (dimPerNgram % K !== 0) {
    throw new InputError(
      where,
      `${dimPerNgram} is not divisible by n_head_per_ngram = ${K} (D_h = d_order / K)`,
      prefix + 'n_embed_per_ngram',
    );
  }
  if (sizes.length !== (N - 1) * K)
    throw new InputError(where, `expected (N-1)K = ${(N - 1) * K} table sizes, got ${sizes.length}`, 'table sizes');
  return { dMem: (N - 1) * dimPerNgram, headDim: dimPerNgram / K, rows: sizes.reduce((a, b) => a + b, 0) };
}

/** Every tensor of one Engram layer with its torch shape (docs/SPEC.md section 6). */
function links(dims: EngramDims): Link[] {
  const { d, hc, kernel } = dims;
  const { dMem, headDim, rows } = derivedDims(dims);
  const out: Link[] = [
    { ref: TABLE_KEY, internal: null, shape: [rows, headDim], label: '[sum of primes, D_h]', transpose: false },
    { ref: 'value_proj.weight', internal: 'value', shape: [d, dMem], label: '[d, d_mem]', transpose: true },
    { ref: 'value_proj.bias', internal: 'valueBias', shape: [d], label: '[d]', transpose: false },
  ];
  for (let g = 0; g < hc; g++) {
    out.push({
      ref: `key_projs.${g}.weight`,
      internal: `key.${g}`,
      shape: [d, dMem],
      label: '[d, d_mem]',
      transpose: true,
    });
    out.push({ ref: `key_projs.${g}.bias`, internal: `keyBias.${g}`, shape: [d], label: '[d]', transpose: false });
    out.push({ ref: `norm1.${g}.weight`, internal: `keyNorm.${g}`, shape: [d], label: '[d]', transpose: false });
    out.push({ ref: `norm2.${g}.weight`, internal: `queryNorm.${g}`, shape: [d], label: '[d]', transpose: false });
    out.push({
      ref: `short_conv.norms.${g}.weight`,
      internal: `convNorm.${g}`,
      shape: [d],
      label: '[d]',
      transpose: false,
    });
  }
  out.push({
    ref: 'short_conv.conv.weight',
    internal: 'conv',
    shape: [hc * d, 1, kernel],
    label: '[hc_mult * d, 1, kernel_size]',
    transpose: false,
  });
  return out;
}

/** Expected torch shapes by reference name (the offsets buffer is optional and not listed). */
export function expectedShapes(dims: EngramDims): Map<string, number[]> {
  return new Map(links(dims).map((l) => [l.ref, l.shape]));
}

const fmt = (s: number[]) => `[${s.join(', ')}]`;

/** A nested JSON array (torch's .tolist()) or {shape, data} -> a finite float64 tensor. */
export function parseTensor(v: unknown, where: string, key: string): Tensor64 {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const { shape, data } = v as { shape?: unknown; data?: unknown };
    if (!Array.isArray(shape) || !shape.every((n) => Number.isSafeInteger(n) && n >= 0) || !Array.isArray(data)) {
      throw new InputError(where, `${show(v)} is not a tensor: expected a nested array or {shape, data}`, key);
    }
    const n = shape.reduce((a: number, b: number) => a * b, 1);
    if (data.length !== n)
      throw new InputError(where, `data has ${data.length} values for shape ${fmt(shape)} (${n})`, key);
    return { shape: [...shape], data: finite(data, where, key) };
  }
  const shape: number[] = [];
  for (let x = v; Array.isArray(x); x = x[0]) shape.push(x.length);
  if (shape.length === 0)
    throw new InputError(where, `${show(v)} is not a tensor: expected a nested array of numbers`, key);
  const flat: unknown[] = [];
  const walk = (x: unknown, depth: number, path: string) => {
    if (depth === shape.length) return void flat.push(x);
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new InputError(where, `ragged at ${path}: expected an array of ${shape[depth]}, got ${show(x)}`, key);
    }
    x.forEach((y, i) => walk(y, depth + 1, `${path}[${i}]`));
  };
  walk(v, 0, '');
  return { shape, data: finite(flat, where, key) };
}

function finite(xs: unknown[], where: string, key: string): Float64Array {
  const out = new Float64Array(xs.length);
  xs.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x))
      throw new InputError(where, `value ${show(x)} at flat index ${i} is not a finite number`, key);
    out[i] = x;
  });
  return out;
}

/** A weights file's JSON object -> state dict (no shape checks yet). */
export function parseStateDict(raw: unknown, where: string): StateDict {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError(where, `expected an object of state-dict name -> tensor, got ${show(raw)}`);
  }
  return new Map(Object.entries(raw).map(([k, v]) => [k, parseTensor(v, where, k)]));
}

/** Every name present with exactly its shape, nothing unknown; the offsets buffer, if given, must agree. */
export function checkStateDict(sd: StateDict, dims: EngramDims, where: string): void {
  const want = links(dims);
  const known = new Set(want.map((l) => l.ref));
  for (const l of want) {
    const t = sd.get(l.ref);
    if (!t) throw new InputError(where, `missing; expected a tensor of shape ${l.label} = ${fmt(l.shape)}`, l.ref);
    if (fmt(t.shape) !== fmt(l.shape)) {
      throw new InputError(
        where,
        `shape ${fmt(t.shape)} does not match the expected ${l.label} = ${fmt(l.shape)}`,
        l.ref,
      );
    }
  }
  for (const [k, t] of sd) {
    if (k === OFFSETS_KEY) {
      const off = tableOffsets(dims.sizes);
      if (fmt(t.shape) !== fmt([off.length]) || t.data.some((x, i) => x !== off[i])) {
        throw new InputError(
          where,
          `${show([...t.data])} differs from the running sums of this layer's primes ${show(off)}`,
          k,
        );
      }
    } else if (!known.has(k)) {
      throw new InputError(where, `unknown state-dict name; allowed: ${[...known, OFFSETS_KEY].join(', ')}`, k);
    }
  }
}

/** Checked state dict -> the float64 layer's weights (torch layout, no copies). */
export function engram64FromStateDict(sd: StateDict, dims: EngramDims, where: string): Engram64Weights {
  checkStateDict(sd, dims, where);
  const { dMem, headDim } = derivedDims(dims);
  const get = (k: string) => sd.get(k)!.data;
  const per = (f: (g: number) => string) => Array.from({ length: dims.hc }, (_, g) => get(f(g)));
  return {
    d: dims.d,
    dMem,
    hc: dims.hc,
    kernel: dims.kernel,
    headDim,
    sizes: [...dims.sizes],
    table: get(TABLE_KEY),
    value: get('value_proj.weight'),
    valueBias: get('value_proj.bias'),
    key: per((g) => `key_projs.${g}.weight`),
    keyBias: per((g) => `key_projs.${g}.bias`),
    keyNorm: per((g) => `norm1.${g}.weight`),
    queryNorm: per((g) => `norm2.${g}.weight`),
    convNorm: per((g) => `short_conv.norms.${g}.weight`),
    conv: get('short_conv.conv.weight'),
  };
}

/** [rows, cols] row-major -> [cols, rows]. */
function transpose(x: ArrayLike<number>, rows: number, cols: number, out: Float32Array | Float64Array): void {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
}

/** Names of the trainer's parameters for Engram layer l (params.ts). */
export const internalPrefix = (layerId: number) => `layers.${layerId}.engram.`;

/**
 * Reference state dict -> the trainer's parameters of layer `layerId` (params.ts names, [in, out]
 * linear layout, float32) and its table rows (row-major [sum of primes, D_h], for a HostTable).
 */
export function engramWeightsFromStateDict(sd: StateDict, dims: EngramDims, layerId: number, where: string) {
  checkStateDict(sd, dims, where);
  const params = new Map<string, Float32Array>();
  let table = new Float32Array(0);
  for (const l of links(dims)) {
    const src = sd.get(l.ref)!.data;
    const dst = new Float32Array(src.length);
    if (l.transpose) transpose(src, l.shape[0], l.shape[1], dst);
    else dst.set(src);
    if (l.internal === null) table = dst;
    else params.set(internalPrefix(layerId) + l.internal, dst);
  }
  return { params, table };
}

/**
 * The trainer's parameters of layer `layerId` (by params.ts name, [in, out] layout) and its
 * table (row-major rows, whole or as consecutive chunks such as HostTable shards) -> the
 * reference state dict, torch shapes, offsets buffer included (torch's strict load wants it).
 */
export function stateDictFromEngramWeights(
  params: ReadonlyMap<string, ArrayLike<number>>,
  table: ArrayLike<number> | readonly ArrayLike<number>[],
  dims: EngramDims,
  layerId: number,
): StateDict {
  const where = 'stateDictFromEngramWeights';
  const sd: StateDict = new Map();
  for (const l of links(dims)) {
    const n = l.shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(n);
    if (l.internal === null) {
      const chunks = isChunks(table) ? table : [table];
      let at = 0;
      for (const c of chunks) {
        if (at + c.length > n)
          throw new InputError(where, `table has more than ${n} values (shape ${fmt(l.shape)})`, l.ref);
        for (let i = 0; i < c.length; i++) data[at + i] = c[i];
        at += c.length;
      }
      if (at !== n) throw new InputError(where, `table has ${at} values, expected ${n} (shape ${fmt(l.shape)})`, l.ref);
    } else {
      const name = internalPrefix(layerId) + l.internal;
      const src = params.get(name);
      if (!src || src.length !== n)
        throw new InputError(where, `expected ${n} values, got ${src ? src.length : 'none'}`, name);
      if (l.transpose)
        transpose(src, l.shape[1], l.shape[0], data); // ours [in, out] -> torch [out, in]
      else for (let i = 0; i < n; i++) data[i] = src[i];
    }
    sd.set(l.ref, { shape: l.shape, data });
  }
  sd.set(OFFSETS_KEY, { shape: [dims.sizes.length], data: Float64Array.from(tableOffsets(dims.sizes)) });
  return sd;
}

function isChunks(t: ArrayLike<number> | readonly ArrayLike<number>[]): t is readonly ArrayLike<number>[] {
  return Array.isArray(t) && (t.length === 0 || typeof t[0] !== 'number');
}

/** State dict -> a JSON object of nested arrays (torch's .tolist()), ready for JSON.stringify. */
export function stateDictToJson(sd: StateDict): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, t] of sd) out[k] = nest(t.data, t.shape);
  return out;
}

/** Flat row-major data -> nested arrays of the given shape. */
export function nest(data: ArrayLike<number>, shape: number[]): unknown {
  const rec = (depth: number, at: number): unknown => {
    if (depth === shape.length) return data[at];
    const stride = shape.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: shape[depth] }, (_, i) => rec(depth + 1, at + i * stride));
  };
  return rec(0, 0);
}
