/**
 * The host tables' lazy Adam in the addon (native/src/sparse_adam.c) against SparseAdam's own
 * JS loops (memory/sparse-adam.ts, checked against a float64 torch.optim.SparseAdam in
 * test/memory/sparse-adam.test.ts): the same bits in weights and both moments, over several
 * steps with duplicate rows, several shards and a short last shard. Committed trials were
 * trained with the JS loops, so the native pass must not change a single bit.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../src/backend/native/addon.js';
import { setRowAdamKernel, SparseAdam } from '../../src/memory/sparse-adam.js';
import { HostTable } from '../../src/memory/tables.js';
import { setup, skipNative } from './util.js';

const { info } = await setup();
const skip = skipNative(info, 'test/native/sparse-adam.test.ts');
const state = loadNative();
const native = state.ok ? state.addon.sparseAdam.bind(state.addon) : null;
afterAll(() => setRowAdamKernel(native)); // as registerNativeKernels left it

const sizes = [37, 53, 11]; // three tables of prime sizes, as the hashed memories have
const dim = 6;

/** Train a fresh table for `steps` steps with or without the native pass; its three arrays. */
function train(useNative: boolean, shardBytes: number, steps: number) {
  setRowAdamKernel(useNative ? native : null);
  const table = new HostTable(sizes, dim, { initStd: 0.02, seed: 7, shardBytes });
  const adam = new SparseAdam(table, { beta1: 0.9, beta2: 0.95, eps: 1e-8 });
  let s = 0x1234567;
  const next = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
  for (let t = 0; t < steps; t++) {
    const positions = 40;
    const ids = new Int32Array(positions * sizes.length);
    // few distinct ids per table: most rows repeat within a step (the coalescing path)
    for (let i = 0; i < ids.length; i++) ids[i] = next(Math.min(sizes[i % sizes.length], 9));
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
    ['one shard', 1 << 20],
    ['many shards, the last one short', 4 * dim * 8], // 8 rows per shard over 101 rows
  ])('gives the JS loops bits: %s', (_, shardBytes) => {
    const js = train(false, shardBytes, 5);
    const nat = train(true, shardBytes, 5);
    expect(nat.shards).toBe(js.shards);
    expect(firstDiff(nat.w, js.w)).toBe('same');
    expect(firstDiff(nat.m, js.m)).toBe('same');
    expect(firstDiff(nat.v, js.v)).toBe('same');
    // and the step changed the tables (a test of a no-op would pass too)
    const untouched = train(false, shardBytes, 0);
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
});
