/**
 * Shared setup of the native kernel tests. The kernel tests run on the wasm backend with
 * whatever is registered: the addon's kernels when it is built, our TypeScript kernels with
 * ENGRAM_SWEEP_NATIVE=0 (run `ENGRAM_SWEEP_NATIVE=0 npx vitest run test/native` for the pure wasm
 * path). Only the tests that need the addon itself skip without it (one line says why), and
 * fail instead under ENGRAM_SWEEP_REQUIRE_SYSTEM=1.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, quietCpuBanner } from '../../src/backend/index.js';
import { nativeDisabled, nativeInfo, type NativeInfo } from '../../src/backend/index.js';
import { INSTALL_NATIVE } from '../helpers/skip.js';

export const REQUIRE = process.env.ENGRAM_SWEEP_REQUIRE_SYSTEM === '1';

/** Start wasm (which registers the addon when it is there) and say which path runs. */
export async function setup(): Promise<{ info: NativeInfo; path: string }> {
  await initBackend('wasm');
  const info = nativeInfo();
  return { info, path: info.active ? 'native' : 'wasm' };
}

/** Whether the addon-only tests should skip, printing the one-line reason once. */
export function skipNative(info: NativeInfo, file: string): boolean {
  if (info.active) return false;
  if (REQUIRE && !nativeDisabled()) return false; // they run, and fail on the missing addon
  const fix = nativeDisabled() ? 'unset ENGRAM_SWEEP_NATIVE' : INSTALL_NATIVE;
  process.stderr.write(`skipped ${file}: native addon ${info.reason} (${fix})\n`);
  return true;
}

let seed = 0x2545f491;
/** Deterministic uniform values in [lo, hi) (an LCG, independent of tf's RNG). */
export function rand(n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * seed) / 2 ** 32;
  }
  return out;
}

export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Values of a tensor computed inside tidy on the wasm backend, as float64. */
export function values(f: () => tf.Tensor): { v: Float64Array; shape: number[] } {
  const t = tf.tidy(f);
  const out = { v: Float64Array.from(t.dataSync()), shape: t.shape };
  t.dispose();
  return out;
}

/** Run f on the JS CPU backend (tfjs' own kernels: an independent implementation), then return to wasm. */
export async function onCpu<T>(f: () => T): Promise<T> {
  await tf.setBackend('cpu');
  quietCpuBanner();
  try {
    return f();
  } finally {
    await tf.setBackend('wasm');
  }
}

/** max |a - b| / (atol + rtol |b|) over elements: <= 1 passes. NaNs must match. */
export function worst(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol: number): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let w = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) {
      if (!(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return Infinity;
      continue;
    }
    if (a[i] === b[i]) continue;
    w = Math.max(w, Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i])));
  }
  return w;
}
