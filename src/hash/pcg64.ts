/**
 * A port of numpy's `np.random.default_rng(seed)` for non-negative integer seeds, enough to
 * draw `integers(0, high, size, dtype=int64)` bit for bit (docs/SPEC.md section 2.2: the multipliers
 * are defined by that call). Chain: SeedSequence (entropy pool, hashmix) -> generate_state(4,
 * uint64) -> PCG64 (128-bit LCG, XSL-RR output) -> Lemire's bounded draw with rejection.
 * BigInt throughout: only a handful of draws per layer, so clarity wins over speed.
 */
import { InputError, show } from '../contract/errors.js';

const MASK32 = 0xffffffffn;
const MASK64 = (1n << 64n) - 1n;
const MASK128 = (1n << 128n) - 1n;

// numpy/random/bit_generator.pyx constants (O'Neill's seed_seq alternative).
const POOL_SIZE = 4;
const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const XSHIFT = 16;

// PCG_DEFAULT_MULTIPLIER_128 of the PCG reference (used by numpy's PCG64, not PCG64DXSM).
const PCG_MULT = (2549297995355413924n << 64n) + 4865540595714422341n;

/** An integer seed as little-endian uint32 words, at least one word (numpy's _int_to_uint32_array). */
function seedWords(seed: bigint): number[] {
  const words: number[] = [];
  if (seed === 0n) words.push(0);
  for (let n = seed; n > 0n; n >>= 32n) words.push(Number(n & MASK32));
  return words;
}

/** numpy's SeedSequence(entropy) without spawn keys: the mixed 4-word pool. */
export class SeedSequence {
  readonly pool: Uint32Array;

  constructor(entropy: bigint) {
    if (entropy < 0n) throw new InputError('seed', `seed ${entropy} must be a non-negative integer`);
    this.pool = mixEntropy(seedWords(entropy));
  }

  /** generate_state(nWords, uint32): the pool cycled through a second hash chain. */
  generateState32(nWords: number): Uint32Array {
    const out = new Uint32Array(nWords);
    let hashConst = INIT_B;
    for (let i = 0; i < nWords; i++) {
      let v = (this.pool[i % POOL_SIZE] ^ hashConst) >>> 0;
      hashConst = Math.imul(hashConst, MULT_B) >>> 0;
      v = Math.imul(v, hashConst) >>> 0;
      out[i] = (v ^ (v >>> XSHIFT)) >>> 0;
    }
    return out;
  }

  /** generate_state(nWords, uint64): twice the uint32 words, paired little-endian. */
  generateState64(nWords: number): bigint[] {
    const w = this.generateState32(2 * nWords);
    const out: bigint[] = [];
    for (let i = 0; i < nWords; i++) out.push((BigInt(w[2 * i + 1]) << 32n) | BigInt(w[2 * i]));
    return out;
  }
}

function mixEntropy(entropy: number[]): Uint32Array {
  const hc = { value: INIT_A };
  const hashmix = (value: number): number => {
    let v = (value ^ hc.value) >>> 0;
    hc.value = Math.imul(hc.value, MULT_A) >>> 0;
    v = Math.imul(v, hc.value) >>> 0;
    return (v ^ (v >>> XSHIFT)) >>> 0;
  };
  const mix = (x: number, y: number): number => {
    const r = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
    return (r ^ (r >>> XSHIFT)) >>> 0;
  };
  const pool = new Uint32Array(POOL_SIZE);
  for (let i = 0; i < POOL_SIZE; i++) pool[i] = hashmix(i < entropy.length ? entropy[i] : 0);
  // Mix all bits together so late words affect early ones.
  for (let src = 0; src < POOL_SIZE; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) {
      if (src !== dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
    }
  }
  for (let src = POOL_SIZE; src < entropy.length; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) pool[dst] = mix(pool[dst], hashmix(entropy[src]));
  }
  return pool;
}

/** numpy's PCG64 bit generator (XSL-RR 128/64) with its Generator.integers for int64. */
export class Pcg64 {
  private state = 0n;
  private inc = 0n;
  /** numpy's next32 hands out the high half of a 64-bit draw on the following call. */
  private bufferedHigh: number | null = null;

