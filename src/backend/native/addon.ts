/**
 * The optional N-API addon (native/, DESIGN "Compute"): where it is, whether it may be used,
 * and its functions' signatures (mirroring native/src/*.c). Everything that takes a heap works
 * in place on the tfjs wasm heap (HEAPU8): offsets are bytes, sizes and strides are elements.
 *
 * ENGRAM_SWEEP_NATIVE=0 (or "false", "off") turns it off; a missing or broken build is reported
 * with a reason and the wasm path runs alone.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RowGatherKernel } from '../../memory/gather.js';
import type { RowAdamKernel } from '../../memory/sparse-adam.js';

export interface BlasInfo {
  /** openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64" */
  config: string;
  /** the kernel set in use (OPENBLAS_CORETYPE picks it) */
  corename: string;
  threads: number;
  /** the hash of native/src/* the addon was compiled from ("unknown" for a build without it) */
  sourcesHash?: string;
}

type H = Uint8Array;

export interface NativeAddon {
  info(): BlasInfo;
  setThreads(n: number): void;
  /** madvise(MADV_HUGEPAGE) on the 2 MiB-aligned interior of the array's memory; bytes advised (0: none) */
  adviseHugePages(a: ArrayBufferView): number;
  /** the host tables' lazy Adam (memory/sparse-adam.ts) on JS shards; returns the distinct rows */
  sparseAdam: RowAdamKernel;
  /** the host tables' row gather (memory/gather.ts copyRows) on JS shards */
  gatherHostRows: RowGatherKernel;
  sgemm(
    heap: H,
    batch: number,
    ta: number,
    tb: number,
    M: number,
    N: number,
    K: number,
    alpha: number,
    aOff: number,
    sa: number,
    bOff: number,
    sb: number,
    beta: number,
    cOff: number,
    sc: number,
  ): void;
  /** dims = [shape | strides of a | strides of b], one entry per collapsed axis */
  binary(heap: H, op: number, outOff: number, aOff: number, bOff: number, dims: Int32Array): void;
  /** dims = [shape | out strides | x strides]; 4-byte elements */
  copy(heap: H, outOff: number, xOff: number, dims: Int32Array): void;
  unary(heap: H, op: number, outOff: number, xOff: number, n: number): void;
  /** leading = 1: [outer, inner] -> [inner]; 0: [outer, inner] -> [outer] */
  reduce(heap: H, op: number, outOff: number, xOff: number, outer: number, inner: number, leading: number): void;
  softmax(heap: H, outOff: number, xOff: number, rows: number, cols: number): void;
  rmsnormFwd(
    heap: H,
    yOff: number,
    invOff: number,
    xOff: number,
    wOff: number,
    rows: number,
    d: number,
    eps: number,
  ): void;
  rmsnormBwd(
    heap: H,
    dxOff: number,
    dwOff: number,
    dyOff: number,
    xOff: number,
    wOff: number,
    invOff: number,
    rows: number,
    d: number,
  ): void;
  /**
   * The Engram gate + short conv of one branch (native/src/engram_gate.c); dims = [B, T, d,
   * width, dilation, signedSqrt 0|1]; saved holds 4 B T d + 4 B T floats for the backward pass.
   */
  engramGateFwd(
    heap: H,
    outOff: number,
    alphaOff: number,
    vtOff: number,
    savedOff: number,
    hOff: number,
    kpreOff: number,
    vOff: number,
    keyNormOff: number,
    queryNormOff: number,
    convNormOff: number,
    convOff: number,
    dims: Int32Array,
    gateEps: number,
    convEps: number,
  ): void;
  engramGateBwd(
    heap: H,
    dhOff: number,
    dkpreOff: number,
    dvOff: number,
    dKeyNormOff: number,
    dQueryNormOff: number,
    dConvNormOff: number,
    dConvOff: number,
    doutOff: number,
    hOff: number,
    kpreOff: number,
    vOff: number,
    keyNormOff: number,
    queryNormOff: number,
    convNormOff: number,
    convOff: number,
    alphaOff: number,
    vtOff: number,
    savedOff: number,
    dims: Int32Array,
  ): void;
  swigluFwd(heap: H, yOff: number, guOff: number, rows: number, h: number): void;
  swigluBwd(heap: H, dguOff: number, dyOff: number, guOff: number, rows: number, h: number): void;
  /** returns the first row whose label is outside [0, v), or -1 */
  softmaxCE(
    heap: H,
    lossOff: number,
    bpOff: number,
    logitsOff: number,
    labelsOff: number,
    rows: number,
    v: number,
  ): number;
  softmaxBwd(heap: H, dxOff: number, dyOff: number, yOff: number, rows: number, cols: number): void;
  attentionFwd(
    heap: H,
    outOff: number,
    qrOff: number,
    krOff: number,
    probsOff: number,
    qkvOff: number,
    cosOff: number,
    sinOff: number,
    B: number,
    T: number,
    heads: number,
    dh: number,
    scale: number,
  ): void;
  attentionBwd(
    heap: H,
    dqkvOff: number,
    doutOff: number,
    qrOff: number,
    krOff: number,
    probsOff: number,
    qkvOff: number,
    cosOff: number,
    sinOff: number,
    B: number,
    T: number,
    heads: number,
    dh: number,
    scale: number,
  ): void;
  /** AdamW in place; see native/src/fused.c for the argument order */
  adamw(
    heap: H,
    pOff: number,
    mOff: number,
    vOff: number,
    gOff: number,
    n: number,
    scale: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    bc1: number,
    bc2: number,
    eps: number,
    keep: number,
    lr: number,
    scaled: number,
    decayed: number,
  ): void;
  sumSquares(heap: H, xOff: number, n: number): number;
  /** rows of x [blocks, dim, slice] picked by idx [batch, nIdx]; the first bad index position, or -1 */
  gather(
    heap: H,
    outOff: number,
    xOff: number,
    idxOff: number,
    batch: number,
    outer: number,
    dim: number,
    nIdx: number,
    slice: number,
  ): number;
  /** out [segments, inner] = 0, then out[ids[i]] += x[i] in order of i */
  scatterAdd(heap: H, outOff: number, xOff: number, idsOff: number, n: number, inner: number, segments: number): void;
  rope(
    heap: H,
    outOff: number,
    xOff: number,
    cosOff: number,
    sinOff: number,
    outer: number,
    T: number,
    dh: number,
    inverse: number,
  ): void;
}

