import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/model/config.js';
import { engram, type EngramWeights } from '../../src/model/engram.js';
import {
  checkStateDict,
  engram64FromStateDict,
  engramWeightsFromStateDict,
  expectedShapes,
  parseStateDict,
  stateDictFromEngramWeights,
  stateDictToJson,
  type EngramDims,
  type StateDict,
} from '../../src/model/engram-io.js';
import { engram64, lookupRows64 } from '../../src/model/engram64.js';
import { paramSpecs } from '../../src/model/params.js';
import { Rng } from '../../src/util/rng.js';
import { inputErrorLine } from '../helpers/input-error.js';
import { quietCpuBanner } from '../../src/backend/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  quietCpuBanner();
});

// hc = 2, N = 3, K = 2, d_order = 4 (D_h = 2, d_mem = 8), d = 5, kernel 3
const dims: EngramDims = {
  d: 5,
  hc: 2,
  kernel: 3,
  maxNgram: 3,
  headsPerNgram: 2,
  dimPerNgram: 4,
  sizes: [5, 7, 11, 13],
};

/** A state dict of float32-exact random values in the torch shapes of docs/SPEC.md section 6. */
function randomStateDict(seed: number): StateDict {
  const rng = new Rng(seed);
  const sd: StateDict = new Map();
  for (const [k, shape] of expectedShapes(dims)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const mean = k.includes('norm') ? 1 : 0; // norms near 1, as trained ones are
    sd.set(k, { shape, data: Float64Array.from(rng.normal(new Float32Array(n), 0.4), (x) => Math.fround(x + mean)) });
  }
  return sd;
}

const errorOf = inputErrorLine;

describe('reference names and shapes', () => {
  it('lists every tensor of spec 6 with its torch shape', () => {
    const s = Object.fromEntries(expectedShapes(dims));
    expect(s['multi_head_embedding.embedding.weight']).toEqual([36, 2]);
    expect(s['value_proj.weight']).toEqual([5, 8]);
    expect(s['key_projs.1.weight']).toEqual([5, 8]);
    expect(s['norm2.1.weight']).toEqual([5]);
    expect(s['short_conv.norms.0.weight']).toEqual([5]);
    expect(s['short_conv.conv.weight']).toEqual([10, 1, 3]);
    expect(Object.keys(s)).toHaveLength(1 + 2 + 5 * 2 + 1);
  });

  it('imports to exactly the trainer parameter names and sizes of params.ts', () => {
    const config: ModelConfig = {
      vocabSize: 50,
      dModel: 5,
      nLayers: 3,
      nHeads: 1,
      seqLen: 8,
      ffnHidden: 8,
      ropeBase: 10000,
      normEps: 1e-6,
      engram: {
        maxNgram: 3,
        headsPerNgram: 2,
        dimPerNgram: 4,
        baseSizes: [5, 11],
        initStd: 1,
        seed: 0,
        layerIds: [1],
        kernelSize: 3,
        signedSqrt: true,
        hcMult: 2,
      },
    };
    const specs = paramSpecs(config).filter((p) => p.name.startsWith('layers.1.engram.'));
    const { params } = engramWeightsFromStateDict(randomStateDict(1), dims, 1, 'W.json');
    expect([...params.keys()].sort()).toEqual(specs.map((p) => p.name).sort());
    for (const p of specs) expect(params.get(p.name)!.length).toBe(p.shape.reduce((a, b) => a * b, 1));
  });
});

