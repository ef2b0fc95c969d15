/**
 * The whole n-gram hash written plainly with BigInt, straight from docs/SPEC.md sections 2.4-2.6: slow,
 * obviously exact, the yardstick for the fast path in ngram.ts and for anyone checking.
 * int64 arithmetic wraps like numpy's: every product goes through BigInt.asIntN(64, .).
 */
import { InputError, show } from '../contract/errors.js';

/** Floor-mod: the result is in [0, p) for negative a too (numpy's % for a positive modulus). */
function floorMod(a: bigint, p: bigint): bigint {
  const r = a % p;
  return r < 0n ? r + p : r;
}

/**
 * ids [B][T] (compressed, may be negative), pad = P(pad_id), mults m_0..m_{N-1},
 * sizes [order index][head] with N - 1 orders. Returns [B][T][(N-1)K], order-major.
 */
export function hashIdsBigInt(ids: number[][], pad: number, mults: bigint[], sizes: number[][]): number[][][] {
  const N = sizes.length + 1;
  if (mults.length !== N) {
    throw new InputError('hashIdsBigInt', `expected ${N} multipliers for ${N - 1} orders, got ${show(mults.length)}`);
  }
  return ids.map((row) =>
    row.map((_, t) => {
      const x = (pos: number): bigint => BigInt(pos >= 0 ? row[pos] : pad);
      const out: number[] = [];
      for (let n = 2; n <= N; n++) {
        // mix = (x_t * m_0) XOR (x_{t-1} * m_1) XOR ... XOR (x_{t-n+1} * m_{n-1})
        let mix = 0n;
        for (let j = 0; j < n; j++) mix ^= BigInt.asIntN(64, x(t - j) * mults[j]);
        mix = BigInt.asIntN(64, mix);
        for (const p of sizes[n - 2]) out.push(Number(floorMod(mix, BigInt(p))));
      }
      return out;
    }),
  );
}
