/**
 * The built CLI end to end: `engram-sweep engram-forward --weights W.json --input X.json`
 * (docs/SPEC.md section 6). Expected values come from the float64 layer fed directly (no JSON, no name
 * mapping) and from hash ids computed with the BigInt reference and the spec's known multipliers.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashIdsBigInt } from '../../src/hash/reference.js';
import { engram64, lookupRows64, type Engram64Weights } from '../../src/model/engram64.js';
import { Rng } from '../../src/util/rng.js';

const root = resolve(import.meta.dirname, '../..');
/** ENGRAM_SWEEP_CLI runs another entry point (e.g. an installed bin); default: the fresh build. */
const CLI = process.env.ENGRAM_SWEEP_CLI ?? join(root, 'dist/cli/bin.js');
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'engram-forward-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'engram-forward', ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function write(name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

// d = 4, hc = 2, N = 3, K = 2, d_order = 4 (D_h = 2, d_mem = 8), kernel 3.
// layer_ids [2, 0] with base sizes [11, 13]: layer 2 takes 11, 13 | 17, 19; layer 0 then gets
// 23, 29 | 31, 37 (spec 2.3 by hand).
const config = {
  hidden_size: 4,
  hc_mult: 2,
  max_ngram_size: 3,
  n_head_per_ngram: 2,
  n_embed_per_ngram: 4,
  engram_vocab_size: [11, 13],
  layer_ids: [2, 0],
  layer_id: 0,
  seed: 11,
  pad_id: 3,
  kernel_size: 3,
  signed_sqrt: true,
};
const sizes = [23, 29, 31, 37];
// spec 2.2 known answer: |V'| = 1000, seed 11, layer 0
const mults = [1185850812994185n, 4605025475050781n, 5547843131917349n];
const B = 2,
  T = 5,
  d = 4,
  hc = 2,
  dMem = 8,
  kernel = 3;

const rng = new Rng(2024);
const rand = (n: number, mean = 0) => Float64Array.from(rng.normal(new Float32Array(n), 0.5), (x) => x + mean);
const rows = sizes.reduce((a, b) => a + b, 0);
const w: Engram64Weights = {
  d,
  dMem,
  hc,
  kernel,
  headDim: 2,
  sizes,
  table: rand(rows * 2),
  value: rand(d * dMem),
  valueBias: rand(d),
  key: [rand(d * dMem), rand(d * dMem)],
  keyBias: [rand(d), rand(d)],
  keyNorm: [rand(d, 1), rand(d, 1)],
  queryNorm: [rand(d, 1), rand(d, 1)],
  convNorm: [rand(d, 1), rand(d, 1)],
  conv: rand(hc * d * kernel),
};
const chunk = (a: Float64Array, n: number) =>
  Array.from({ length: a.length / n }, (_, i) => Array.from(a.subarray(i * n, i * n + n)));
const weightsJson = (): Record<string, unknown> => ({
  'multi_head_embedding.embedding.weight': chunk(w.table, 2),
  'value_proj.weight': chunk(w.value, dMem),
  'value_proj.bias': Array.from(w.valueBias),
  ...Object.fromEntries(
    [0, 1].flatMap((g) => [
      [`key_projs.${g}.weight`, chunk(w.key[g], dMem)],
      [`key_projs.${g}.bias`, Array.from(w.keyBias[g])],
      [`norm1.${g}.weight`, Array.from(w.keyNorm[g])],
      [`norm2.${g}.weight`, Array.from(w.queryNorm[g])],
      [`short_conv.norms.${g}.weight`, Array.from(w.convNorm[g])],
    ]),
  ),
  'short_conv.conv.weight': chunk(w.conv, kernel).map((r) => [r]), // [hc*d, 1, kernel]
});

const inputIds = [
  [5, 17, 999, 5, 17],
  [0, -1, 42, 42, 7],
];
const hidden = Array.from({ length: B }, () => Array.from({ length: T }, () => chunk(rand(hc * d), d)));
const hashIds = hashIdsBigInt(inputIds, 3, mults, [
  [23, 29],
  [31, 37],
]); // [B][T][4]

