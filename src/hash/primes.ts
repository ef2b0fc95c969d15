/**
 * Prime table sizes for the hashed n-gram embeddings (docs/SPEC.md section 2.3). Every table is
 * prime-sized and distinct across all layers, so two heads never share a modulus: collisions in
 * one head are independent of collisions in another.
 */
import { InputError, show } from '../contract/errors.js';

/** Deterministic Miller-Rabin witnesses, exact for every n < 3.3e24. */
const MR_BASES = [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n];

function powMod(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  for (; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
  }
  return r;
}

function millerRabin(n: bigint): boolean {
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  for (const a of MR_BASES) {
    if (a % n === 0n) continue;
    let x = powMod(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    let composite = true;
    for (let i = 1; i < s && composite; i++) {
      x = (x * x) % n;
      if (x === n - 1n) composite = false;
    }
    if (composite) return false;
  }
  return true;
}

/** Exact primality for safe integers: trial division by 6k +- 1 below 2^32, Miller-Rabin above. */
export function isPrime(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 2) return false;
  if (n < 4) return true;
  if (n % 2 === 0 || n % 3 === 0) return false;
  if (n >= 2 ** 32) return millerRabin(BigInt(n));
  for (let f = 5; f * f <= n; f += 6) {
    if (n % f === 0 || n % (f + 2) === 0) return false;
  }
  return true;
}

function validate(baseSizes: number[], layerIds: number[], maxNgram: number, heads: number): void {
  const where = 'tableSizes';
  if (!Number.isSafeInteger(maxNgram) || maxNgram < 2) {
    throw new InputError(where, `max n-gram size ${show(maxNgram)} must be an integer >= 2`);
  }
  if (!Number.isSafeInteger(heads) || heads < 1) {
    throw new InputError(where, `heads per n-gram ${show(heads)} must be an integer >= 1`);
  }
  if (!Array.isArray(baseSizes) || baseSizes.length !== maxNgram - 1) {
    throw new InputError(where, `expected ${maxNgram - 1} base sizes (orders 2..${maxNgram}), got ${show(baseSizes)}`);
  }
  baseSizes.forEach((b, i) => {
    if (!Number.isSafeInteger(b) || b < 1) {
      throw new InputError(where, `base size ${show(b)} must be an integer >= 1`, `engram_vocab_size[${i}]`);
    }
  });
  const seen = new Set<number>();
  layerIds.forEach((id, i) => {
    if (!Number.isSafeInteger(id) || id < 0) {
      throw new InputError(where, `layer id ${show(id)} must be an integer >= 0`, `layer_ids[${i}]`);
    }
    if (seen.has(id)) throw new InputError(where, `layer id ${id} appears twice`, `layer_ids[${i}]`);
    seen.add(id);
  });
}

/**
 * Per layer id: sizes[order index (n = 2..N)][head]. One used-set across all layers, walked in
 * the order of layerIds: for each order start = base - 1, each head takes the smallest unused
 * prime > start and moves start there (docs/SPEC.md section 2.3).
 */
export function tableSizes(
  baseSizes: number[],
  layerIds: number[],
  maxNgram: number,
  headsPerNgram: number,
): Map<number, number[][]> {
  validate(baseSizes, layerIds, maxNgram, headsPerNgram);
  const used = new Set<number>();
  const out = new Map<number, number[][]>();
  for (const layerId of layerIds) {
    const perOrder: number[][] = [];
    for (let o = 0; o < maxNgram - 1; o++) {
      const heads: number[] = [];
      let start = baseSizes[o] - 1;
      for (let k = 0; k < headsPerNgram; k++) {
        let p = start + 1;
        while (used.has(p) || !isPrime(p)) p++;
        used.add(p);
        heads.push(p);
        start = p;
      }
      perOrder.push(heads);
    }
    out.set(layerId, perOrder);
  }
  return out;
}
