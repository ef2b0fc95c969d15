/**
 * `engram-sweep engram-forward --weights W.json --input X.json`: one Engram layer in float64 on
 * the reference's state dict and inputs, printing {gates, value, engram_out} (ENGRAM-SPEC 6).
 * The parity interface: the independent check compares it with the reference within 2e-5.
 */
import type { Command } from 'commander';
import { buildCompression, compressIds } from '../../data/compress.js';
import type { Vocab } from '../../data/vocab.js';
import { layerMultipliers, validateMultipliers } from '../../hash/multipliers.js';
import { tableSizes } from '../../hash/primes.js';
import { hashIdsBigInt } from '../../hash/reference.js';
import { derivedDims, engram64FromStateDict, parseStateDict, parseTensor, nest, type EngramDims } from '../../model/engram-io.js';
import { engram64, lookupRows64 } from '../../model/engram64.js';
import { readYamlOrJson } from '../../util/load.js';
import { InputError, show } from '../errors.js';

type Json = Record<string, unknown>;

/** X.config, resolved (defaults as the spec: N = 3, K = 8, seed 0, w = 4, hc 1, signed sqrt on). */
export interface ForwardConfig extends EngramDims {
  baseSizes: number[];
  layerIds: number[];
  layerId: number;
  seed: number;
  padId: number | undefined;
  signedSqrt: boolean;
}

export interface EngramForwardOutput {
  gates: unknown; // [B][T][hc]
  value: unknown; // [B][T][hc][d]
  engram_out: unknown; // [B][T][hc][d]
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const CONFIG_KEYS = ['hidden_size', 'hc_mult', 'max_ngram_size', 'n_head_per_ngram', 'n_embed_per_ngram', 'engram_vocab_size', 'layer_ids', 'layer_id', 'seed', 'pad_id', 'kernel_size', 'signed_sqrt'];
/** Fields of the reference's config objects that do not concern one layer's forward: ignored. */
const IGNORED_CONFIG_KEYS = ['tokenizer_name_or_path', 'vocab_size', 'num_layers'];
const TOP_KEYS = ['config', 'input_ids', 'hash_ids', 'hidden_states', 'vocab', 'vocab_size', 'multipliers'];

function int(c: Json, key: string, where: string, min: number, def?: number): number {
  const v = c[key] ?? def;
  if (v === undefined) throw new InputError(where, `missing; expected an integer >= ${min}`, `config.${key}`);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new InputError(where, `${show(v)} must be an integer >= ${min}`, `config.${key}`);
  }
  return v;
}

function intList(c: Json, key: string, where: string, min: number): number[] {
  const v = c[key];
  if (!Array.isArray(v) || v.length === 0) throw new InputError(where, `${show(v)} must be a non-empty array of integers >= ${min}`, `config.${key}`);
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min) throw new InputError(where, `${show(x)} must be an integer >= ${min}`, `config.${key}[${i}]`);
  });
  return v as number[];
}

export function parseForwardConfig(raw: unknown, where: string): ForwardConfig {
  if (!isObject(raw)) throw new InputError(where, `${show(raw)} must be an object with ${CONFIG_KEYS.join(', ')}`, 'config');
  for (const k of Object.keys(raw)) {
    if (!CONFIG_KEYS.includes(k) && !IGNORED_CONFIG_KEYS.includes(k)) throw new InputError(where, `unknown field; allowed: ${CONFIG_KEYS.join(', ')}`, `config.${k}`);
  }
  const maxNgram = int(raw, 'max_ngram_size', where, 2, 3);
  const headsPerNgram = int(raw, 'n_head_per_ngram', where, 1, 8);
  const baseSizes = intList(raw, 'engram_vocab_size', where, 1);
  if (baseSizes.length !== maxNgram - 1) {
    throw new InputError(where, `${show(baseSizes)} must hold ${maxNgram - 1} base sizes (orders 2..${maxNgram})`, 'config.engram_vocab_size');
  }
  const layerIds = intList(raw, 'layer_ids', where, 0);
  layerIds.forEach((id, i) => {
    if (layerIds.indexOf(id) !== i) throw new InputError(where, `layer id ${id} appears twice`, `config.layer_ids[${i}]`);
  });
  const layerId = int(raw, 'layer_id', where, 0);
  if (!layerIds.includes(layerId)) throw new InputError(where, `${layerId} is not one of layer_ids ${show(layerIds)}`, 'config.layer_id');
  const signedSqrt = raw.signed_sqrt ?? true;
  if (typeof signedSqrt !== 'boolean') throw new InputError(where, `${show(signedSqrt)} must be true or false`, 'config.signed_sqrt');
  const padId = raw.pad_id;
  if (padId !== undefined && (typeof padId !== 'number' || !Number.isSafeInteger(padId))) {
    throw new InputError(where, `${show(padId)} must be an integer token id`, 'config.pad_id');
  }
  const sizes = tableSizes(baseSizes, layerIds, maxNgram, headsPerNgram).get(layerId)!.flat();
  const cfg: ForwardConfig = {
    d: int(raw, 'hidden_size', where, 1),
    hc: int(raw, 'hc_mult', where, 1, 1),
    kernel: int(raw, 'kernel_size', where, 1, 4),
    maxNgram, headsPerNgram,
    dimPerNgram: int(raw, 'n_embed_per_ngram', where, 1),
    sizes, baseSizes, layerIds, layerId,
    seed: int(raw, 'seed', where, 0, 0),
    padId, signedSqrt,
  };
  derivedDims(cfg, where, 'config.'); // D_h = d_order / K must be whole
  return cfg;
}