  private constructor() {}

  /** Same stream as `np.random.default_rng(seed)` (seed: non-negative integer). */
  static fromSeed(seed: number | bigint): Pcg64 {
    if (typeof seed === 'number' && !Number.isSafeInteger(seed)) {
      throw new InputError('seed', `seed ${show(seed)} must be a non-negative integer`);
    }
    const words = new SeedSequence(BigInt(seed)).generateState64(4);
    return Pcg64.fromState((words[0] << 64n) | words[1], (words[2] << 64n) | words[3]);
  }

  /** pcg_setseq_128_srandom_r(initState, initSeq), as numpy's pcg64_set_seed calls it. */
  static fromState(initState: bigint, initSeq: bigint): Pcg64 {
    const g = new Pcg64();
    g.inc = ((initSeq << 1n) | 1n) & MASK128;
    g.step();
    g.state = (g.state + initState) & MASK128;
    g.step();
    return g;
  }

  private step(): void {
    this.state = (this.state * PCG_MULT + this.inc) & MASK128;
  }

  /** One raw 64-bit output: step, then XSL-RR of the new state. */
  next64(): bigint {
    this.step();
    const s = this.state;
    const xored = ((s >> 64n) ^ s) & MASK64;
    const rot = s >> 122n;
    return ((xored >> rot) | (xored << ((64n - rot) & 63n))) & MASK64;
  }

  /** numpy's pcg64_next32: low half now, high half buffered for the next call. */
  next32(): number {
    if (this.bufferedHigh !== null) {
      const v = this.bufferedHigh;
      this.bufferedHigh = null;
      return v;
    }
    const next = this.next64();
    this.bufferedHigh = Number(next >> 32n);
    return Number(next & MASK32);
  }

  /** Generator.integers(0, high, size, dtype=int64), numpy's default (Lemire) path. */
  integers(high: bigint, size: number): bigint[] {
    if (high <= 0n || high > (1n << 63n) - 1n) {
      throw new InputError('integers', `high ${high} must be in [1, 2^63 - 1]`);
    }
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new InputError('integers', `size ${show(size)} must be a non-negative integer`);
    }
    // numpy passes rng = high - low - 1 (the inclusive range) to random_bounded_uint64_fill.
    const rng = high - 1n;
    const out: bigint[] = [];
    for (let i = 0; i < size; i++) out.push(this.boundedUint64(rng));
    return out;
  }

  /** random_bounded_uint64_fill's dispatch for one value, off = 0, use_masked = false. */
  private boundedUint64(rng: bigint): bigint {
    if (rng === 0n) return 0n;
    if (rng <= MASK32) {
      if (rng === MASK32) return BigInt(this.next32());
      return BigInt(this.lemire32(Number(rng)));
    }
    if (rng === MASK64) return this.next64();
    return this.lemire64(rng);
  }

  /** bounded_lemire_uint64: multiply-high with rejection of the biased low part. */
  private lemire64(rng: bigint): bigint {
    const rngExcl = rng + 1n;
    let m = this.next64() * rngExcl;
    let leftover = m & MASK64;
    if (leftover < rngExcl) {
      const threshold = (MASK64 - rng) % rngExcl;
      while (leftover < threshold) {
        m = this.next64() * rngExcl;
        leftover = m & MASK64;
      }
    }
    return m >> 64n;
  }

  /** buffered_bounded_lemire_uint32 (ranges below 2^32 - 1; |V'| >= 2^30 only). */
  private lemire32(rng: number): number {
    const rngExcl = BigInt(rng + 1);
    let m = BigInt(this.next32()) * rngExcl;
    let leftover = m & MASK32;
    if (leftover < rngExcl) {
      const threshold = (MASK32 - BigInt(rng)) % rngExcl;
      while (leftover < threshold) {
        m = BigInt(this.next32()) * rngExcl;
        leftover = m & MASK32;
      }
    }
    return Number(m >> 32n);
  }
}
