/**
 * The fast, exact n-gram hash used in training (docs/SPEC.md sections 2.4-2.6), without BigInt.
 *
 * mix_n(t) = XOR_{j<n} (x'_{t-j} * m_j) in signed 64-bit (wrapping, as numpy's int64 does), with
 * pad' before the start of each row; idx = mix floor-mod p. A 64-bit value lives as two 32-bit
 * words. Products: low word by Math.imul, high word from 16-bit pieces of m so every partial
 * product is an exact double (< 2^49). Modulo: ((hi mod p) * (2^32 mod p) + lo) mod p, every
 * term an exact double while p <= MAX_TABLE_SIZE; each mod by a reciprocal multiply, whose
 * quotient is off by at most one and is corrected.
 *
 * The mix does not depend on the table sizes, so it is returned separately (Mix) and can be
 * cached once per corpus and reused by trials whose primes differ (docs/SPEC.md section 2.6, last paragraph).
 */
import { InputError, show } from '../contract/errors.js';
import { validateMultipliers } from './multipliers.js';
import { isPrime } from './primes.js';

/** Largest p with (p-1)^2 + (2^32 - 1) + p <= 2^53: the modular step stays exact in doubles. */
export const MAX_TABLE_SIZE = 94_906_243;

const TWO_POW_M16 = 1 / 65536;

/** The int64 mix per order n = 2..N, as word arrays of length B*T (row-major [B][T]). */
export interface Mix {
  B: number;
  T: number;
  maxNgram: number;
  /** hi[o]: high words (signed) of the mix for order n = o + 2. */
  hi: Int32Array[];
  /** lo[o]: low words of the mix for order n = o + 2. */
  lo: Uint32Array[];
}

/** A multiplier split for the product below: m mod 2^64 = mh * 2^32 + ml, ml = a * 2^16 + b. */
interface SplitMult {
  ml: number;
  mh: number;
  a: number;
  b: number;
}

function splitMult(m: bigint): SplitMult {
  const w = BigInt.asUintN(64, m);
  const ml = Number(w & 0xffffffffn);
  return { ml, mh: Number(w >> 32n) | 0, a: ml >>> 16, b: ml & 0xffff };
}

/** x * m mod 2^64 as [hi (int32), lo (uint32)] words, x a signed 32-bit id. */
export function mulWords(x: number, m: bigint): [number, number] {
  const s = splitMult(m);
  const u = x >>> 0;
  const carry = Math.floor((u * s.a + Math.floor(u * s.b * TWO_POW_M16)) * TWO_POW_M16);
  // x < 0 means x = u - 2^32: subtract 2^32 * m, i.e. ml from the high word.
  const hi = (carry + Math.imul(u, s.mh) - (x < 0 ? s.ml : 0)) | 0;
  return [hi, Math.imul(u, s.ml) >>> 0];
}

function checkShape(ids: Int32Array, B: number, T: number, pad: number): void {
  const where = 'computeMix';
  if (!Number.isSafeInteger(B) || B < 0 || !Number.isSafeInteger(T) || T < 0) {
    throw new InputError(where, `batch shape [${show(B)}, ${show(T)}] must be non-negative integers`);
  }
  if (!(ids instanceof Int32Array) || ids.length !== B * T) {
    throw new InputError(where, `ids must be an Int32Array of length B*T = ${B * T}, got ${ids?.length}`);
  }
  if (!Number.isInteger(pad) || pad < -(2 ** 31) || pad >= 2 ** 31) {
    throw new InputError(where, `pad id ${show(pad)} must be a 32-bit integer`);
  }
}

