/**
 * The optional N-API addon (native/, DESIGN "Compute"): where it is, whether it may be used,
 * and its functions' signatures (mirroring native/src/*.c). Everything that takes a heap works
 * in place on the tfjs wasm heap (HEAPU8): offsets are bytes, sizes and strides are elements.
 *
 * ENGRAM_SWEEP_NATIVE=0 (or "false", "off") turns it off; a missing or broken build is reported
 * with a reason and the wasm path runs alone.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface BlasInfo {
  /** openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64" */
  config: string;
  /** the kernel set in use (OPENBLAS_CORETYPE picks it) */
  corename: string;
  threads: number;
}

type H = Uint8Array;

export interface NativeAddon {
  info(): BlasInfo;
  setThreads(n: number): void;
  sgemm(heap: H, batch: number, ta: number, tb: number, M: number, N: number, K: number, alpha: number,
    aOff: number, sa: number, bOff: number, sb: number, beta: number, cOff: number, sc: number): void;
  /** dims = [shape | strides of a | strides of b], one entry per collapsed axis */
  binary(heap: H, op: number, outOff: number, aOff: number, bOff: number, dims: Int32Array): void;
  /** dims = [shape | out strides | x strides]; 4-byte elements */
  copy(heap: H, outOff: number, xOff: number, dims: Int32Array): void;
  unary(heap: H, op: number, outOff: number, xOff: number, n: number): void;
  /** leading = 1: [outer, inner] -> [inner]; 0: [outer, inner] -> [outer] */
  reduce(heap: H, op: number, outOff: number, xOff: number, outer: number, inner: number, leading: number): void;
  softmax(heap: H, outOff: number, xOff: number, rows: number, cols: number): void;
  rmsnormFwd(heap: H, yOff: number, invOff: number, xOff: number, wOff: number, rows: number, d: number, eps: number): void;
  rmsnormBwd(heap: H, dxOff: number, dwOff: number, dyOff: number, xOff: number, wOff: number, invOff: number,
    rows: number, d: number): void;
  swigluFwd(heap: H, yOff: number, guOff: number, rows: number, h: number): void;
  swigluBwd(heap: H, dguOff: number, dyOff: number, guOff: number, rows: number, h: number): void;
  /** returns the first row whose label is outside [0, v), or -1 */
  softmaxCE(heap: H, lossOff: number, bpOff: number, logitsOff: number, labelsOff: number, rows: number, v: number): number;
  softmaxBwd(heap: H, dxOff: number, dyOff: number, yOff: number, rows: number, cols: number): void;
  attentionFwd(heap: H, outOff: number, qrOff: number, krOff: number, probsOff: number, qkvOff: number, cosOff: number,
    sinOff: number, B: number, T: number, heads: number, dh: number, scale: number): void;
  attentionBwd(heap: H, dqkvOff: number, doutOff: number, qrOff: number, krOff: number, probsOff: number, qkvOff: number,
    cosOff: number, sinOff: number, B: number, T: number, heads: number, dh: number, scale: number): void;
  /** AdamW in place; see native/src/fused.c for the argument order */
  adamw(heap: H, pOff: number, mOff: number, vOff: number, gOff: number, n: number, scale: number, b1: number, c1: number,
    b2: number, c2: number, bc1: number, bc2: number, eps: number, keep: number, lr: number, scaled: number, decayed: number): void;
  sumSquares(heap: H, xOff: number, n: number): number;
  rope(heap: H, outOff: number, xOff: number, cosOff: number, sinOff: number, outer: number, T: number, dh: number,
    inverse: number): void;
}

/** Operation codes shared with native/src/common.h. */
export const BINARY = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6 } as const;
export const UNARY = {
  Exp: 0, Sigmoid: 1, Neg: 2, Square: 3, Sqrt: 4, Rsqrt: 5, Reciprocal: 6, Abs: 7, Relu: 8,
} as const;
export const REDUCE = { Sum: 0, Max: 1, Mean: 2, Min: 3 } as const;

/** Where node-gyp puts the build (native/binding.gyp); the same from src/native and dist/native. */
export const ADDON_PATH = fileURLToPath(new URL('../../native/build/Release/engram_native.node', import.meta.url));

/** broken: the build is there but does not load (a reason worth a log line, unlike "not built"). */
export type NativeState = { ok: true; addon: NativeAddon; path: string } | { ok: false; reason: string; broken?: boolean };

/** True when the environment turns the addon off (ENGRAM_SWEEP_NATIVE=0|false|off). */
export function nativeDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.ENGRAM_SWEEP_NATIVE ?? '').trim().toLowerCase();
  return v === '0' || v === 'false' || v === 'off';
}

let cached: NativeState | undefined;

/** Load the addon once per process; the reason says why not when it cannot be used. */
export function loadNative(): NativeState {
  if (cached) return cached;
  if (nativeDisabled()) return (cached = { ok: false, reason: 'disabled by ENGRAM_SWEEP_NATIVE=0' });
  if (!existsSync(ADDON_PATH)) {
    return (cached = { ok: false, reason: 'not built (needs a C compiler and OpenBLAS; run npm run build:native)' });
  }
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
    if (typeof addon.sgemm !== 'function') return (cached = { ok: false, reason: `${ADDON_PATH} is not this addon`, broken: true });
    return (cached = { ok: true, addon, path: ADDON_PATH });
  } catch (err) {
    return (cached = { ok: false, reason: `failed to load: ${(err as Error)?.message ?? err}`, broken: true });
  }
}
