/**
 * Vocabularies as the compression map of docs/SPEC.md section 1 sees them: for every raw id, the text that
 * decoding that single id gives (special tokens kept) and the tokenizer's own token string.
 *
 * Gaps (ids below the largest id that no token uses) get text = raw = ''. That is what the
 * reference sees: it iterates over every id and Hugging Face's decode of an unknown id drops it
 * and returns ''; '' has no U+FFFD and normalises to '', so its key is the text '' itself. All
 * gaps therefore share one compressed id, as in the reference (a real token merges with them only
 * if it too decodes to '').
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { InputError, show } from '../contract/errors.js';
import { bytesToByteLevel, decodeByteLevelToken } from './bytelevel.js';

export interface VocabEntry {
  /** decoded text of this single id (special tokens kept; lossy UTF-8, BOM kept) */
  text: string;
  /** the tokenizer's own token string (byte-level alphabet for byte-level BPE) */
  raw: string;
}

/** Indexed by raw id; length |V| = max id + 1 (special and added tokens included). */
export type Vocab = VocabEntry[];

/** Ids past this are refused: a dense table of 16M entries is already far beyond real tokenizers. */
const MAX_ID = 2 ** 24 - 1;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkId(id: unknown, where: string, field: string): number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_ID) {
    throw new InputError(where, `token id ${show(id)} is not allowed: ids are integers in [0, ${MAX_ID}]`, field);
  }
  return id;
}

/** Spec 1 defines decoding for byte-level BPE only; anything else would silently give wrong keys. */
function checkByteLevel(root: Json, where: string): void {
  const model = root.model;
  if (!isObject(model))
    throw new InputError(where, 'missing "model" object: expected a Hugging Face tokenizer.json', 'model');
  if (model.type !== undefined && model.type !== 'BPE') {
    throw new InputError(
      where,
      `model type ${show(model.type)} is not supported; allowed: "BPE" (byte-level)`,
      'model.type',
    );
  }
  const decoder = root.decoder;
  const type = isObject(decoder) ? decoder.type : decoder == null ? 'none' : decoder;
  if (type !== 'ByteLevel') {
    throw new InputError(
      where,
      `decoder ${show(type)} is not supported; allowed: "ByteLevel" (byte-level BPE, docs/SPEC.md section 1)`,
      'decoder.type',
    );
  }
}

/** Token string per id from model.vocab (token -> id), then added_tokens, which take precedence as in HF's decode. */
function tokenStrings(root: Json, where: string): (string | undefined)[] {
  const vocab = (root.model as Json).vocab;
  if (!isObject(vocab))
    throw new InputError(where, 'model.vocab must be an object mapping token string -> id', 'model.vocab');
  const tokens: (string | undefined)[] = [];
  for (const [token, rawId] of Object.entries(vocab)) {
    const id = checkId(rawId, where, `model.vocab[${show(token)}]`);
    const prev = tokens[id];
    if (prev !== undefined) {
      throw new InputError(
        where,
        `id ${id} is used by both ${show(prev)} and ${show(token)}; ids must be unique`,
        'model.vocab',
      );
    }
    tokens[id] = token;
  }
  const added = root.added_tokens ?? [];
  if (!Array.isArray(added)) throw new InputError(where, 'added_tokens must be an array', 'added_tokens');
  const seen = new Set<number>();
  added.forEach((t: unknown, i) => {
    const field = `added_tokens[${i}]`;
    if (!isObject(t) || typeof t.content !== 'string') {
      throw new InputError(where, `${show(t)} is not an added token: expected {id, content}`, field);
    }
    const id = checkId(t.id, where, `${field}.id`);
    if (seen.has(id)) throw new InputError(where, `id ${id} appears twice in added_tokens`, `${field}.id`);
    seen.add(id);
    tokens[id] = t.content;
  });
  return tokens;
}

/**
 * A Hugging Face tokenizer.json (byte-level BPE: DeepSeek-V3, GPT-2 style, our own trainer) as a
 * Vocab. Each id decodes as HF's ByteLevel decoder does (docs/SPEC.md section 1), added tokens included.
 * Tokenizer-config options such as clean_up_tokenization_spaces are not in tokenizer.json and are
 * not applied.
 */