/** A nested integer array of the given rank -> shape and flat values. */
function intTensor(v: unknown, rank: number, where: string, key: string) {
  const t = parseTensor(v, where, key);
  if (t.shape.length !== rank || t.shape.some((n) => n < 1)) {
    throw new InputError(where, `shape [${t.shape.join(', ')}] must have ${rank} non-empty axes`, key);
  }
  t.data.forEach((x, i) => {
    if (!Number.isSafeInteger(x)) throw new InputError(where, `${x} at flat index ${i} is not an integer`, key);
  });
  return t;
}

function parseVocab(v: unknown, where: string): Vocab {
  if (!Array.isArray(v) || v.length === 0) throw new InputError(where, `${show(v)} must be a non-empty array of {text, raw}`, 'vocab');
  v.forEach((e, i) => {
    if (!isObject(e) || typeof e.text !== 'string' || typeof e.raw !== 'string') {
      throw new InputError(where, `${show(e)} must be {text: string, raw: string}`, `vocab[${i}]`);
    }
  });
  return v as Vocab;
}

/**
 * input_ids [B][T] -> per-table hash ids [B*T*(N-1)K] for config.layer_id (ENGRAM-SPEC 2): compress
 * with vocab (ids and pad raw) or take ids as compressed with vocab_size, multipliers given or
 * drawn, this layer's primes from the allocation over all layer_ids. BigInt path: exact for any p.
 */
function hashInputIds(x: Json, cfg: ForwardConfig, where: string) {
  const t = intTensor(x.input_ids, 2, where, 'input_ids');
  const [B, T] = t.shape;
  if (cfg.padId === undefined) throw new InputError(where, 'missing; input_ids need the pad token id', 'config.pad_id');
  let rows = Array.from({ length: B }, (_, b) => Array.from(t.data.subarray(b * T, b * T + T)));
  let pad = cfg.padId;
  let vocabSize: number | undefined;
  if (x.vocab !== undefined) {
    const c = buildCompression(parseVocab(x.vocab, where));
    rows = rows.map((r, b) => Array.from(compressIds(c, r, `${where}: input_ids[${b}]`)));
    pad = compressIds(c, [pad], `${where}: config.pad_id`)[0];
    vocabSize = c.size;
  } else if (x.vocab_size !== undefined) {
    const V = x.vocab_size;
    if (typeof V !== 'number' || !Number.isSafeInteger(V) || V < 1) throw new InputError(where, `${show(V)} must be an integer >= 1 (|V'|)`, 'vocab_size');
    rows.forEach((r, b) => r.forEach((id, i) => {
      if (id >= V) throw new InputError(where, `compressed id ${id} is >= vocab_size ${V}; allowed: ids < ${V} (negative ids pass through)`, `input_ids[${b}][${i}]`);
    }));
    if (pad >= V) throw new InputError(where, `${pad} is >= vocab_size ${V}`, 'config.pad_id');
    vocabSize = V;
  }
  const mults = multipliersFor(x.multipliers, cfg, vocabSize, where);
  const sizes = tableSizes(cfg.baseSizes, cfg.layerIds, cfg.maxNgram, cfg.headsPerNgram).get(cfg.layerId)!;
  return { B, T, hashIds: Int32Array.from(hashIdsBigInt(rows, pad, mults, sizes).flat(2)) };
}

