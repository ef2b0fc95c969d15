/**
 * Per-layer hash multipliers (docs/SPEC.md section 2.2): one vector of N odd int64 values per Engram
 * layer, shared by all its orders and heads, drawn exactly as the reference's
 * `np.random.default_rng(seed + 10007 * layer_id).integers(0, half, size=N, dtype=int64)`.
 */
import { InputError, show } from '../contract/errors.js';
import { Pcg64 } from './pcg64.js';

const INT64_MAX = (1n << 63n) - 1n;
/** Layer seeds are spaced by this prime in the reference. */
export const LAYER_SEED_STRIDE = 10007;

function requireInt(where: string, name: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min) {
    throw new InputError(where, `${name} ${show(v)} must be an integer >= ${min}`);
  }
}

/**
 * m_k = 2 r_k + 1 for k < maxNgram, r_k uniform in [0, half),
 * half = max(1, floor((2^63 - 1) / |V'|) div 2): keeps x * m below 2^63 for every id x < |V'|.
 */
export function layerMultipliers(vocabSize: number, seed: number, layerId: number, maxNgram: number): bigint[] {
  const where = 'layerMultipliers';
  requireInt(where, 'vocab size', vocabSize, 1);
  requireInt(where, 'seed', seed, 0);
  requireInt(where, 'layer id', layerId, 0);
  requireInt(where, 'max n-gram size', maxNgram, 2);
  let half = INT64_MAX / BigInt(vocabSize) / 2n;
  if (half < 1n) half = 1n;
  // BigInt sum: seed + 10007 * layerId may pass 2^53; numpy takes any non-negative Python int.
  const rng = Pcg64.fromSeed(BigInt(seed) + BigInt(LAYER_SEED_STRIDE) * BigInt(layerId));
  return rng.integers(half, maxNgram).map((r) => 2n * r + 1n);
}

/** Explicit multipliers from config (docs/SPEC.md section 2.2): N of them, each odd, 0 < m < 2^63. */
export function validateMultipliers(ms: bigint[], maxNgram: number, where: string): void {
  if (!Array.isArray(ms) || ms.length !== maxNgram) {
    const got = Array.isArray(ms) ? `${ms.length} multipliers` : show(ms);
    throw new InputError(where, `expected ${maxNgram} multipliers (one per n-gram position), got ${got}`);
  }
  ms.forEach((m, i) => {
    if (typeof m !== 'bigint' || m <= 0n || m > INT64_MAX || (m & 1n) === 0n) {
      const v = typeof m === 'bigint' ? m.toString() : show(m);
      throw new InputError(where, `multiplier ${v} must be an odd integer with 0 < m < 2^63`, `multipliers[${i}]`);
    }
  });
}
