import { describe, expect, it } from 'vitest';
import { hashRequestLayer, resolveHashRequest } from '../../src/hash/request.js';
import { hashIdsBigInt } from '../../src/hash/reference.js';
import { inputErrorLine } from '../helpers/input-error.js';

const WHERE = 'req.json';

function resolve(req: Record<string, unknown>) {
  return resolveHashRequest(req, WHERE);
}

/** [B*T*W] -> [B][T][W] */
function nest(flat: ArrayLike<number>, B: number, T: number, W: number): number[][][] {
  return Array.from({ length: B }, (_, b) =>
    Array.from({ length: T }, (_, t) => Array.from({ length: W }, (_, k) => flat[(b * T + t) * W + k])),
  );
}

/** Deterministic test data (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE = {
  pad_id: 2,
  max_ngram_size: 3,
  n_head_per_ngram: 2,
  engram_vocab_size: [1000, 1000],
  layer_ids: [1],
  seed: 0,
};

describe('resolveHashRequest: known answers', () => {
  it('derives the spec 2.2 multipliers from vocab_size, seed and layer id', () => {
    const cases: [number, number, number, string[]][] = [
      [50000, 0, 1, ['151872553228291', '9591860036773', '71266316989379']],
      [98765, 5, 2, ['10061439006975', '35240093040053', '6505288336037']],
      [1000, 11, 0, ['1185850812994185', '4605025475050781', '5547843131917349']],
    ];
    for (const [vocab_size, seed, layer, want] of cases) {
      const r = resolve({ ...BASE, vocab_size, seed, layer_ids: [layer], input_ids: [[0]] });
      expect(r.vocabSizeCompressed).toBe(vocab_size);
      expect(r.layers.get(layer)?.multipliers.map(String)).toEqual(want);
    }
  });

  it('defaults to N = 3, K = 8, seed 0 (spec 2) and ignores keys it does not know', () => {
    const r = resolve({
      vocab_size: 50000,
      pad_id: 0,
      engram_vocab_size: [100, 100],
      layer_ids: [1],
      input_ids: [[0]],
      n_embed_per_ngram: 512,
    });
    expect([r.maxNgram, r.headsPerNgram]).toEqual([3, 8]);
    expect(r.layers.get(1)?.multipliers[0]).toBe(151872553228291n);
    expect(r.layers.get(1)?.tableSizes[0]).toHaveLength(8);
  });

  it('walks primes across layers in layer_ids order (spec 2.3, worked by hand)', () => {
    const req = { ...BASE, vocab_size: 100, engram_vocab_size: [10, 20], input_ids: [[0]] };
    const a = resolve({ ...req, layer_ids: [0, 1] }).layers;
    expect(a.get(0)?.tableSizes).toEqual([
      [11, 13],
      [23, 29],
    ]);
    expect(a.get(1)?.tableSizes).toEqual([
      [17, 19],
      [31, 37],
    ]);
    const b = resolve({ ...req, layer_ids: [1, 0] });
    expect([...b.layers.keys()]).toEqual([1, 0]);
    expect(b.layers.get(1)?.tableSizes).toEqual([
      [11, 13],
      [23, 29],
    ]);
  });

  it('compresses raw ids and pad_id with a vocab (spec 1, worked by hand)', () => {
    const vocab = [
      { text: 'The', raw: 'The' }, // 0 -> "the"      c0
      { text: 'the', raw: 'the' }, // 1 -> "the"      c0
      { text: ' the', raw: 'Ġthe' }, // 2 -> stripped  c0
      { text: '\ufffd', raw: 'Ã' }, // 3 -> raw key   c1
      { text: '\ufffd', raw: 'Ä' }, // 4 -> raw key   c2
      { text: 'A', raw: 'A' }, // 5 -> "a"            c3
      { text: '\ufffd', raw: 'a' }, // 6 -> raw "a": one key space with 5, c3
      { text: '  ', raw: 'ĠĠ' }, // 7 -> " " kept     c4
      { text: '', raw: null }, // 8 -> gap, key ""     c5
      { text: 'é', raw: 'Ã©' }, // 9 -> "e"           c6
      { text: 'ΟΔΟΣ', raw: 'x' }, // 10 -> "οδοσ" (no final sigma) c7
      { text: 'οδοσ', raw: 'y' }, // 11 -> c7
      { text: 'οδος', raw: 'z' }, // 12 -> "οδος"     c8
    ];
    const r = resolve({
      ...BASE,
      vocab,
      pad_id: 2,
      input_ids: [
        [0, 1, 2, -1, 12],
        [11, 10, 6, 5, 3],
      ],
    });
    expect(r.vocabSizeCompressed).toBe(9);
    expect(r.pad).toBe(0);
    expect([r.B, r.T]).toEqual([2, 5]);
    expect(Array.from(r.compressedIds)).toEqual([0, 0, 0, -1, 8, 7, 7, 3, 3, 1]);
    expect(resolve({ ...BASE, vocab, pad_id: 9, vocab_size: 9, input_ids: [[8, 7, 4]] }).pad).toBe(6);
    expect(Array.from(resolve({ ...BASE, vocab, pad_id: -5, input_ids: [[8, 7, 4]] }).compressedIds)).toEqual([
      5, 4, 2,
    ]);
    expect(resolve({ ...BASE, vocab, pad_id: -5, input_ids: [[8]] }).pad).toBe(-5);
  });

  it('hashes as numpy does in the reference (values computed with numpy int64)', () => {
    const r = resolve({
      ...BASE,
      vocab_size: 50000,
      input_ids: [
        [5, 7, 9],
        [1, -3, 4],
      ],
    });
    expect(nest(hashRequestLayer(r, 1), 2, 3, 4)).toEqual([
      [
        [208, 384, 967, 101],
        [748, 745, 363, 325],
        [776, 180, 740, 465],
      ],
      [
        [429, 430, 782, 895],
        [785, 596, 752, 548],
        [621, 956, 86, 282],
      ],
    ]);
  });

  it('takes tables past the fast path (and past 2^31) through BigInt, still as numpy does', () => {
    const req = { vocab_size: 98765, pad_id: -1, max_ngram_size: 3, n_head_per_ngram: 1, seed: 5, layer_ids: [2] };
    const r = resolve({ ...req, engram_vocab_size: [2 ** 31, 100000000], input_ids: [[98764, 0, -7, 31337]] });
    expect(r.layers.get(2)?.tableSizes).toEqual([[2147483659], [100000007]]);
    const h = hashRequestLayer(r, 2);
    expect(h).toBeInstanceOf(Float64Array);
    expect(nest(h, 1, 4, 2)).toEqual([
      [
        [464835644, 90239699],
        [177684538, 21526991],
        [948515398, 18328037],
        [552309946, 31056063],
      ],
    ]);
  });
});

describe('resolveHashRequest: against the BigInt reference', () => {
  it('agrees on random requests (negative ids, several layers, orders and heads)', () => {
    const rand = rng(7);
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    for (let trial = 0; trial < 12; trial++) {
      const V = [7, 1000, 98627, 129280][trial % 4];
      const N = int(2, 5),
        K = int(1, 4),
        B = int(1, 3),
        T = int(1, 9);
      const input_ids = Array.from({ length: B }, () => Array.from({ length: T }, () => int(-40, V - 1)));
      const req = {
        vocab_size: V,
        pad_id: int(-3, V - 1),
        max_ngram_size: N,
        n_head_per_ngram: K,
        engram_vocab_size: Array.from({ length: N - 1 }, () => int(1, 3_000_000)),
        layer_ids: [int(0, 9), int(10, 19), int(20, 40)].slice(0, int(1, 3)),
        seed: int(0, 1000),
        input_ids,
      };
      const r = resolve(req);
      expect(Array.from(r.compressedIds)).toEqual(input_ids.flat());
      for (const [id, layer] of r.layers) {
        const want = hashIdsBigInt(input_ids, req.pad_id, layer.multipliers, layer.tableSizes);
        expect(nest(hashRequestLayer(r, id), B, T, (N - 1) * K)).toEqual(want);
      }
    }
  });
});

describe('resolveHashRequest: explicit multipliers', () => {
  it("uses them as given; without vocab or vocab_size |V'| is null and ids are 32-bit", () => {
    const r = resolve({ ...BASE, multipliers: { '1': ['1', '3', 5] }, input_ids: [[2 ** 31 - 1, -(2 ** 31)]] });
    expect(r.vocabSizeCompressed).toBeNull();
    expect(r.layers.get(1)?.multipliers).toEqual([1n, 3n, 5n]);
    expect(Array.from(r.compressedIds)).toEqual([2 ** 31 - 1, -(2 ** 31)]);
  });

  it("mixes explicit and derived multipliers when |V'| is known", () => {
    const r = resolve({
      ...BASE,
      vocab_size: 50000,
      layer_ids: [1, 4],
      multipliers: { '4': ['9223372036854775807', '1', '1'] },
      input_ids: [[1]],
    });
    expect(r.layers.get(1)?.multipliers[0]).toBe(151872553228291n);
    expect(r.layers.get(4)?.multipliers).toEqual([2n ** 63n - 1n, 1n, 1n]);
  });
});

describe('resolveHashRequest: bad requests name the field, the value and what is allowed', () => {
  const ok = { ...BASE, vocab_size: 10, input_ids: [[1, 2, 3]] };
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      "id >= |V'|",
      { ...ok, input_ids: [[1], [10]] },
      /^req\.json: input_ids\[1\]\[0\]: 10 is not allowed.*\[-2147483648, 10\)/,
    ],
    [
      'id >= |V| with a vocab',
      { ...ok, vocab_size: undefined, vocab: [{ text: 'a', raw: 'a' }], pad_id: 0, input_ids: [[0, 1]] },
      /input_ids\[0\]\[1\]: 1 is not allowed.*\|V\| = 1/,
    ],
    ['non-integer id', { ...ok, input_ids: [[1, 2.5]] }, /input_ids\[0\]\[1\]: 2\.5 is not allowed/],
    ['ragged rows', { ...ok, input_ids: [[1, 2], [3]] }, /input_ids\[1\]: row has 1 ids, row 0 has 2/],
    ['no rows', { ...ok, input_ids: [] }, /input_ids: is empty/],
    [
      'non-integer size',
      { ...ok, engram_vocab_size: [1000, 99.5] },
      /engram_vocab_size\[1\]: 99\.5 is not allowed: expected an integer/,
    ],
    [
      'sizes per order',
      { ...ok, engram_vocab_size: [1000] },
      /engram_vocab_size: \[1000\] is not allowed: expected 2 base sizes/,
    ],
    ['duplicate layer ids', { ...ok, layer_ids: [1, 3, 1] }, /layer_ids\[2\]: 1 appears twice/],
    ['negative layer id', { ...ok, layer_ids: [-1] }, /layer_ids\[0\]: -1 is not allowed/],
    [
      'missing vocab_size',
      { ...ok, vocab_size: undefined },
      /^req\.json: vocab_size: missing: layer 1 has no multipliers/,
    ],
    [
      'multipliers for some layers only',
      { ...ok, vocab_size: undefined, layer_ids: [1, 2], multipliers: { '1': ['1', '3', '5'] } },
      /multipliers\["2"\]: missing/,
    ],
    [
      'even multiplier',
      { ...ok, multipliers: { '1': ['1', '4', '5'] } },
      /multipliers\["1"\]\[1\]: multiplier 4 must be an odd integer/,
    ],
    [
      'multiplier as an imprecise number',
      { ...ok, multipliers: { '1': ['1', '3', 2 ** 60] } },
      /multipliers\["1"\]\[2\]: .* expected a decimal string/,
    ],
    [
      'multipliers for an unknown layer',
      { ...ok, multipliers: { '7': ['1', '3', '5'] } },
      /multipliers\["7"\]: key "7" is not allowed: expected one of layer_ids \[1\]/,
    ],
    ['wrong multiplier count', { ...ok, multipliers: { '1': ['1'] } }, /multipliers\["1"\]: expected 3 multipliers/],
    [
      'vocab_size disagrees with vocab',
      { ...ok, vocab: [{ text: 'a', raw: 'a' }], pad_id: 0, input_ids: [[0]] },
      /vocab_size: 10 is not allowed: the vocab compresses to \|V'\| = 1/,
    ],
    [
      'bad vocab entry',
      { ...ok, vocab_size: undefined, vocab: [{ text: 'a', raw: 'a' }, { raw: 'b' }] },
      /vocab\[1\]: .* expected \{text: string, raw: string\}/,
    ],
    ['unknown vocab spec', { ...ok, vocab_size: undefined, vocab: 'gpt5' }, /vocab: unknown vocabulary "gpt5"/],
    ['missing pad_id', { ...ok, pad_id: undefined }, /pad_id: missing/],
    ['pad_id out of range', { ...ok, pad_id: 10 }, /pad_id: 10 is not allowed/],
    ['max_ngram_size 1', { ...ok, max_ngram_size: 1 }, /max_ngram_size: 1 is not allowed/],
    ['zero heads', { ...ok, n_head_per_ngram: 0 }, /n_head_per_ngram: 0 is not allowed/],
    ['negative seed', { ...ok, seed: -1 }, /seed: -1 is not allowed/],
    [
      'not an object',
      [1] as unknown as Record<string, unknown>,
      /^req\.json: \[1\] is not allowed: expected a request object/,
    ],
  ];
  it.each(cases)('%s', (_, req, pattern) => {
    expect(inputErrorLine(() => resolve(req))).toMatch(pattern);
  });
});