/** Operation codes shared with native/src/common.h. */
export const BINARY = {
  Add: 0,
  Sub: 1,
  Multiply: 2,
  RealDiv: 3,
  Maximum: 4,
  Minimum: 5,
  SquaredDifference: 6,
} as const;
export const UNARY = {
  Exp: 0,
  Sigmoid: 1,
  Neg: 2,
  Square: 3,
  Sqrt: 4,
  Rsqrt: 5,
  Reciprocal: 6,
  Abs: 7,
  Relu: 8,
} as const;
export const REDUCE = { Sum: 0, Max: 1, Mean: 2, Min: 3 } as const;

/** Where node-gyp puts the build (native/binding.gyp); the same from src/backend/native and dist/backend/native. */
export const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/engram_native.node', import.meta.url));

/** The addon's C sources, when this checkout has them (not in every install). */
export const SOURCES_DIR = fileURLToPath(new URL('../../../native/src', import.meta.url));

/**
 * The hash of the C sources in `dir`, as native/sources-hash.mjs computes it for the build (a copy: see there why)
 * (binding.gyp compiles it into the addon): sha256 over the *.c / *.h files sorted by name,
 * each as `${name}\n${byteLength}\n` + bytes. Undefined when the folder is absent.
 */
export function sourcesHash(dir: string = SOURCES_DIR): string | undefined {
  if (!existsSync(dir)) return undefined;
  const h = createHash('sha256');
  for (const name of readdirSync(dir)
    .filter((n) => /\.[ch]$/.test(n))
    .sort()) {
    const bytes = readFileSync(path.join(dir, name));
    h.update(`${name}\n${bytes.length}\n`);
    h.update(bytes);
  }
  return h.digest('hex');
}

