/**
 * `engram-sweep engram-forward --weights W.json --input X.json`: one Engram layer in float64 on
 * the reference's state dict and inputs, printing {gates, value, engram_out} (docs/SPEC.md section 6).
 * The parity interface: the independent check compares it with the reference within 2e-5.
 */
import type { Command } from 'commander';
import { tableSizes } from '../../hash/primes.js';
import { hashRequestLayer, resolveHashRequest } from '../../hash/request.js';
import {
  derivedDims,
  engram64FromStateDict,
  parseStateDict,
  parseTensor,
  nest,
  type EngramDims,
} from '../../model/engram-io.js';
import { engram64, lookupRows64 } from '../../model/engram64.js';
import { readYamlOrJson } from '../../util/load.js';
import { InputError, show } from '../errors.js';

type Json = Record<string, unknown>;

/** X.config, resolved (defaults as the spec: N = 3, K = 8, seed 0, w = 4, hc 1, signed sqrt on); pad_id is read by the hash resolver. */
export interface ForwardConfig extends EngramDims {
  baseSizes: number[];
  layerIds: number[];
  layerId: number;
  seed: number;
  signedSqrt: boolean;
}

export interface EngramForwardOutput {
  gates: unknown; // [B][T][hc]
  value: unknown; // [B][T][hc][d]
  engram_out: unknown; // [B][T][hc][d]
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const CONFIG_KEYS = [
  'hidden_size',
  'hc_mult',
  'max_ngram_size',
  'n_head_per_ngram',
  'n_embed_per_ngram',
  'engram_vocab_size',
  'layer_ids',
  'layer_id',
  'seed',
  'pad_id',
  'kernel_size',
  'signed_sqrt',
];
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
  if (!Array.isArray(v) || v.length === 0)
    throw new InputError(where, `${show(v)} must be a non-empty array of integers >= ${min}`, `config.${key}`);
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min)
      throw new InputError(where, `${show(x)} must be an integer >= ${min}`, `config.${key}[${i}]`);
  });
  return v as number[];
}

