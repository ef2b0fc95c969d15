import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { SparseAdam } from '../../src/memory/sparse-adam.js';
import { HostTable } from '../../src/memory/tables.js';

interface Betas {
  beta1: number;
  beta2: number;
  eps: number;
}
/** torch: eps added to sqrt(v); textbook Adam: eps added to sqrt(v / (1 - b2^t)) */
type EpsPlacement = 'torch' | 'textbook';

/**
 * torch.optim.SparseAdam written out row by row in float64: coalesce duplicate rows by summing,
 * then for each touched row the textbook moments, bias-corrected with the global step t and
 * torch's eps placement (eps is added to sqrt(v), before the sqrt(1 - b2^t) correction):
 *   w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
 */
class RefSparseAdam {
  w: Float64Array;
  m: Float64Array;
  v: Float64Array;
  t = 0;
  constructor(
    init: Float32Array,
    readonly sizes: number[],
    readonly dim: number,
    readonly o: Betas,
    readonly placement: EpsPlacement = 'torch',
  ) {
    this.w = Float64Array.from(init);
    this.m = new Float64Array(init.length);
    this.v = new Float64Array(init.length);
  }
  step(ids: Int32Array, grad: Float32Array, lr: number): void {
    const { sizes, dim } = this;
    const summed = new Map<number, number[]>();
    ids.forEach((id, i) => {
      const j = i % sizes.length;
      const row = sizes.slice(0, j).reduce((a, b) => a + b, 0) + id;
      const g = summed.get(row) ?? new Array<number>(dim).fill(0);
      for (let d = 0; d < dim; d++) g[d] += grad[i * dim + d];
      summed.set(row, g);
    });
    this.t++;
    const { beta1: b1, beta2: b2, eps } = this.o;
    for (const [row, g] of summed) {
      for (let d = 0; d < dim; d++) {
        const k = row * dim + d;
        this.m[k] = b1 * this.m[k] + (1 - b1) * g[d];
        this.v[k] = b2 * this.v[k] + (1 - b2) * g[d] * g[d];
        const bc1 = 1 - b1 ** this.t,
          bc2 = 1 - b2 ** this.t;
        if (this.placement === 'torch') {
          this.w[k] -= ((lr * Math.sqrt(bc2)) / bc1) * (this.m[k] / (Math.sqrt(this.v[k]) + eps));
        } else {
          this.w[k] -= lr * (this.m[k] / bc1 / (Math.sqrt(this.v[k] / bc2) + eps));
        }
      }
    }
  }
}

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** |got - ref| <= tol * max(|ref|, floor) for every element; returns the worst ratio. */
function worstRelErr(got: Float32Array, ref: Float64Array, floor: number): number {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - ref[i]) / Math.max(Math.abs(ref[i]), floor));
  }
  return worst;
}