describe('import and export', () => {
  it('round-trips state dict -> trainer layout -> state dict exactly, offsets buffer included', () => {
    const sd = randomStateDict(2);
    const { params, table } = engramWeightsFromStateDict(sd, dims, 4, 'W.json');
    // torch [out, in] -> ours [in, out]: element (o, i) moves to (i, o)
    expect(params.get('layers.4.engram.value')![3 * 5 + 2]).toBe(sd.get('value_proj.weight')!.data[2 * 8 + 3]);
    const back = stateDictFromEngramWeights(params, [table.subarray(0, 10), table.subarray(10)], dims, 4);
    expect(Array.from(back.get('multi_head_embedding.offsets')!.data)).toEqual([0, 5, 12, 23]);
    for (const [k, t] of sd) {
      expect(back.get(k)!.shape).toEqual(t.shape);
      expect(Array.from(back.get(k)!.data)).toEqual(Array.from(t.data));
    }
    // JSON form (torch .tolist()) parses back to the same tensors and passes the checks
    const again = parseStateDict(JSON.parse(JSON.stringify(stateDictToJson(back))), 'W.json');
    checkStateDict(again, dims, 'W.json');
    expect(again.get('short_conv.conv.weight')!.shape).toEqual([10, 1, 3]);
    expect(Array.from(again.get('key_projs.1.weight')!.data)).toEqual(Array.from(sd.get('key_projs.1.weight')!.data));
  });

  it('imported weights give the tfjs layer the float64 layer output (names and transposes agree)', () => {
    const sd = randomStateDict(3);
    const B = 2,
      T = 6;
    const rng = new Rng(8);
    const ids = Array.from({ length: B * T }, () => dims.sizes.map((p) => rng.int(p))).flat();
    const h = Float64Array.from(rng.normal(new Float32Array(B * T * dims.hc * dims.d), 1), Math.fround);
    const w64 = engram64FromStateDict(sd, dims, 'W.json');
    const e = lookupRows64(w64, ids, B * T);
    const want = engram64(h, e, w64, B, T, { maxNgram: 3, signedSqrt: true });

    const { params } = engramWeightsFromStateDict(sd, dims, 0, 'W.json');
    const t = (name: string, shape: number[]) => tf.tensor(params.get(`layers.0.engram.${name}`)!, shape);
    const g2 = (name: string, shape: number[]) => [0, 1].map((g) => t(`${name}.${g}`, shape));
    const w: EngramWeights = {
      value: t('value', [8, 5]),
      valueBias: t('valueBias', [5]),
      key: g2('key', [8, 5]),
      keyBias: g2('keyBias', [5]),
      keyNorm: g2('keyNorm', [5]),
      queryNorm: g2('queryNorm', [5]),
      convNorm: g2('convNorm', [5]),
      conv: t('conv', [10, 3]),
    };
    const got = engram(
      tf.tensor4d(Float32Array.from(h), [B, T, 2, 5]),
      tf.tensor2d(Float32Array.from(e), [B * T, 8]),
      w,
      { maxNgram: 3, signedSqrt: true },
    );
    const close = (a: ArrayLike<number>, b: Float64Array) =>
      b.forEach((x, i) => expect(Math.abs(a[i] - x)).toBeLessThan(1e-5 * Math.max(1, Math.abs(x))));
    close(got.gates.dataSync(), want.gates);
    close(got.out.dataSync(), want.out);
    // the comparison can see a mix-up: branch 0 and 1 key projections swapped move the gates
    // (norm1 vs norm2 would not: s = sum_c k_c q_c a_c b_c is symmetric in the two norm weights)
    const swapped = engram64(h, e, { ...w64, key: [w64.key[1], w64.key[0]] }, B, T, { maxNgram: 3, signedSqrt: true });
    expect(Math.max(...want.gates.map((x, i) => Math.abs(x - swapped.gates[i])))).toBeGreaterThan(1e-3);
    tf.dispose([got.out, got.gates, got.value, ...Object.values(w).flat()]);
  });
});

describe('bad weights', () => {
  it('names the key and the expected shape', () => {
    const sd = randomStateDict(4);
    sd.set('value_proj.weight', { shape: [8, 5], data: new Float64Array(40) }); // torch layout expected
    expect(errorOf(() => checkStateDict(sd, dims, 'W.json'))).toBe(
      'W.json: value_proj.weight: shape [8, 5] does not match the expected [d, d_mem] = [5, 8]',
    );
    sd.set('value_proj.weight', { shape: [5, 8], data: new Float64Array(40) });
    sd.delete('norm2.1.weight');
    expect(errorOf(() => checkStateDict(sd, dims, 'W.json'))).toMatch(
      /^W\.json: norm2\.1\.weight: missing; expected a tensor of shape \[d\] = \[5\]$/,
    );
  });

  it('refuses unknown names, wrong offsets, ragged or non-numeric tensors', () => {
    const sd = randomStateDict(5);
    sd.set('key_projs.2.weight', { shape: [5, 8], data: new Float64Array(40) }); // hc = 2: no branch 2
    expect(errorOf(() => checkStateDict(sd, dims, 'W.json'))).toMatch(/key_projs\.2\.weight: unknown state-dict name/);
    sd.delete('key_projs.2.weight');
    sd.set('multi_head_embedding.offsets', { shape: [4], data: Float64Array.from([0, 5, 12, 24]) });
    expect(errorOf(() => checkStateDict(sd, dims, 'W.json'))).toMatch(/offsets: .*running sums .*\[0,5,12,23\]/);
    expect(errorOf(() => parseStateDict({ 'value_proj.bias': [[1, 2], [3]] }, 'W.json'))).toMatch(
      /value_proj\.bias: ragged at \[1\]/,
    );
    expect(errorOf(() => parseStateDict({ 'value_proj.bias': [1, '2'] }, 'W.json'))).toMatch(
      /"2" at flat index 1 is not a finite number/,
    );
    expect(errorOf(() => parseStateDict([1, 2], 'W.json'))).toMatch(/expected an object of state-dict name -> tensor/);
  });
});
