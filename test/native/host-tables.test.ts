/**
 * The host tables' row kernels in the addon (native/src/host_tables.c) against the JS loops
 * they replace: the lazy Adam against SparseAdam's own (memory/sparse-adam.ts, checked against a
 * float64 torch.optim.SparseAdam in test/memory/sparse-adam.test.ts), the same bits in weights
 * and both moments over several steps with duplicate rows, several shards and a short last
 * shard, and with more distinct rows than the kernels prefetch ahead; the row gather against
 * copyRows' JS loops. Committed trials were trained with the JS loops, so neither may change a
 * single bit.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../src/backend/native/addon.js';
import { gatherRows, setRowGatherKernel } from '../../src/memory/gather.js';
import { setRowAdamKernel, SparseAdam } from '../../src/memory/sparse-adam.js';
import { HostTable } from '../../src/memory/tables.js';
import { setup, skipNative } from './util.js';

const { info } = await setup();
const skip = skipNative(info, 'test/native/host-tables.test.ts');
const state = loadNative();
const native = state.ok ? state.addon.sparseAdam.bind(state.addon) : null;
const nativeGather = state.ok ? state.addon.gatherHostRows.bind(state.addon) : null;
afterAll(() => {
  // as registerNativeKernels left them
  setRowAdamKernel(native);
  setRowGatherKernel(nativeGather);
});

const small = [37, 53, 11]; // three tables of prime sizes, as the hashed memories have
const big = [1009, 2003, 503]; // hundreds of distinct rows a step: past the kernels' prefetch distance
const dim = 6;

/**
 * Train a fresh table for `steps` steps with or without the native pass; its three arrays.
 * distinct: how many ids each table draws from per step (few: most rows repeat, the coalescing path).
 */
function train(useNative: boolean, shardBytes: number, steps: number, sizes = small, distinct = 9) {
  setRowAdamKernel(useNative ? native : null);
  const table = new HostTable(sizes, dim, { initStd: 0.02, seed: 7, shardBytes });
  const adam = new SparseAdam(table, { beta1: 0.9, beta2: 0.95, eps: 1e-8 });
  let s = 0x1234567;
  const next = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
  for (let t = 0; t < steps; t++) {
    const positions = 200;
    const ids = new Int32Array(positions * sizes.length);
    for (let i = 0; i < ids.length; i++) ids[i] = next(Math.min(sizes[i % sizes.length], distinct));
    const grad = Float32Array.from({ length: ids.length * dim }, () => next(60001) / 10000 - 3);
    adam.step(ids, sizes.length, grad, 1e-2 * (1 + t));
  }
  const flat = (h: HostTable) => Float32Array.from(h.shards.flatMap((x) => Array.from(x)));
  return { w: flat(table), m: flat(adam.expAvg), v: flat(adam.expAvgSq), shards: table.shards.length };
}

const firstDiff = (a: Float32Array, b: Float32Array) => {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `element ${i}: ${a[i]} vs ${b[i]}`;
  return a.length === b.length ? 'same' : `lengths ${a.length} vs ${b.length}`;
};

describe.skipIf(skip)('SparseAdam in the addon', () => {
  it.each([
    ['one shard', 1 << 20, small, 9],
    ['many shards, the last one short', 4 * dim * 8, small, 9], // 8 rows per shard over 101 rows
    ['hundreds of distinct rows a step, many shards', 4 * dim * 100, big, 1e9],
  ])('gives the JS loops bits: %s', (_, shardBytes, sizes, distinct) => {
    const js = train(false, shardBytes, 5, sizes, distinct);
    const nat = train(true, shardBytes, 5, sizes, distinct);
    expect(nat.shards).toBe(js.shards);
    expect(firstDiff(nat.w, js.w)).toBe('same');
    expect(firstDiff(nat.m, js.m)).toBe('same');
    expect(firstDiff(nat.v, js.v)).toBe('same');
    // and the step changed the tables (a test of a no-op would pass too)
    const untouched = train(false, shardBytes, 0, sizes, distinct);
    expect(firstDiff(nat.w, untouched.w)).not.toBe('same');
  });

  it('refuses a row outside the table, and moments that do not match the weights', () => {
    const a = state.ok ? state.addon : null;
    const w = [new Float32Array(8 * dim), new Float32Array(3 * dim)];
    const m = [new Float32Array(8 * dim), new Float32Array(3 * dim)];
    const v = [new Float32Array(8 * dim), new Float32Array(3 * dim)];
    const g = new Float32Array(dim);
    const scratch = () => [new Int32Array(1), new Float64Array(dim), new Int32Array(2), new Int32Array(2)] as const;
    const call = (rows: number[], mm = m) =>
      a!.sparseAdam(w, mm, v, 8, dim, Int32Array.from(rows), rows.length, g, 0.1, 0.1, 0.05, 1e-8, ...scratch());
    expect(call([10])).toBe(1); // row 10: shard 1, row 2 of 3
    expect(() => call([11])).toThrow(/outside the table/); // shard 1 holds 3 rows
    expect(() => call([-1])).toThrow(/outside the table/);
    expect(() => call([0], [m[0], new Float32Array(2 * dim)])).toThrow(/lengths/);
  });

  it('gathers the rows the JS loops gather, from every shard', () => {
    const table = new HostTable(big, dim, { initStd: 0.02, seed: 3, shardBytes: 4 * dim * 100 });
    const ids = Int32Array.from({ length: 300 * big.length }, (_, i) => (i * 7919 + (i >> 2)) % big[i % big.length]);
    setRowGatherKernel(null);
    const js = gatherRows(table, ids, big.length);
    setRowGatherKernel(nativeGather);
    const nat = gatherRows(table, ids, big.length);
    expect(firstDiff(nat, js)).toBe('same');
    // and the rows are the table's: lookup 5 is table 2's id ids[5]
    const row = table.rowView(table.offsets[2] + ids[5]);
    expect(Array.from(nat.subarray(5 * dim, 6 * dim))).toEqual(Array.from(row));
  });

  it('refuses a gather row outside the table', () => {
    const a = state.ok ? state.addon : null;
    const w = [new Float32Array(8 * dim), new Float32Array(3 * dim)];
    const call = (rows: number[]) =>
      a!.gatherHostRows(w, 8, dim, Int32Array.from(rows), rows.length, new Float32Array(rows.length * dim));
    expect(() => call([10])).not.toThrow();
    expect(() => call([11])).toThrow(/outside the table/);
    expect(() => call([-1])).toThrow(/outside the table/);
    expect(() => a!.gatherHostRows(w, 8, dim, Int32Array.from([0, 1]), 2, new Float32Array(dim))).toThrow(/bad sizes/);
  });
});
