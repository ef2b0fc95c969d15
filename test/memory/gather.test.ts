import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { gatherRows, globalRows } from '../../src/memory/gather.js';
import { HostTable } from '../../src/memory/tables.js';

/** Deterministic ids in range for each table, with many duplicates when `range` is small. */
function randomIds(sizes: number[], positions: number, seed: number, range = Infinity): Int32Array {
  let x = seed >>> 0;
  const ids = new Int32Array(positions * sizes.length);
  for (let i = 0; i < ids.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    ids[i] = Math.floor((x / 2 ** 32) * Math.min(range, sizes[i % sizes.length]));
  }
  return ids;
}

/** The plain loop: e_t = concat over tables j of row (sum of sizes before j) + id. */
function gatherRef(flat: Float32Array, sizes: number[], dim: number, ids: Int32Array): Float32Array {
  const k = sizes.length;
  const out = new Float32Array(ids.length * dim);
  for (let p = 0; p < ids.length / k; p++) {
    let base = 0;
    for (let j = 0; j < k; j++) {
      const row = base + ids[p * k + j];
      for (let d = 0; d < dim; d++) out[(p * k + j) * dim + d] = flat[row * dim + d];
      base += sizes[j];
    }
  }
  return out;
}

describe('gatherRows', () => {
  const sizes = [101, 103, 107, 109, 113, 127]; // N = 4, K = 2
  const dim = 5;

  it('matches the plain loop on a single-shard table', () => {
    const t = new HostTable(sizes, dim, { initStd: 1, seed: 1 });
    const ids = randomIds(sizes, 300, 9);
    expect(gatherRows(t, ids, sizes.length)).toEqual(gatherRef(t.toArray(), sizes, dim, ids));
  });

  it('matches the plain loop on a many-shard table, reusing out', () => {
    const t = new HostTable(sizes, dim, { initStd: 1, seed: 2, shardBytes: 7 * dim * 4 });
    expect(t.shards.length).toBe(Math.ceil(t.rows / 7));
    const out = new Float32Array(300 * sizes.length * dim);
    for (const seed of [3, 4]) {
      const ids = randomIds(sizes, 300, seed);
      const got = gatherRows(t, ids, sizes.length, out);
      expect(got).toBe(out);
      expect(got).toEqual(gatherRef(t.toArray(), sizes, dim, ids));
    }
  });

  it('reads the first and last row of every table (the offsets)', () => {
    const t = new HostTable(sizes, dim, { initStd: 1, seed: 5, shardBytes: 10 * dim * 4 });
    const ids = new Int32Array(2 * sizes.length);
    sizes.forEach((n, j) => (ids[sizes.length + j] = n - 1)); // position 0: id 0; position 1: last
    const got = gatherRows(t, ids, sizes.length);
    let base = 0;
    sizes.forEach((n, j) => {
      expect(got.subarray(j * dim, (j + 1) * dim)).toEqual(t.getRow(base));
      const o = (sizes.length + j) * dim;
      expect(got.subarray(o, o + dim)).toEqual(t.getRow(base + n - 1));
      base += n;
    });
  });

  it('globalRows adds the per-table offset', () => {
    const t = HostTable.zeros([3, 5, 7], 2);
    const rows = globalRows(t, Int32Array.from([0, 4, 6, 2, 0, 1]), 3);
    expect(Array.from(rows)).toEqual([0, 7, 14, 2, 3, 9]);
  });

  it('rejects ids outside their table, a wrong table count and a wrong out size', () => {
    const t = HostTable.zeros([3, 5], 2);
    expect(() => gatherRows(t, Int32Array.from([0, 5]), 2)).toThrow(/hash id 5 at position 0, table 1/);
    expect(() => gatherRows(t, Int32Array.from([0, 1, -1, 0]), 2)).toThrow(/hash id -1 at position 1, table 0/);
    expect(() => gatherRows(t, Int32Array.from([0, 1, 2]), 3)).toThrow(/tablesPerPos 3/);
    expect(() => gatherRows(t, Int32Array.from([0, 1, 2]), 2)).toThrow(InputError);
    expect(() => gatherRows(t, Int32Array.from([0, 1]), 2, new Float32Array(3))).toThrow(/out has 3 floats/);
  });
});