function maxAbs(a: Float64Array): number {
  return a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

/** Run both optimizers over steps whose touched row ranges move, so rows go stale and return. */
function runBoth(o: Betas, shardRows: number, steps: number, placement: EpsPlacement = 'torch') {
  const sizes = [13, 17, 19];
  const dim = 4;
  const table = new HostTable(sizes, dim, { initStd: 1, seed: 11, shardBytes: shardRows * dim * 4 });
  const ref = new RefSparseAdam(table.toArray(), sizes, dim, o, placement);
  const opt = new SparseAdam(table, o);
  const rnd = lcg(5);
  const windows = [
    [0, 4],
    [0, 4],
    [5, 3],
    [5, 3],
    [5, 3],
    [0, 6],
    [2, 11],
    [0, 4],
  ]; // [lo, span]
  const touched = new Set<number>();
  for (let s = 0; s < steps; s++) {
    const [lo, span] = windows[s % windows.length];
    const positions = 20; // 20 lookups per table into <= 11 rows: duplicates every step
    const ids = new Int32Array(positions * sizes.length).map(() => lo + Math.floor(rnd() * span));
    const scale = [0.01, 1, 3, 0.2][s % 4];
    const grad = new Float32Array(ids.length * dim).map(() => (rnd() - 0.5) * scale);
    const lr = 0.01 * (1 + s);
    ref.step(ids, grad, lr);
    opt.step(ids, sizes.length, grad, lr);
    ids.forEach((id, i) => touched.add(table.offsets[i % sizes.length] + id));
  }
  return { table, opt, ref, touched, dim };
}

describe('SparseAdam', () => {
  it('known answer: duplicates summed, first step moves each touched value by ~lr', () => {
    const table = HostTable.zeros([5, 7], 2);
    const w0 = new Float32Array(24).map((_, i) => i / 8);
    table.fromArray(w0);
    const opt = new SparseAdam(table);
    // positions: (table0 id 1, table1 id 3), (table0 id 1, table1 id 0): row 1 twice, rows 8 and 5
    const ids = Int32Array.from([1, 3, 1, 0]);
    const grad = Float32Array.from([1, -2, 0.5, 0.5, 3, 1, -4, 0]);
    opt.step(ids, 2, grad, 0.1);
    // t = 1: m = 0.1 g, v = 0.001 g^2, step size = 0.1 sqrt(0.001) / 0.1
    const move = (g: number) => (Math.sqrt(0.001) * 0.1 * g) / (Math.sqrt(0.001) * Math.abs(g) + 1e-8);
    const expectRow = (row: number, g: number[]) =>
      g.forEach((gd, d) => expect(table.getRow(row)[d]).toBeCloseTo(w0[row * 2 + d] - move(gd), 6));
    expectRow(1, [4, -1]); // coalesced [1, -2] + [3, 1]
    expectRow(8, [0.5, 0.5]);
    expectRow(5, [-4, 0]); // a zero gradient still counts as touched: no move, m stays 0
    expect(opt.expAvg.getRow(1)[0]).toBeCloseTo(0.4, 7);
    expect(opt.expAvgSq.getRow(1)[1]).toBeCloseTo(0.001, 9);
    // untouched rows are bitwise unchanged
    expect(table.getRow(0)).toEqual(w0.subarray(0, 2));
    expect(table.getRow(11)).toEqual(w0.subarray(22, 24));

    // t = 2: only row 2 is touched; its bias correction uses the global step 2, not its own 1
    const before = table.toArray();
    const mBefore = opt.expAvg.toArray();
    opt.step(Int32Array.from([2, 6]), 2, Float32Array.from([1, 1, 0, 0]), 0.1);
    const step2 = (0.1 * Math.sqrt(1 - 0.999 ** 2)) / (1 - 0.9 ** 2);
    const move2 = (step2 * 0.1) / (Math.sqrt(0.001) + 1e-8); // ~0.0744, vs ~0.1 with a per-row count
    expect(table.getRow(2)[0]).toBeCloseTo(w0[4] - move2, 6);
    expect(table.getRow(1)).toEqual(before.subarray(2, 4)); // stale rows keep weights...
    expect(opt.expAvg.getRow(1)).toEqual(mBefore.subarray(2, 4)); // ...and moments
    expect(opt.stepCount).toBe(2);
  });

  for (const [name, o, shardRows] of [
    ['default betas, single shard', { beta1: 0.9, beta2: 0.999, eps: 1e-8 }, 1000],
    ['other betas, large eps, 5-row shards', { beta1: 0.8, beta2: 0.99, eps: 0.05 }, 5],
  ] as const) {
    it(`matches the float64 row-by-row reference over 8 steps (${name})`, () => {
      const { table, opt, ref, touched, dim } = runBoth(o, shardRows, 8);
      if (shardRows === 5) expect(table.shards.length).toBe(10);
      expect(touched.size).toBeLessThan(table.rows); // some rows never touched
      expect(worstRelErr(table.toArray(), ref.w, 0.1)).toBeLessThan(1e-6);
      // Moments are stored as float32 and can cancel to values far below their past size, whose
      // rounding they carry: measure them against 1% of the array's largest value.
      expect(worstRelErr(opt.expAvg.toArray(), ref.m, 0.01 * maxAbs(ref.m))).toBeLessThan(1e-6);
      expect(worstRelErr(opt.expAvgSq.toArray(), ref.v, 0.01 * maxAbs(ref.v))).toBeLessThan(1e-6);
      // never-touched rows: exact initial weights, zero moments
      const init = new HostTable(table.sizes, dim, { initStd: 1, seed: 11 }).toArray();
      for (let r = 0; r < table.rows; r++) {
        if (touched.has(r)) continue;
        expect(table.getRow(r)).toEqual(init.subarray(r * dim, (r + 1) * dim));
        expect(opt.expAvgSq.getRow(r).every((x) => x === 0)).toBe(true);
      }
    });
  }

  it('textbook eps placement would fail the comparison (the check has teeth)', () => {
    const o = { beta1: 0.8, beta2: 0.99, eps: 0.05 };
    const { table, ref } = runBoth(o, 5, 8, 'textbook');
    expect(worstRelErr(table.toArray(), ref.w, 0.1)).toBeGreaterThan(1e-4);
  });

  it('rejects a gradient of the wrong size, a bad lr and bad options', () => {
    const table = HostTable.zeros([5, 7], 2);
    const opt = new SparseAdam(table);
    expect(() => opt.step(Int32Array.from([0, 0]), 2, new Float32Array(3), 0.1)).toThrow(/gradRows has 3 floats/);
    expect(() => opt.step(Int32Array.from([0, 0]), 2, new Float32Array(4), -1)).toThrow(/learning rate -1/);
    expect(() => opt.step(Int32Array.from([0, 7]), 2, new Float32Array(4), 0.1)).toThrow(/hash id 7/);
    expect(() => new SparseAdam(table, { beta1: 1 })).toThrow(InputError);
    expect(() => new SparseAdam(table, { eps: -1 })).toThrow(/eps/);
    expect(opt.stepCount).toBe(0); // rejected steps do not count
  });

  it('reports 8 bytes per parameter for the moments (12 with the weights)', () => {
    const table = HostTable.zeros([101, 103], 16, { shardBytes: 10 * 64 });
    const opt = new SparseAdam(table);
    expect(opt.bytes()).toBe(2 * table.bytes());
    expect((opt.bytes() + table.bytes()) / (table.rows * table.dim)).toBe(12);
    expect(opt.expAvg.rowsPerShard).toBe(table.rowsPerShard);
  });
});
