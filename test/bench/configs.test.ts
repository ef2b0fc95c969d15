/**
 * The bench configs one size up (issue 16): dense-m, moe-m, engram-m have the peer's shapes, checked
 * through src/model/accounting.ts against parameter counts worked out by hand here; the batch per
 * size; --config parses them while the default stays the three -s configs.
 */
import { describe, expect, it } from 'vitest';
import { BENCH_CONFIGS, BENCH_DEFAULT_CONFIGS, benchBatch, benchModel, parseConfigs } from '../../src/bench/configs.js';
import { jobFor } from '../../src/bench/index.js';
import { InputError } from '../../src/cli/errors.js';
import { account } from '../../src/model/accounting.js';
import { paramSpecs, size } from '../../src/model/params.js';

const total = (name: string) => paramSpecs(benchModel(name)).reduce((s, p) => s + size(p.shape), 0);

describe('bench configs -m', () => {
  it('the six configs; the default list stays the three -s ones; -m names parse', () => {
    expect([...BENCH_CONFIGS]).toEqual(['dense-s', 'moe-s', 'engram-s', 'dense-m', 'moe-m', 'engram-m']);
    expect([...BENCH_DEFAULT_CONFIGS]).toEqual(['dense-s', 'moe-s', 'engram-s']);
    expect(parseConfigs(undefined)).toEqual(['dense-s', 'moe-s', 'engram-s']);
    expect(parseConfigs('dense-m,moe-m,engram-m')).toEqual(['dense-m', 'moe-m', 'engram-m']);
    expect(parseConfigs(' engram-m , dense-s ')).toEqual(['engram-m', 'dense-s']);
    expect(() => parseConfigs('dense-l')).toThrow(InputError);
    expect(() => benchBatch('moe')).toThrow(InputError);
  });

  it('batch 16 for -s and 8 for -m, carried by the job to the bench process', () => {
    for (const n of ['dense-s', 'moe-s', 'engram-s']) expect(benchBatch(n)).toBe(16);
    for (const n of ['dense-m', 'moe-m', 'engram-m']) expect(benchBatch(n)).toBe(8);
    expect(jobFor('engram-m', { steps: 3, threads: 1, backend: 'wasm' }).batch).toBe(8);
    expect(jobFor('dense-s', { steps: 3, threads: 1, backend: 'wasm' }).batch).toBe(16);
  });

  it('dense-m: d 256, 6 layers, 8 heads, seq 256, vocab 8192, SwiGLU hidden 768', () => {
    const c = benchModel('dense-m');
    expect(c).toMatchObject({ vocabSize: 8192, dModel: 256, nLayers: 6, nHeads: 8, seqLen: 256, ffnHidden: 768 });
    expect(c.moe).toBeUndefined();
    expect(c.engram).toBeUndefined();
    // per block: 2 norms (256 each), wqkv 256 x 768, wo 256 x 256, SwiGLU wgu 256 x 1536 and wdown 768 x 256
    const block = 2 * 256 + 256 * 768 + 256 * 256 + 256 * 1536 + 768 * 256;
    expect(block).toBe(852_480);
    const a = account(c);
    expect(a.pTot).toBe(6 * block + 256); // + the final norm
    expect(a.pTot).toBe(5_115_136);
    expect(a.pAct).toBe(a.pTot);
    expect(a.pEmbedHead).toBe(2 * 8192 * 256); // untied: embedding and head
    // all of it, as the peer's params (nn.Linear without bias, RMSNorm weight only)
    expect(total('dense-m')).toBe(9_309_440);
  });

  it('moe-m: 1 shared + 16 routed experts of hidden 192, top-2, on the dense-m backbone', () => {
    const c = benchModel('moe-m');
    expect(c.moe).toMatchObject({ shared: 1, routed: 16, topK: 2, expertHidden: 192 });
    const { moe, ...backbone } = c;
    expect(backbone).toEqual(benchModel('dense-m'));
    const expert = 256 * 384 + 192 * 256; // one SwiGLU of hidden 192: wgu 256 x 384, wdown 192 x 256
    const block = 2 * 256 + 256 * 768 + 256 * 256 + expert + 256 * 16 + 16 * expert; // + shared, router, routed
    const a = account(c);
    expect(a.pExperts).toBe(6 * 16 * expert);
    expect(a.pTot).toBe(6 * block + 256);
    expect(a.pAct).toBe(6 * (block - 14 * expert) + 256); // 2 of the 16 routed experts per token
    expect(total('moe-m')).toBe(20_835_584); // what the peer prints for moe-m
  });

  it('engram-m: moe-m plus Engram at block 1, orders 2-3, 4 heads per order, 128 dims per order, ~1e5 slots', () => {
    const c = benchModel('engram-m');
    expect(c.engram).toMatchObject({
      layerIds: [1],
      maxNgram: 3,
      headsPerNgram: 4,
      dimPerNgram: 128,
      baseSizes: [1e5, 1e5],
      kernelSize: 4,
      signedSqrt: false,
      hcMult: 1,
    });
    const { engram, ...rest } = c;
    expect(rest).toEqual(benchModel('moe-m'));
    // the dense part: key and value 256 -> 256 with bias (d_mem = 2 orders x 128), 3 norms, a width-4 conv
    expect(total('engram-m') - total('moe-m')).toBe(2 * (256 * 256 + 256) + 3 * 256 + 256 * 4);
    // the tables: 2 orders x 4 heads, 32 dims per head, prime sizes just above 1e5
    const a = account(c);
    const sizes = a.tableSizes['1'].flat();
    expect(sizes).toHaveLength(8);
    for (const p of sizes) expect(p > 1e5 && p < 1.01e5).toBe(true);
    expect(a.pTables).toBe(sizes.reduce((s, p) => s + p, 0) * 32);
    // with its tables, the peer's parameter count for engram-m
    expect(total('engram-m') + a.pTables).toBe(46_583_424);
  });

  it('the -s configs keep their shapes (batch 16 aside, checked above)', () => {
    expect(benchModel('dense-s')).toMatchObject({ vocabSize: 4096, dModel: 128, nLayers: 4, seqLen: 128 });
    expect(benchModel('moe-s').moe?.expertHidden).toBe(96);
    expect(benchModel('engram-s').engram?.dimPerNgram).toBe(64);
    expect(benchModel('engram-s', 1e4).engram?.baseSizes).toEqual([1e4, 1e4]);
    expect(total('dense-s')).toBe(1_901_696);
    expect(total('moe-s')).toBe(3_826_816);
  });
});