describe('engram-forward', () => {
  it('prints {gates, value, engram_out} equal to the float64 layer, from input_ids and from hash_ids', () => {
    const W = write('W.json', weightsJson());
    const fromIds = cli(
      '--weights',
      W,
      '--input',
      write('X1.json', { config, vocab_size: 1000, input_ids: inputIds, hidden_states: hidden }),
    );
    expect(fromIds.stderr).toBe('');
    expect(fromIds.code).toBe(0);
    const out = JSON.parse(fromIds.stdout);
    expect(Object.keys(out).sort()).toEqual(['engram_out', 'gates', 'value']);
    expect([out.gates.length, out.gates[0].length, out.gates[0][0].length]).toEqual([B, T, hc]);
    expect([
      out.engram_out.length,
      out.engram_out[1].length,
      out.engram_out[1][4].length,
      out.engram_out[1][4][1].length,
    ]).toEqual([B, T, hc, d]);

    const e = lookupRows64(w, hashIds.flat(2), B * T);
    const want = engram64(Float64Array.from(hidden.flat(3)), e, w, B, T, { maxNgram: 3, signedSqrt: true });
    const close = (got: number[], ref: Float64Array) =>
      ref.forEach((x, i) => expect(Math.abs(got[i] - x)).toBeLessThan(1e-12));
    close(out.gates.flat(2), want.gates);
    close(out.value.flat(3), want.value);
    close(out.engram_out.flat(3), want.out);

    const fromHash = cli(
      '--weights',
      W,
      '--input',
      write('X2.json', { config, hash_ids: hashIds, hidden_states: hidden }),
    );
    expect(fromHash.code).toBe(0);
    expect(JSON.parse(fromHash.stdout)).toEqual(out);

    const plain = cli(
      '--weights',
      W,
      '--input',
      write('X3.json', { config: { ...config, signed_sqrt: false }, hash_ids: hashIds, hidden_states: hidden }),
    );
    expect(JSON.parse(plain.stdout).gates).not.toEqual(out.gates);
  });

  const badCases: [string, () => string[], RegExp][] = [
    [
      'a missing weights file',
      () => [
        '--weights',
        join(dir, 'nope.json'),
        '--input',
        write('X.json', { config, hash_ids: hashIds, hidden_states: hidden }),
      ],
      /nope\.json: file not found$/,
    ],
    [
      'malformed JSON',
      () => ['--weights', write('W.json', weightsJson()), '--input', write('bad.json', '{"config": ')],
      /bad\.json: malformed JSON/,
    ],
    [
      'a wrong weight shape',
      () => {
        const wj = weightsJson();
        wj['short_conv.conv.weight'] = chunk(w.conv, kernel); // [8, 3]: the torch axis of 1 is missing
        return [
          '--weights',
          write('W.json', wj),
          '--input',
          write('X.json', { config, hash_ids: hashIds, hidden_states: hidden }),
        ];
      },
      /W\.json: short_conv\.conv\.weight: shape \[8, 3\] does not match the expected \[hc_mult \* d, 1, kernel_size\] = \[8, 1, 3\]$/,
    ],
    [
      'a missing key',
      () => {
        const wj = weightsJson();
        delete wj['norm1.1.weight'];
        return [
          '--weights',
          write('W.json', wj),
          '--input',
          write('X.json', { config, hash_ids: hashIds, hidden_states: hidden }),
        ];
      },
      /W\.json: norm1\.1\.weight: missing; expected a tensor of shape \[d\] = \[4\]$/,
    ],
    [
      'a hash id outside its table',
      () => {
        const bad = structuredClone(hashIds);
        bad[0][1][2] = 31;
        return [
          '--weights',
          write('W.json', weightsJson()),
          '--input',
          write('X.json', { config, hash_ids: bad, hidden_states: hidden }),
        ];
      },
      /X\.json: hash_ids\[0\]\[1\]\[2\]: 31 is outside \[0, 31\): table of order 3, head 0$/,
    ],
    [
      'an id >= vocab_size',
      () => [
        '--weights',
        write('W.json', weightsJson()),
        '--input',
        write('X.json', { config, vocab_size: 999, input_ids: inputIds, hidden_states: hidden }),
      ],
      /X\.json: input_ids\[0\]\[2\]: 999/,
    ],
    [
      'hidden states of the wrong shape',
      () => [
        '--weights',
        write('W.json', weightsJson()),
        '--input',
        write('X.json', { config: { ...config, hc_mult: 1 }, hash_ids: hashIds, hidden_states: hidden }),
      ],
      /X\.json: hidden_states: shape \[2, 5, 2, 4\] does not match \[B, T, hc_mult, hidden_size\] = \[2, 5, 1, 4\]$/,
    ],
  ];
  for (const [name, args, line] of badCases) {
    it(`exits 2 with one line on ${name}`, () => {
      const r = cli(...args());
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(line);
    });
  }
});