export function vocabFromHfTokenizerJson(json: unknown, where: string): Vocab {
  if (!isObject(json)) throw new InputError(where, `expected a tokenizer.json object, got ${show(json)}`);
  checkByteLevel(json, where);
  const tokens = tokenStrings(json, where);
  const vocab: Vocab = new Array(tokens.length);
  for (let id = 0; id < tokens.length; id++) {
    const raw = tokens[id];
    vocab[id] = raw === undefined ? { text: '', raw: '' } : { text: decodeByteLevelToken(raw), raw };
  }
  return vocab;
}

// gpt-tokenizer's data modules are large (1-2.5 MB of JS): load them only when asked for.
const require = createRequire(import.meta.url);

type RankData = (string | number[])[];
type ParamsFn = (ranks: RankData) => { specialTokensEncoder: Map<string, number> };

const GPT_ENCODINGS = {
  cl100k: { module: 'cl100k_base', params: 'Cl100KBase' },
  o200k: { module: 'o200k_base', params: 'O200KBase' },
} as const;

/**
 * cl100k / o200k from gpt-tokenizer's rank tables (rank = id; each entry is the token's text when
 * its bytes are valid UTF-8, else the bytes) plus its special tokens at its ids. raw is the
 * byte-level string of the token's bytes, so tokens holding part of a UTF-8 sequence get distinct
 * raw keys; text is the lossy UTF-8 decoding of those bytes (BOM kept).
 */
export function vocabFromGptTokenizer(name: 'cl100k' | 'o200k'): Vocab {
  const enc = GPT_ENCODINGS[name];
  const ranks = (require(`gpt-tokenizer/bpeRanks/${enc.module}`) as { default: RankData }).default;
  const params = require(`gpt-tokenizer/encodingParams/${enc.module}`) as Record<string, ParamsFn>;
  const specials = params[enc.params](ranks).specialTokensEncoder;

  let size = ranks.length;
  for (const id of specials.values()) size = Math.max(size, id + 1);
  const vocab: Vocab = new Array(size);
  for (let id = 0; id < size; id++) vocab[id] = { text: '', raw: '' };
  ranks.forEach((value, id) => {
    // forEach skips holes in the table: those ids stay gaps.
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
    vocab[id] = { text: bytes.toString('utf8'), raw: bytesToByteLevel(bytes) };
  });
  for (const [token, id] of specials) {
    if (id < ranks.length && ranks[id] !== undefined) {
      throw new Error(`gpt-tokenizer ${name}: special token ${token} reuses rank ${id}`);
    }
    vocab[id] = { text: token, raw: token };
  }
  return vocab;
}

const ALLOWED =
  'allowed: cl100k, o200k, hf:PATH (a Hugging Face tokenizer.json), bpe:PATH (a tokenizer.json saved by our BPE trainer); PATH may be a folder holding tokenizer.json';

function readJson(path: string): { file: string; json: unknown } {
  let file = path;
  let text: string;
  try {
    if (statSync(path).isDirectory()) file = join(path, 'tokenizer.json');
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new InputError(file, `cannot read the tokenizer file (${code}); ${ALLOWED}`);
  }
  try {
    return { file, json: JSON.parse(text) };
  } catch (e) {
    throw new InputError(file, `malformed JSON (${(e as Error).message}); expected a Hugging Face tokenizer.json`);
  }
}

/** `cl100k`, `o200k`, `hf:PATH` or `bpe:PATH` (our trainer writes HF-compatible byte-level BPE: same loader). */
export function loadVocab(spec: string, where = 'vocab'): Vocab {
  if (spec === 'cl100k' || spec === 'o200k') return vocabFromGptTokenizer(spec);
  const m = /^(hf|bpe):(.+)$/s.exec(spec);
  if (!m) throw new InputError(where, `unknown vocabulary ${show(spec)}; ${ALLOWED}`);
  const { file, json } = readJson(m[2]);
  return vocabFromHfTokenizerJson(json, file);
}