export function parseForwardConfig(raw: unknown, where: string): ForwardConfig {
  if (!isObject(raw))
    throw new InputError(
      where,
      `${raw === undefined ? 'missing' : show(raw)}: expected an object with ${CONFIG_KEYS.join(', ')}`,
      'config',
    );
  for (const k of Object.keys(raw)) {
    if (!CONFIG_KEYS.includes(k) && !IGNORED_CONFIG_KEYS.includes(k))
      throw new InputError(where, `unknown field; allowed: ${CONFIG_KEYS.join(', ')}`, `config.${k}`);
  }
  const maxNgram = int(raw, 'max_ngram_size', where, 2, 3);
  const headsPerNgram = int(raw, 'n_head_per_ngram', where, 1, 8);
  const baseSizes = intList(raw, 'engram_vocab_size', where, 1);
  if (baseSizes.length !== maxNgram - 1) {
    throw new InputError(
      where,
      `${show(baseSizes)} must hold ${maxNgram - 1} base sizes (orders 2..${maxNgram})`,
      'config.engram_vocab_size',
    );
  }
  const layerIds = intList(raw, 'layer_ids', where, 0);
  layerIds.forEach((id, i) => {
    if (layerIds.indexOf(id) !== i)
      throw new InputError(where, `layer id ${id} appears twice`, `config.layer_ids[${i}]`);
  });
  const layerId = int(raw, 'layer_id', where, 0);
  if (!layerIds.includes(layerId))
    throw new InputError(where, `${layerId} is not one of layer_ids ${show(layerIds)}`, 'config.layer_id');
  const signedSqrt = raw.signed_sqrt ?? true;
  if (typeof signedSqrt !== 'boolean')
    throw new InputError(where, `${show(signedSqrt)} must be true or false`, 'config.signed_sqrt');
  const sizes = tableSizes(baseSizes, layerIds, maxNgram, headsPerNgram).get(layerId)!.flat();
  const cfg: ForwardConfig = {
    d: int(raw, 'hidden_size', where, 1),
    hc: int(raw, 'hc_mult', where, 1, 1),
    kernel: int(raw, 'kernel_size', where, 1, 4),
    maxNgram,
    headsPerNgram,
    dimPerNgram: int(raw, 'n_embed_per_ngram', where, 1),
    sizes,
    baseSizes,
    layerIds,
    layerId,
    seed: int(raw, 'seed', where, 0, 0),
    signedSqrt,
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

/**
 * input_ids [B][T] -> per-table hash ids [B*T*(N-1)K] of config.layer_id through the shared
 * engram-hash resolver (docs/SPEC.md sections 2 and 6): vocab / vocab_size / multipliers from the top level
 * of X, the hashing fields from X.config (its vocab_size, if any, is the backbone's, not |V'|).
 */
function hashInputIds(x: Json, where: string, layerId: number) {
  const req = {
    ...(x.config as Json),
    vocab: x.vocab,
    vocab_size: x.vocab_size,
    multipliers: x.multipliers,
    input_ids: x.input_ids,
  };
  const r = resolveHashRequest(req, where);
  return { B: r.B, T: r.T, hashIds: hashRequestLayer(r, layerId) };
}

/** hash_ids [B][T][(N-1)K] given directly: each index in [0, p) of its table. */
function givenHashIds(x: Json, cfg: ForwardConfig, where: string) {
  const t = intTensor(x.hash_ids, 3, where, 'hash_ids');
  const [B, T, J] = t.shape;
  const K = cfg.headsPerNgram;
  if (J !== cfg.sizes.length)
    throw new InputError(where, `last axis ${J} must be (N-1)K = ${cfg.sizes.length}`, 'hash_ids');
  t.data.forEach((v, i) => {
    const j = i % J,
      p = cfg.sizes[j];
    if (v < 0 || v >= p) {
      const at = `hash_ids[${Math.floor(i / (T * J))}][${Math.floor(i / J) % T}][${j}]`;
      throw new InputError(
        where,
        `${v} is outside [0, ${p}): table of order ${2 + Math.floor(j / K)}, head ${j % K}`,
        at,
      );
    }
  });
  return { B, T, hashIds: Int32Array.from(t.data) };
}

/** The command's work, on parsed JSON (wFile, xFile name the sources in error lines). */
export function engramForward(wRaw: unknown, wFile: string, xRaw: unknown, xFile: string): EngramForwardOutput {
  if (!isObject(xRaw))
    throw new InputError(
      xFile,
      `expected an object with config, input_ids or hash_ids, hidden_states; got ${show(xRaw)}`,
    );
  for (const k of Object.keys(xRaw)) {
    if (!TOP_KEYS.includes(k)) throw new InputError(xFile, `unknown field; allowed: ${TOP_KEYS.join(', ')}`, k);
  }
  const cfg = parseForwardConfig(xRaw.config, xFile);
  if ((xRaw.input_ids === undefined) === (xRaw.hash_ids === undefined)) {
    throw new InputError(xFile, 'give exactly one of input_ids [B][T] and hash_ids [B][T][(N-1)K]', 'input_ids');
  }
  const { B, T, hashIds } =
    xRaw.hash_ids !== undefined ? givenHashIds(xRaw, cfg, xFile) : hashInputIds(xRaw, xFile, cfg.layerId);
  if (xRaw.hidden_states === undefined)
    throw new InputError(xFile, 'missing; expected [B][T][hc_mult][hidden_size] numbers', 'hidden_states');
  const h = parseTensor(xRaw.hidden_states, xFile, 'hidden_states');
  const want = [B, T, cfg.hc, cfg.d];
  if (h.shape.join() !== want.join()) {
    throw new InputError(
      xFile,
      `shape [${h.shape.join(', ')}] does not match [B, T, hc_mult, hidden_size] = [${want.join(', ')}]`,
      'hidden_states',
    );
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
    .description(
      'one Engram layer in float64 on reference weights (docs/SPEC.md section 6); prints {gates, value, engram_out}',
    )
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
