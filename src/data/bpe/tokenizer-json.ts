/**
 * Hugging Face tokenizer.json (format "1.0") for a byte-level BPE: what `tokenizers`'
 * Tokenizer.from_file loads as a GPT-2 style tokenizer. Merges use the classic "left right"
 * string form (byte-level strings contain no space); the loader also accepts the newer
 * [left, right] array form.
 */
import { InputError, show } from '../../contract/errors.js';
import { BpeTokenizer, EOT_TOKEN } from './encode.js';

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

export interface TokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: Array<{
    id: number;
    content: string;
    single_word: boolean;
    lstrip: boolean;
    rstrip: boolean;
    normalized: boolean;
    special: boolean;
  }>;
  normalizer: null;
  pre_tokenizer: typeof BYTE_LEVEL;
  post_processor: null;
  decoder: typeof BYTE_LEVEL;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: null;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: false;
    byte_fallback: false;
    vocab: Record<string, number>;
    merges: string[];
  };
}

export function toTokenizerJson(tok: BpeTokenizer): TokenizerJson {
  const vocab: Record<string, number> = {};
  for (let id = 0; id < tok.vocabSize; id++) vocab[tok.tokenString(id)] = id;
  const pairs = tok.mergePairs();
  const merges: string[] = [];
  for (let r = 0; r < pairs.length; r += 2)
    merges.push(`${tok.tokenString(pairs[r])} ${tok.tokenString(pairs[r + 1])}`);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: tok.eotId,
        content: EOT_TOKEN,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: { ...BYTE_LEVEL },
    post_processor: null,
    decoder: { ...BYTE_LEVEL },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Load a byte-level BPE tokenizer.json (parsed JSON). Rejects what this encoder would not
 * reproduce: a normalizer, a pre-tokenizer other than ByteLevel with the GPT-2 regex and no
 * prefix space, dropout, subword prefixes/suffixes. Needs `<|endoftext|>` and all 256 bytes.
 */
export function fromTokenizerJson(json: unknown, where: string): BpeTokenizer {
  const fail = (field: string, msg: string): never => {
    throw new InputError(where, msg, field);
  };
  if (!isObject(json)) return fail('', `expected a tokenizer.json object, got ${show(json)}`);
  if (json.version !== '1.0') fail('version', `version ${show(json.version)} is not supported: expected "1.0"`);
  if (json.normalizer != null)
    fail('normalizer', `normalizer ${show(json.normalizer)} is not supported: expected null`);
  const pre = json.pre_tokenizer;
  if (!isObject(pre) || pre.type !== 'ByteLevel' || pre.add_prefix_space === true || pre.use_regex === false) {
    fail(
      'pre_tokenizer',
      `pre_tokenizer ${show(pre)} is not supported: expected ByteLevel with add_prefix_space false, use_regex true`,
    );
  }
  const model = json.model;
  if (!isObject(model) || (model.type !== undefined && model.type !== 'BPE'))
    fail('model', `model ${show(model)} is not a BPE model`);
  const m = model as Record<string, unknown>;
  if (m.dropout != null && m.dropout !== 0)
    fail('model.dropout', `dropout ${show(m.dropout)} is not supported: expected null`);
  for (const k of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    if (m[k] != null && m[k] !== '') fail(`model.${k}`, `${k} ${show(m[k])} is not supported: expected null`);
  }
  const tokens = readVocab(m.vocab, json.added_tokens, fail);
  const idOf = new Map(tokens.map((t, i) => [t, i]));
  const merges = readMerges(m.merges, idOf, fail);
  const eotId = idOf.get(EOT_TOKEN);
  if (eotId === undefined) return fail('added_tokens', `no ${EOT_TOKEN} token`);
  return new BpeTokenizer({ tokens, merges, eotId }, where);
}

type Fail = (field: string, msg: string) => never;

/** Model vocab plus added tokens, as an id -> string table; ids must be 0..n-1 without gaps. */
function readVocab(vocab: unknown, added: unknown, fail: Fail): string[] {
  if (!isObject(vocab)) return fail('model.vocab', `vocab ${show(vocab)} is not an object of token -> id`);
  const tokens: string[] = [];
  const put = (t: string, id: unknown, field: string) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0)
      fail(field, `id ${show(id)} of token ${show(t)} is not a non-negative integer`);
    const i = id as number;
    if (tokens[i] !== undefined && tokens[i] !== t)
      fail(field, `id ${i} is used by both ${show(tokens[i])} and ${show(t)}`);
    tokens[i] = t;
  };
  for (const [t, id] of Object.entries(vocab)) put(t, id, `model.vocab[${JSON.stringify(t)}]`);
  if (added !== undefined && !Array.isArray(added)) fail('added_tokens', `added_tokens ${show(added)} is not an array`);
  ((added as unknown[] | undefined) ?? []).forEach((a, k) => {
    if (!isObject(a) || typeof a.content !== 'string')
      return fail(`added_tokens[${k}]`, `${show(a)} is not {id, content}`);
    put(a.content, a.id, `added_tokens[${k}].id`);
  });
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === undefined)
      fail('model.vocab', `ids have a gap: no token has id ${i} (max id ${tokens.length - 1})`);
  }
  return tokens;
}

function readMerges(merges: unknown, idOf: Map<string, number>, fail: Fail): Int32Array {
  if (!Array.isArray(merges)) return fail('model.merges', `merges ${show(merges)} is not an array`);
  const out = new Int32Array(merges.length * 2);
  merges.forEach((mg: unknown, r) => {
    let parts: unknown[] | undefined;
    if (typeof mg === 'string') parts = mg.split(' ');
    else if (Array.isArray(mg)) parts = mg;
    if (parts === undefined || parts.length !== 2)
      return fail(`model.merges[${r}]`, `merge ${show(mg)} is not "left right" or [left, right]`);
    for (let k = 0; k < 2; k++) {
      const id = typeof parts[k] === 'string' ? idOf.get(parts[k] as string) : undefined;
      if (id === undefined)
        return fail(`model.merges[${r}]`, `merge ${show(mg)} uses ${show(parts[k])}, which is not in the vocabulary`);
      out[2 * r + k] = id;
    }
  });
  return out;
}
