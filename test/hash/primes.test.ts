import { describe, expect, it } from 'vitest';
import { isPrime, tableSizes } from '../../src/hash/primes.js';
import { InputError } from '../../src/cli/errors.js';

/** Plain trial division by every integer: slow, obviously right. */
function slowIsPrime(n: number): boolean {
  if (n < 2) return false;
  for (let f = 2; f * f <= n; f++) if (n % f === 0) return false;
  return true;
}

describe('isPrime', () => {
  it('agrees with a sieve below 10^5', () => {
    const N = 100_000;
    const composite = new Uint8Array(N);
    for (let i = 2; i * i < N; i++) if (!composite[i]) for (let j = i * i; j < N; j += i) composite[j] = 1;
    const wrong: number[] = [];
    for (let n = 0; n < N; n++) if (isPrime(n) !== (n >= 2 && !composite[n])) wrong.push(n);
    expect(wrong).toEqual([]);
  });

  it('agrees with trial division just above 2^32 (the Miller-Rabin path)', () => {
    const ns: number[] = [];
    for (let n = 2 ** 32 - 50; n < 2 ** 32 + 400; n++) ns.push(n);
    for (let n = 1e12; n < 1e12 + 100; n++) ns.push(n);
    // Strong pseudoprimes to the first 5 and 6 prime bases, and Fermat's F5 = 641 * 6700417.
    ns.push(2152302898747, 3474749660383, 4294967297);
    expect(ns.filter((n) => isPrime(n) !== slowIsPrime(n))).toEqual([]);
    expect(isPrime(4294967311)).toBe(true); // the smallest prime above 2^32
    expect(isPrime(3215031751)).toBe(false); // strong pseudoprime to bases 2, 3, 5, 7
  });

  it('says no to non-integers and unsafe integers', () => {
    expect(isPrime(7.5)).toBe(false);
    expect(isPrime(-7)).toBe(false);
    expect(isPrime(2 ** 53 + 1)).toBe(false);
  });
});

describe('tableSizes (docs/SPEC.md section 2.3)', () => {
  it('walks primes per layer, order and head from base - 1 with one used-set (hand-worked)', () => {
    // base [10, 10], layers [0, 1], N = 3, K = 2:
    //  layer 0, n=2: start 9 -> 11, 13;  n=3: start 9 -> 11, 13 used -> 17, 19
    //  layer 1, n=2: start 9 -> 11..19 used -> 23, 29;  n=3: 31, 37
    const s = tableSizes([10, 10], [0, 1], 3, 2);
    expect([...s.keys()]).toEqual([0, 1]);
    expect(s.get(0)).toEqual([
      [11, 13],
      [17, 19],
    ]);
    expect(s.get(1)).toEqual([
      [23, 29],
      [31, 37],
    ]);
  });

  it('takes the base itself when it is prime and unused, and skips used ones (hand-worked)', () => {
    // base [11, 5], layer 3, K = 3: n=2: start 10 -> 11, 13, 17; n=3: start 4 -> 5, 7, then 11/13/17 used -> 19
    expect(tableSizes([11, 5], [3], 3, 3).get(3)).toEqual([
      [11, 13, 17],
      [5, 7, 19],
    ]);
  });

  it('depends on the order of the layer list', () => {
    const a = tableSizes([10, 10], [1, 0], 3, 2);
    expect(a.get(1)).toEqual([
      [11, 13],
      [17, 19],
    ]);
    expect(a.get(0)).toEqual([
      [23, 29],
      [31, 37],
    ]);
  });

  it('gives distinct primes across all layers, orders and heads on a realistic shape', () => {
    const s = tableSizes([2_262_400, 2_262_400, 1_000_000], [1, 14, 7], 4, 8);
    const all = [...s.values()].flat(2);
    expect(all.length).toBe(3 * 3 * 8);
    expect(new Set(all).size).toBe(all.length);
    for (const p of all) expect(slowIsPrime(p)).toBe(true);
    for (const perOrder of s.values()) {
      perOrder.forEach((heads, o) => {
        const base = [2_262_400, 2_262_400, 1_000_000][o];
        heads.forEach((p, k) => expect(p >= base && (k === 0 || p > heads[k - 1])).toBe(true));
      });
    }
  });

  it.each([
    ['duplicate layer ids', [10, 10], [1, 1], 3, 2],
    ['non-integer base size', [10.5, 10], [1], 3, 2],
    ['base size < 1', [0, 10], [1], 3, 2],
    ['wrong number of base sizes', [10], [1], 3, 2],
    ['negative layer id', [10, 10], [-1], 3, 2],
    ['zero heads', [10, 10], [1], 3, 0],
    ['max n-gram < 2', [], [1], 1, 2],
  ])('rejects %s with an InputError', (_why, base, layers, N, K) => {
    expect(() => tableSizes(base as number[], layers as number[], N as number, K as number)).toThrow(InputError);
  });
});
