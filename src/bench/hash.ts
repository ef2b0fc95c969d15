/**
 * Throughput of the training-time hash (computeMix + mixToIndices) on one core, with the default
 * Engram shape (N = 3, K = 8: 16 head indices per token) and a realistic compressed vocabulary.
 */
import { InputError, show } from '../contract/errors.js';
import { layerMultipliers } from '../hash/multipliers.js';
import { computeMix, mixToIndices } from '../hash/ngram.js';
import { tableSizes } from '../hash/primes.js';

export interface HashBench {
  indicesPerSec: number;
  seconds: number;
  indices: number;
}

/** Deterministic ids (xorshift32) so runs are comparable; no Math.random in measurements. */
function syntheticIds(n: number, vocab: number): Int32Array {
  const ids = new Int32Array(n);
  let s = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    ids[i] = (s >>> 0) % vocab;
  }
  return ids;
}

function runOnce(ids: Int32Array, B: number, T: number, mults: bigint[], sizes: number[][], out: Int32Array): number {
  const t0 = process.hrtime.bigint();
  mixToIndices(computeMix(ids, B, T, 0, mults, 3), sizes, out);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Hash `tokens` ids (default 1e6, rows of 512) once after a small warm-up; report the rate. */
export function benchHashing(opts: { tokens?: number } = {}): HashBench {
  const T = 512;
  const tokens = opts.tokens ?? 1_000_000;
  if (!Number.isSafeInteger(tokens) || tokens < T) {
    throw new InputError('benchHashing', `tokens ${show(tokens)} must be an integer >= ${T}`);
  }
  const B = Math.floor(tokens / T);
  const vocab = 98_627; // DeepSeek-V3 compressed vocabulary (docs/SPEC.md section 1)
  const mults = layerMultipliers(vocab, 0, 1, 3);
  const sizes = tableSizes([2_262_400, 2_262_400], [1], 3, 8).get(1)!;
  const ids = syntheticIds(B * T, vocab);
  const perToken = 2 * 8;
  // Warm-up on a slice so the JIT has optimised both loops before the timed run.
  const wB = Math.max(1, Math.min(B, 64));
  runOnce(ids.subarray(0, wB * T), wB, T, mults, sizes, new Int32Array(wB * T * perToken));
  const out = new Int32Array(B * T * perToken);
  const seconds = runOnce(ids, B, T, mults, sizes, out);
  const indices = out.length;
  return { indicesPerSec: indices / seconds, seconds, indices };
}
