import { describe, expect, it } from 'vitest';
import { computeMix, hashIds, MAX_TABLE_SIZE, mixToIndices, mulWords } from '../../src/hash/ngram.js';
import { hashIdsBigInt } from '../../src/hash/reference.js';
import { layerMultipliers } from '../../src/hash/multipliers.js';
import { isPrime, tableSizes } from '../../src/hash/primes.js';
import { InputError } from '../../src/cli/errors.js';

/** Seeded PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
}

const INT64_MAX = 2n ** 63n - 1n;

function nextPrime(n: number): number {
  while (!isPrime(n)) n++;
  return n;
}

/** Flat fast output vs nested reference output. */
function fastVsRef(rows: number[][], pad: number, mults: bigint[], sizes: number[][]): void {
  const B = rows.length,
    T = rows[0]?.length ?? 0;
  const fast = hashIds(Int32Array.from(rows.flat()), B, T, pad, mults, sizes);
  const ref = hashIdsBigInt(rows, pad, mults, sizes).flat(2);
  expect(Array.from(fast)).toEqual(ref);
}

function randomRows(r: (n: number) => number, B: number, T: number, vocab: number): number[][] {
  return Array.from({ length: B }, () => Array.from({ length: T }, () => r(vocab)));
}

describe('mulWords', () => {
  it('is x * m mod 2^64 for random and extreme x, m', () => {
    const r = rng(1);
    const xs = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 65535, 65536, -65536];
    const ms = [1n, 3n, INT64_MAX, INT64_MAX - 2n, 2n ** 32n + 1n, 0xffffffffn, 2n ** 62n + 1n];
    for (let i = 0; i < 300; i++) {
      xs.push(r(2 ** 32) - 2 ** 31);
      ms.push((BigInt(r(2 ** 31)) << 32n) | BigInt(r(2 ** 32)) | 1n);
    }
    for (const x of xs) {
      for (const m of ms.slice(0, 40)) {
        const want = BigInt.asUintN(64, BigInt(x) * m);
        const [hi, lo] = mulWords(x, m);
        expect((BigInt(hi >>> 0) << 32n) | BigInt(lo), `${x} * ${m}`).toBe(want);
      }
    }
  });
});

describe('hashIds vs the BigInt reference', () => {
  it('agrees on random vocabularies, layer multipliers and primes up to 9e7', () => {
    const r = rng(2);
    for (let trial = 0; trial < 25; trial++) {
      const N = 2 + r(3),
        K = 1 + r(4);
      const vocab = 1 + r(2 ** 17);
      const mults = layerMultipliers(vocab, r(100), r(12), N);
      const sizes = Array.from({ length: N - 1 }, () =>
        Array.from({ length: K }, () => nextPrime(2 + r([100, 1e5, 9e7][r(3)]))),
      );
      const B = 1 + r(3),
        T = r(2) ? r(N) : 1 + r(40); // includes T < N and T = 0
      fastVsRef(randomRows(r, B, T, vocab), r(vocab), mults, sizes);
    }
  });

  it('agrees with adversarial multipliers near 2^63 and ids near 2^31 (wrapping products)', () => {
    const r = rng(3);
    for (let trial = 0; trial < 15; trial++) {
      const N = 2 + r(3),
        K = 1 + r(3);
      const mults = Array.from({ length: N }, () => INT64_MAX - 2n * BigInt(r(1000)));
      const sizes = Array.from({ length: N - 1 }, () =>
        Array.from({ length: K }, () => nextPrime(MAX_TABLE_SIZE - 2000 + r(1000))),
      );
      const T = 1 + r(12);
      const rows = Array.from({ length: 1 + r(3) }, () => Array.from({ length: T }, () => 2 ** 31 - 1 - r(1000)));
      fastVsRef(rows, 2 ** 31 - 1 - r(10), mults, sizes);
    }
  });

  it('agrees for negative ids and pad (signed int64 product, floor-mod into [0, p))', () => {
    const r = rng(4);
    for (let trial = 0; trial < 15; trial++) {
      const mults = [INT64_MAX, 3n, 1n + 2n * BigInt(r(2 ** 30))];
      // 94906219: the largest prime <= MAX_TABLE_SIZE.
      const sizes = [
        [11, 13],
        [nextPrime(1 + r(9e7)), 94906219],
      ];
      const rows = randomRows(r, 2, 6, 2 ** 31).map((row) => row.map((x) => (r(2) ? -x : x) - r(2)));
      fastVsRef(rows, -1 - r(100), mults, sizes);
    }
    // By hand: x = -1, m_0 = 3, pad = 0: mix = -3, and -3 floor-mod 11 = 8, mod 13 = 10.
    expect(Array.from(hashIds(Int32Array.of(-1), 1, 1, 0, [3n, 1n], [[11, 13]]))).toEqual([8, 10]);
  });
});

