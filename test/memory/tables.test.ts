import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { HostTable, MAX_SHARD_BYTES } from '../../src/memory/tables.js';

// Small prime-sized tables: 2 orders x 2 heads, layout order [(2,0), (2,1), (3,0), (3,1)].
const SIZES = [1009, 1013, 1019, 1021];

describe('HostTable layout', () => {
  it('offsets are running sums of the sizes and rows their total', () => {
    const t = HostTable.zeros(SIZES, 4);
    expect(Array.from(t.offsets)).toEqual([0, 1009, 2022, 3041, 4062]);
    expect(t.rows).toBe(4062);
    expect(t.numTables).toBe(4);
    expect(t.bytes()).toBe(4062 * 4 * 4);
    expect(t.shards.length).toBe(1);
    expect(t.rowsPerShard).toBe(MAX_SHARD_BYTES / 16);
  });

  it('shards hold whole rows and cover the table exactly', () => {
    // 3 rows of 5 floats per shard (60 bytes; 70 is not a multiple of a row)
    const t = HostTable.zeros([7, 4], 5, { shardBytes: 70 });
    expect(t.rowsPerShard).toBe(3);
    expect(t.shards.map((s) => s.length)).toEqual([15, 15, 15, 10]);
  });

  it('getRow / setRow / toArray / fromArray agree across shard boundaries', () => {
    const dim = 3;
    const t = HostTable.zeros([4, 5], dim, { shardBytes: 2 * dim * 4 });
    const ref = new Float32Array(9 * dim).map((_, i) => i * 0.5 - 3);
    t.fromArray(ref);
    expect(t.toArray()).toEqual(ref);
    // row 5 is the first row of shard 2, row 4 the last of shard 1... of 2 rows each
    expect(Array.from(t.getRow(5))).toEqual(Array.from(ref.subarray(15, 18)));
    t.setRow(4, [9, 8, 7]);
    ref.set([9, 8, 7], 12);
    expect(t.toArray()).toEqual(ref);
    expect(t.shards[2][0]).toBe(9); // row 4 = first row of shard 2 (rows 4, 5)
    t.fromArray(Array.from(ref, (x) => x + 1)); // plain arrays work too
    expect(t.toArray()[0]).toBe(ref[0] + 1);
  });

  it('rejects bad shapes and options with InputError', () => {
    expect(() => HostTable.zeros([], 4)).toThrow(InputError);
    expect(() => HostTable.zeros([5, 0], 4)).toThrow(/table size 0/);
    expect(() => HostTable.zeros([5, 2.5], 4)).toThrow(InputError);
    expect(() => HostTable.zeros([5], 0)).toThrow(/dim 0/);
    expect(() => HostTable.zeros([5], 4, { shardBytes: 8 })).toThrow(/shardBytes/);
    expect(() => new HostTable([5], 4, { initStd: -1, seed: 0 })).toThrow(/initStd/);
    expect(() => new HostTable([5], 4, { initStd: 1, seed: -3 })).toThrow(/seed/);
    const t = HostTable.zeros([5], 4);
    expect(() => t.getRow(5)).toThrow(/row 5/);
    expect(() => t.setRow(0, [1, 2])).toThrow(/dim 4/);
    expect(() => t.fromArray(new Float32Array(3))).toThrow(InputError);
  });
});

describe('HostTable init', () => {
  it('draws N(0, initStd^2): mean, std, mass within 1 std, kurtosis', () => {
    const std = 0.02;
    const t = new HostTable([50_021, 49_999], 16, { initStd: std, seed: 7 });
    const x = t.toArray();
    const n = x.length; // 1.6e6
    let s1 = 0,
      s2 = 0,
      s4 = 0,
      within = 0;
    for (let i = 0; i < n; i++) {
      const z = x[i] / std;
      s1 += z;
      s2 += z * z;
      s4 += z * z * z * z;
      if (Math.abs(z) < 1) within++;
    }
    const mean = s1 / n,
      variance = s2 / n - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n)); // 5 sigma of the sample mean
    expect(Math.abs(Math.sqrt(variance) - 1)).toBeLessThan(0.005);
    expect(Math.abs(within / n - 0.682689)).toBeLessThan(0.003); // a uniform would give 0.577
    expect(Math.abs(s4 / n - 3)).toBeLessThan(0.05);
  });

  it('consecutive values are uncorrelated (the spare of each pair included)', () => {
    const x = new HostTable([40_000], 8, { initStd: 1, seed: 3 }).toArray();
    let c = 0;
    for (let i = 0; i + 1 < x.length; i++) c += x[i] * x[i + 1];
    expect(Math.abs(c / (x.length - 1))).toBeLessThan(5 / Math.sqrt(x.length));
  });

  it('is deterministic by seed and independent of the shard size', () => {
    const a = new HostTable(SIZES, 8, { initStd: 1, seed: 42 }).toArray();
    const b = new HostTable(SIZES, 8, { initStd: 1, seed: 42, shardBytes: 3 * 8 * 4 }).toArray();
    const c = new HostTable(SIZES, 8, { initStd: 1, seed: 43 }).toArray();
    const d = new HostTable(SIZES, 8, { initStd: 1, seed: 42 + 2 ** 32 }).toArray();
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(d).not.toEqual(a); // high seed bits matter too
    const half = new HostTable(SIZES, 8, { initStd: 0.5, seed: 42 }).toArray();
    expect(half).toEqual(a.map((v) => v * 0.5));
  });

  it('initStd 0 gives zeros', () => {
    const t = new HostTable([11, 13], 4, { initStd: 0, seed: 1 });
    expect(t.toArray().every((v) => v === 0)).toBe(true);
  });
});