/** docs/SPEC.md section 2.4: mixes of all orders, each row padded with pad' on its own. */
export function computeMix(ids: Int32Array, B: number, T: number, pad: number, mults: bigint[], maxNgram: number): Mix {
  checkShape(ids, B, T, pad);
  validateMultipliers(mults, maxNgram, 'computeMix');
  const N = maxNgram;
  const ml = new Float64Array(N),
    mh = new Int32Array(N);
  const ma = new Float64Array(N),
    mb = new Float64Array(N);
  const padHi = new Int32Array(N),
    padLo = new Uint32Array(N);
  mults.forEach((m, j) => {
    const s = splitMult(m);
    [ml[j], mh[j], ma[j], mb[j]] = [s.ml, s.mh, s.a, s.b];
    [padHi[j], padLo[j]] = mulWords(pad, m);
  });
  const hi: Int32Array[] = [],
    lo: Uint32Array[] = [];
  for (let o = 0; o < N - 1; o++) {
    hi.push(new Int32Array(B * T));
    lo.push(new Uint32Array(B * T));
  }
  for (let b = 0; b < B; b++) {
    const row = b * T;
    for (let t = 0; t < T; t++) {
      let accHi = 0,
        accLo = 0;
      for (let j = 0; j < N; j++) {
        let pHi: number, pLo: number;
        if (t - j < 0) {
          pHi = padHi[j];
          pLo = padLo[j];
        } else {
          // Inlined mulWords(x, m_j): the hot loop must not allocate.
          const x = ids[row + t - j];
          const u = x >>> 0;
          const carry = Math.floor((u * ma[j] + Math.floor(u * mb[j] * TWO_POW_M16)) * TWO_POW_M16);
          pHi = (carry + Math.imul(u, mh[j]) - (x < 0 ? ml[j] : 0)) | 0;
          pLo = Math.imul(u, ml[j]);
        }
        accHi ^= pHi;
        accLo ^= pLo;
        if (j >= 1) {
          hi[j - 1][row + t] = accHi;
          lo[j - 1][row + t] = accLo;
        }
      }
    }
  }
  return { B, T, maxNgram: N, hi, lo };
}

function checkSizes(mix: Mix, sizes: number[][]): number {
  const where = 'mixToIndices';
  if (!Array.isArray(sizes) || sizes.length !== mix.maxNgram - 1) {
    throw new InputError(where, `expected ${mix.maxNgram - 1} orders of table sizes, got ${show(sizes)}`);
  }
  const K = sizes[0]?.length ?? 0;
  sizes.forEach((heads, o) => {
    if (!Array.isArray(heads) || heads.length !== K || K < 1) {
      throw new InputError(where, `every order needs the same number (>= 1) of heads, got ${show(sizes)}`);
    }
    heads.forEach((p, k) => {
      if (!Number.isSafeInteger(p) || p < 2 || p > MAX_TABLE_SIZE || !isPrime(p)) {
        throw new InputError(
          where,
          `table size ${show(p)} must be a prime <= ${MAX_TABLE_SIZE} (exact fast modulo)`,
          `sizes[${o}][${k}]`,
        );
      }
    });
  });
  return K;
}

/** docs/SPEC.md sections 2.5-2.6: out[B][T][(N-1)K], order-major, per-table indices in [0, p), no offsets. */
export function mixToIndices(mix: Mix, sizes: number[][], out?: Int32Array): Int32Array {
  const K = checkSizes(mix, sizes);
  const nOrders = mix.maxNgram - 1;
  const stride = nOrders * K;
  const BT = mix.B * mix.T;
  if (out !== undefined && (!(out instanceof Int32Array) || out.length !== BT * stride)) {
    throw new InputError('mixToIndices', `out must be an Int32Array of length ${BT * stride}`);
  }
  const res = out ?? new Int32Array(BT * stride);
  const P = new Float64Array(K),
    INV = new Float64Array(K),
    R32 = new Float64Array(K);
  for (let o = 0; o < nOrders; o++) {
    for (let k = 0; k < K; k++) {
      P[k] = sizes[o][k];
      INV[k] = 1 / P[k];
      R32[k] = 2 ** 32 % P[k];
    }
    const hiArr = mix.hi[o],
      loArr = mix.lo[o];
    for (let i = 0; i < BT; i++) {
      const hi = hiArr[i],
        lo = loArr[i];
      const base = i * stride + o * K;
      for (let k = 0; k < K; k++) {
        const p = P[k],
          inv = INV[k];
        // floor-mod of the signed high word; the quotient estimate is off by at most one, and
        // h in [0, p) keeps v below 2^53 and non-negative.
        let h = hi - Math.floor(hi * inv) * p;
        if (h < 0) h += p;
        else if (h >= p) h -= p;
        const v = h * R32[k] + lo; // < 2^53 by MAX_TABLE_SIZE
        let r = v - Math.floor(v * inv) * p;
        if (r < 0) r += p;
        else if (r >= p) r -= p;
        res[base + k] = r;
      }
    }
  }
  return res;
}

/** computeMix + mixToIndices; N = sizes.length + 1. */
export function hashIds(
  ids: Int32Array,
  B: number,
  T: number,
  pad: number,
  mults: bigint[],
  sizes: number[][],
): Int32Array {
  return mixToIndices(computeMix(ids, B, T, pad, mults, sizes.length + 1), sizes);
}