describe('mixToIndices at the edges of the quotient estimate', () => {
  it('gives the floor-mod for mixes at, just below and just above multiples of p', () => {
    // The reciprocal quotient may be off by one exactly here; the correction must catch it.
    const r = rng(6);
    const ps = [2, 3, 11, 65537, 999983, 2 ** 26 - 5, 94906219];
    for (let i = 0; i < 12; i++) ps.push(nextPrime(2 + r(MAX_TABLE_SIZE - 200)));
    for (const p of ps) {
      const vs: bigint[] = [];
      for (let i = 0; i < 300; i++) {
        // c * p (+-1) across the int64 range, and hi * 2^32 near multiples of p (lo = 0).
        const c = (BigInt(r(2 ** 31)) << BigInt(r(33))) * (r(2) ? 1n : -1n);
        const d = BigInt(r(3) - 1);
        vs.push(BigInt.asIntN(64, c * BigInt(p) + d));
        const h = BigInt(p) * BigInt(r(Math.floor(2 ** 31 / p))) * (r(2) ? 1n : -1n) + d;
        vs.push(BigInt.asIntN(64, h << 32n));
      }
      vs.push(-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n);
      const mix = {
        B: 1,
        T: vs.length,
        maxNgram: 2,
        hi: [Int32Array.from(vs, (v) => Number(BigInt.asIntN(32, v >> 32n)))],
        lo: [Uint32Array.from(vs, (v) => Number(BigInt.asUintN(32, v)))],
      };
      const got = Array.from(mixToIndices(mix, [[p]]));
      const want = vs.map((v) => Number(((v % BigInt(p)) + BigInt(p)) % BigInt(p)));
      expect(got, `p = ${p}`).toEqual(want);
    }
  });

  it('corrects a quotient estimate that overshoots (found by search: v = h R + lo = q p - 1 near 2^53)', () => {
    const p = 93952297;
    const los = [67113930, 161066227, 255018524, 348970821];
    const mix = { B: 1, T: 4, maxNgram: 2, hi: [Int32Array.from(los, () => p - 1)], lo: [Uint32Array.from(los)] };
    const want = los.map((lo) => Number(((BigInt(p - 1) << 32n) + BigInt(lo)) % BigInt(p)));
    expect(want).toEqual([p - 1, p - 1, p - 1, p - 1]);
    expect(Array.from(mixToIndices(mix, [[p]]))).toEqual(want);
  });
});

