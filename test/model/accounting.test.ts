import { describe, expect, it } from 'vitest';
import { account } from '../../src/model/accounting.js';
import type { ModelConfig } from '../../src/model/config.js';
import { tableSizes } from '../../src/hash/primes.js';

const base: ModelConfig = {
  vocabSize: 1000,
  dModel: 32,
  nLayers: 2,
  nHeads: 4,
  seqLen: 16,
  ffnHidden: 64,
  ropeBase: 1e4,
  normEps: 1e-6,
};

describe('parameter accounting (docs/SPEC.md section 4, 5)', () => {
  it('dense: 4d^2 attention + 3 d d_ff SwiGLU + norms per layer; embedding and head excluded', () => {
    const d = 32,
      L = 2,
      ff = 64;
    const a = account(base);
    expect(a.pTot).toBe(L * (4 * d * d + 3 * d * ff + 2 * d) + d);
    expect(a.pAct).toBe(a.pTot);
    expect(a.pEmbedHead).toBe(2 * 1000 * d);
  });

  it('MoE: total (E_routed + E_shared) 3 d d_e + d E_routed, active (k + E_shared) 3 d d_e + d E_routed', () => {
    const d = 32,
      L = 2,
      de = 16,
      E = 8,
      k = 2,
      S = 1;
    const a = account({
      ...base,
      moe: { shared: S, routed: E, topK: k, expertHidden: de, gamma: 1e-3, seqBalance: 0 },
    });
    const attnNorms = L * (4 * d * d + 2 * d) + d;
    expect(a.pTot).toBe(attnNorms + L * ((E + S) * 3 * d * de + d * E));
    expect(a.pAct).toBe(attnNorms + L * ((k + S) * 3 * d * de + d * E));
    expect(a.pSparse).toBe(L * (E - k) * 3 * d * de);
    expect(a.pExperts).toBe(L * E * 3 * d * de);
  });

  it('Engram: tables sparse (sum of primes x D_h), projections, norms and conv active', () => {
    const d = 32,
      m = 2 * 16; // N = 3, d_order 16 -> d_mem 32
    const engram = {
      layerIds: [0, 1],
      maxNgram: 3,
      headsPerNgram: 2,
      dimPerNgram: 16,
      baseSizes: [100, 100],
      initStd: 1,
      seed: 0,
      kernelSize: 4,
      signedSqrt: true,
      hcMult: 1,
    };
    const plain = account(base);
    const a = account({ ...base, engram });
    const primes = [...tableSizes([100, 100], [0, 1], 3, 2).values()].flat(2);
    const tables = primes.reduce((s, p) => s + p, 0) * 8; // D_h = 16 / 2
    const dense = 2 * (2 * m * d + 2 * d + 3 * d + d * 4); // value + key (+ biases), 3 norms, conv, per layer
    expect(a.pTables).toBe(tables);
    expect(a.pAct - plain.pAct).toBe(dense);
    expect(a.pTot - plain.pTot).toBe(dense + tables);
    expect(a.slots).toBe(200); // base size summed over the two layers
    expect(a.tableSizes['0'].flat()).toEqual(primes.slice(0, 4));
  });

  it('OverEncoding: projection active, tables sparse, hashed as layer 0', () => {
    const oe = { maxNgram: 3, headsPerNgram: 2, dimPerNgram: 16, baseSizes: [50, 50], initStd: 1, seed: 0 };
    const a = account({ ...base, overEncoding: oe });
    expect(a.pAct - account(base).pAct).toBe(32 * 32);
    expect(a.tableSizes.overEncoding).toEqual(tableSizes([50, 50], [0], 3, 2).get(0));
  });
});