/**
 * broken: the build is there but does not load (a reason worth a log line, unlike "not built");
 * stale: it loads but was compiled from other sources than native/src holds (refused, and said
 * once on stderr when loadNative finds it).
 */
export type NativeState =
  | { ok: true; addon: NativeAddon; path: string }
  | { ok: false; reason: string; broken?: boolean; stale?: boolean };

/** True when the environment turns the addon off (ENGRAM_SWEEP_NATIVE=0|false|off). */
export function nativeDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.ENGRAM_SWEEP_NATIVE ?? '').trim().toLowerCase();
  return v === '0' || v === 'false' || v === 'off';
}

let cached: NativeState | undefined;

export interface LoadOptions {
  /** the .node file (default ADDON_PATH) */
  addonPath?: string;
  /** the C sources it must have been built from (default SOURCES_DIR; skipped when absent) */
  sourcesDir?: string;
  /** where the one line about a stale build goes (default stderr) */
  warn?: (line: string) => void;
}

/**
 * Load an addon file and check it: this addon's functions, and built from the sources on disk
 * when they are there. No caching: loadNative() is the once-per-process entry.
 */
export function loadAddon(opts: LoadOptions = {}): NativeState {
  const file = opts.addonPath ?? ADDON_PATH;
  if (!existsSync(file)) {
    return { ok: false, reason: 'not built (needs a C compiler and OpenBLAS; run npm run build:native)' };
  }
  setBlasThreadTimeout();
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (err) {
    return { ok: false, reason: `failed to load: ${(err as Error)?.message ?? err}`, broken: true };
  }
  if (typeof addon.sgemm !== 'function' || typeof addon.info !== 'function') {
    return { ok: false, reason: `${file} is not this addon`, broken: true };
  }
  const want = sourcesHash(opts.sourcesDir ?? SOURCES_DIR);
  const built = addon.info().sourcesHash ?? 'unknown';
  if (want != null && built !== want) {
    const reason =
      `stale build: ${file} was compiled from other sources than native/src holds ` +
      `(built ${built.slice(0, 12)}, sources ${want.slice(0, 12)}); run npm run build:native`;
    (opts.warn ?? ((l: string) => process.stderr.write(`${l}\n`)))(
      `engram-sweep: native addon refused, ${reason}; the wasm path is used`,
    );
    return { ok: false, reason, stale: true };
  }
  return { ok: true, addon, path: file };
}

/**
 * How long OpenBLAS's idle worker threads spin before they sleep, as log2 of CPU cycles
 * (OPENBLAS_THREAD_TIMEOUT, read once when the addon loads the library): 2^16 cycles, ~15 us.
 * OpenBLAS's default, 2^28 (~60 ms), keeps a worker spinning on the other core through the fused
 * kernels that split their own work across the trial's threads (attention, cross-entropy, the
 * norms), which then share that core with it: dense-m on 2 threads ran its attention only 1.3x
 * faster than on one. Much shorter (2^4) makes every small matmul wake its workers from sleep
 * (dense-s on 2 threads slower than with the default); 2^12 and 2^16 were both best, 2^16 the
 * steadier (README Performance). A value the user set is kept; results do not depend on it.
 */
export const BLAS_THREAD_TIMEOUT = 16;

function setBlasThreadTimeout(env: NodeJS.ProcessEnv = process.env): void {
  if (env.OPENBLAS_THREAD_TIMEOUT === undefined || env.OPENBLAS_THREAD_TIMEOUT === '') {
    env.OPENBLAS_THREAD_TIMEOUT = String(BLAS_THREAD_TIMEOUT);
  }
}

/** Load the addon once per process; the reason says why not when it cannot be used. */
export function loadNative(): NativeState {
  if (cached) return cached;
  if (nativeDisabled()) return (cached = { ok: false, reason: 'disabled by ENGRAM_SWEEP_NATIVE=0' });
  return (cached = loadAddon());
}