describe('layout and padding', () => {
  // Hand-worked, m = [1, 3, 5], pad' = 7, sizes [[11, 13], [17, 19]]:
  //  row [2, 5]: t0 n2 = 2 ^ 7*3 = 23 -> 1, 10;  n3 = 23 ^ 7*5 = 52 -> 1, 14
  //              t1 n2 = 5 ^ 2*3 = 3  -> 3, 3;   n3 = 3 ^ 35 = 32     -> 15, 13
  //  row [5, 2]: t0 n2 = 5 ^ 21 = 16  -> 5, 3;   n3 = 16 ^ 35 = 51    -> 0, 13
  //              t1 n2 = 2 ^ 15 = 13  -> 2, 0;   n3 = 13 ^ 35 = 46    -> 12, 8
  // Row 2 starts from pad' again, not from row 1's last id.
  const expected = [1, 10, 1, 14, 3, 3, 15, 13, 5, 3, 0, 13, 2, 0, 12, 8];

  it('is [B][T][(n=2, heads), (n=3, heads)] with per-row padding', () => {
    const out = hashIds(
      Int32Array.of(2, 5, 5, 2),
      2,
      2,
      7,
      [1n, 3n, 5n],
      [
        [11, 13],
        [17, 19],
      ],
    );
    expect(Array.from(out)).toEqual(expected);
  });

  it('keeps the mix reusable across table sizes and fills a given out buffer', () => {
    const mix = computeMix(Int32Array.of(2, 5, 5, 2), 2, 2, 7, [1n, 3n, 5n], 3);
    expect(Array.from(mix.lo[0])).toEqual([23, 3, 16, 13]);
    expect(Array.from(mix.lo[1])).toEqual([52, 32, 51, 46]);
    expect(Array.from(mix.hi[1])).toEqual([0, 0, 0, 0]);
    const out = new Int32Array(16);
    expect(
      mixToIndices(
        mix,
        [
          [11, 13],
          [17, 19],
        ],
        out,
      ),
    ).toBe(out);
    expect(Array.from(out)).toEqual(expected);
    // Same mix, other primes: 23 mod 2, mod 3; 52 mod 5, mod 7 ...
    expect(
      Array.from(
        mixToIndices(mix, [
          [2, 3],
          [5, 7],
        ]).slice(0, 4),
      ),
    ).toEqual([1, 2, 2, 3]);
  });
});

describe('guards', () => {
  it('MAX_TABLE_SIZE is the largest p keeping (p-1)^2 + 2^32 - 1 + p within 2^53', () => {
    const fits = (p: bigint): boolean => (p - 1n) ** 2n + 2n ** 32n - 1n + p <= 2n ** 53n;
    expect(fits(BigInt(MAX_TABLE_SIZE))).toBe(true);
    expect(fits(BigInt(MAX_TABLE_SIZE) + 1n)).toBe(false);
  });

  it('rejects tables too large for the exact modulo, non-primes and ragged heads', () => {
    const mix = computeMix(Int32Array.of(1, 2), 1, 2, 0, [1n, 3n], 2);
    const big = nextPrime(MAX_TABLE_SIZE + 1);
    expect(() => mixToIndices(mix, [[big]])).toThrow(InputError);
    expect(() => mixToIndices(mix, [[15]])).toThrow(InputError);
    expect(() => mixToIndices(mix, [[11], [13]])).toThrow(InputError);
    expect(() => mixToIndices(mix, [[11]], new Int32Array(3))).toThrow(InputError);
    const mix3 = computeMix(Int32Array.of(1, 2), 1, 2, 0, [1n, 3n, 5n], 3);
    expect(() => mixToIndices(mix3, [[11, 13], [17]])).toThrow(InputError);
  });

  it('rejects bad shapes, pads and multipliers', () => {
    expect(() => computeMix(Int32Array.of(1, 2, 3), 1, 2, 0, [1n, 3n], 2)).toThrow(InputError);
    expect(() => computeMix(Int32Array.of(1, 2), 1, 2, 2 ** 31, [1n, 3n], 2)).toThrow(InputError);
    expect(() => computeMix(Int32Array.of(1, 2), 1, 2, 0, [1n, 4n], 2)).toThrow(InputError);
    expect(() => computeMix(Int32Array.of(1, 2), 1, 2, 0, [1n, 3n, 5n], 2)).toThrow(InputError);
  });

  it('works with table sizes from tableSizes on a realistic shape', () => {
    const sizes = tableSizes([500_000, 600_000], [1, 14], 3, 8).get(14)!;
    const mults = layerMultipliers(98627, 0, 14, 3);
    const r = rng(5);
    fastVsRef(randomRows(r, 2, 64, 98627), 0, mults, sizes);
  });
});