function multipliersFor(raw: unknown, cfg: ForwardConfig, vocabSize: number | undefined, where: string): bigint[] {
  const field = `multipliers.${cfg.layerId}`;
  if (raw !== undefined && !isObject(raw)) throw new InputError(where, `${show(raw)} must be an object {layer_id: [decimal strings]}`, 'multipliers');
  const given = raw?.[String(cfg.layerId)];
  if (given === undefined) {
    if (vocabSize === undefined) throw new InputError(where, 'missing; give vocab, vocab_size or multipliers for this layer', 'vocab_size');
    return layerMultipliers(vocabSize, cfg.seed, cfg.layerId, cfg.maxNgram);
  }
  if (!Array.isArray(given)) throw new InputError(where, `${show(given)} must be an array of ${cfg.maxNgram} decimal strings`, field);
  const ms = given.map((s, i) => {
    if ((typeof s !== 'string' || !/^-?\d+$/.test(s)) && !(typeof s === 'number' && Number.isSafeInteger(s))) {
      throw new InputError(where, `${show(s)} must be a decimal integer string`, `${field}[${i}]`);
    }
    return BigInt(s);
  });
  validateMultipliers(ms, cfg.maxNgram, `${where}: ${field}`);
  return ms;
}

/** hash_ids [B][T][(N-1)K] given directly: each index in [0, p) of its table. */
function givenHashIds(x: Json, cfg: ForwardConfig, where: string) {
  const t = intTensor(x.hash_ids, 3, where, 'hash_ids');
  const [B, T, J] = t.shape;
  const K = cfg.headsPerNgram;
  if (J !== cfg.sizes.length) throw new InputError(where, `last axis ${J} must be (N-1)K = ${cfg.sizes.length}`, 'hash_ids');
  t.data.forEach((v, i) => {
    const j = i % J, p = cfg.sizes[j];
    if (v < 0 || v >= p) {
      const at = `hash_ids[${Math.floor(i / (T * J))}][${Math.floor(i / J) % T}][${j}]`;
      throw new InputError(where, `${v} is outside [0, ${p}): table of order ${2 + Math.floor(j / K)}, head ${j % K}`, at);
    }
  });
  return { B, T, hashIds: Int32Array.from(t.data) };
}

/** The command's work, on parsed JSON (wFile, xFile name the sources in error lines). */
export function engramForward(wRaw: unknown, wFile: string, xRaw: unknown, xFile: string): EngramForwardOutput {
  if (!isObject(xRaw)) throw new InputError(xFile, `expected an object with config, input_ids or hash_ids, hidden_states; got ${show(xRaw)}`);
  for (const k of Object.keys(xRaw)) {
    if (!TOP_KEYS.includes(k)) throw new InputError(xFile, `unknown field; allowed: ${TOP_KEYS.join(', ')}`, k);
  }
  const cfg = parseForwardConfig(xRaw.config, xFile);
  if ((xRaw.input_ids === undefined) === (xRaw.hash_ids === undefined)) {
    throw new InputError(xFile, 'give exactly one of input_ids [B][T] and hash_ids [B][T][(N-1)K]', 'input_ids');
  }
  const { B, T, hashIds } = xRaw.hash_ids !== undefined ? givenHashIds(xRaw, cfg, xFile) : hashInputIds(xRaw, cfg, xFile);
  const h = parseTensor(xRaw.hidden_states, xFile, 'hidden_states');
  const want = [B, T, cfg.hc, cfg.d];
  if (h.shape.join() !== want.join()) {
    throw new InputError(xFile, `shape [${h.shape.join(', ')}] does not match [B, T, hc_mult, hidden_size] = [${want.join(', ')}]`, 'hidden_states');
  }
  const w = engram64FromStateDict(parseStateDict(wRaw, wFile), cfg, wFile);
  const e = lookupRows64(w, hashIds, B * T); // [B*T, d_mem]
  const r = engram64(h.data, e, w, B, T, { maxNgram: cfg.maxNgram, signedSqrt: cfg.signedSqrt });
  return {
    gates: nest(r.gates, [B, T, cfg.hc]),
    value: nest(r.value, want),
    engram_out: nest(r.out, want),
  };
}

export function register(program: Command): void {
  program
    .command('engram-forward')
    .description('one Engram layer in float64 on reference weights (ENGRAM-SPEC 6); prints {gates, value, engram_out}')
    .requiredOption('--weights <file>', 'state dict JSON: reference names -> nested arrays (torch shapes)')
    .requiredOption('--input <file>', 'JSON: config, input_ids (+ vocab or vocab_size) or hash_ids, hidden_states')
    .option('--json', 'accepted for uniformity: the output is always JSON')
    .addHelpText('after', '\nExample:\n  engram-sweep engram-forward --weights W.json --input X.json > out.json\n')
    .action((opts: { weights: string; input: string }) => {
      const x = readYamlOrJson(opts.input);
      const w = readYamlOrJson(opts.weights);
      process.stdout.write(JSON.stringify(engramForward(w, opts.weights, x, opts.input)) + '\n');
    });
}
