/**
 * BatchMatMul for the wasm backend that always lands on XNNPACK's fast path.
 *
 * The stock kernel (batch_mat_mul_impl.cc) uses XNNPACK only when neither side is
 * transposed and both batch sizes are 1; everything else (both backward matmuls, all
 * attention matmuls) runs a scalar loop at ~1-3.5 GFLOP/s instead of ~35-45 (FIELD-NOTES).
 * Here: transposes become an explicit Transpose (O(size), cheap next to the O(M*K*N)
 * product), a batch-1 right side turns the whole batch into one [B*M, K] x [K, N] product,
 * and true batches run XNNPACK once per batch on slices registered in place (no copies).
 */
import * as tf from '@tensorflow/tfjs';
import {
  type WasmBackend,
  asWasm,
  callKernel,
  cFunction,
  disposeInfo,
  f32,
  input,
  type KernelArgs,
  offsetOf,
  registerView,
  releaseView,
  shapeBytes,
  tensorId,
} from './wasm-util.js';

/** Shapes of one product: out[..., M, N] = a[..., M, K] x b[..., K, N] after transposes. */
export interface MatMulDims {
  M: number;
  K: number;
  N: number;
  batchA: number[];
  batchB: number[];
  batchOut: number[];
}

export function matMulDims(aShape: number[], bShape: number[], transposeA: boolean, transposeB: boolean): MatMulDims {
  const ra = aShape.length;
  const rb = bShape.length;
  if (ra < 2 || rb < 2) throw new Error(`matMul needs rank >= 2, got ${aShape} and ${bShape}`);
  const M = transposeA ? aShape[ra - 1] : aShape[ra - 2];
  const K = transposeA ? aShape[ra - 2] : aShape[ra - 1];
  const kB = transposeB ? bShape[rb - 1] : bShape[rb - 2];
  const N = transposeB ? bShape[rb - 2] : bShape[rb - 1];
  if (K !== kB) {
    throw new Error(
      `Error in matMul: inner shapes (${K}) and (${kB}) of Tensors with shapes ${aShape} and ` +
        `${bShape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const batchA = aShape.slice(0, -2);
  const batchB = bShape.slice(0, -2);
  const batchOut = tf.broadcast_util.assertAndGetBroadcastShape(batchA, batchB);
  return { M, K, N, batchA, batchB, batchOut };
}

/** Swap the last two axes through the registered Transpose kernel. */
function transposeLast2(backend: WasmBackend, t: tf.TensorInfo): tf.TensorInfo {
  const r = t.shape.length;
  const perm = [...Array(r - 2).keys(), r - 1, r - 2];
  return callKernel(backend, 'Transpose', { x: t }, { perm });
}

/** Flat batch index of `shape` (right-aligned, size-1 axes broadcast) for out batch `o`. */
export function broadcastIndex(o: number, outShape: number[], shape: number[]): number {
  let idx = 0;
  let stride = 1;
  let rest = o;
  for (let i = outShape.length - 1, j = shape.length - 1; i >= 0; i--, j--) {
    const coord = rest % outShape[i];
    rest = Math.floor(rest / outShape[i]);
    if (j >= 0) {
      if (shape[j] !== 1) idx += coord * stride;
      stride *= shape[j];
    }
  }
  return idx;
}

const BATCH_MATMUL_ARGS = ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number'];

/**
 * out = a x b with a [..., M, K] and b [..., K, N] laid out plainly (no transposes).
 * Each call of the C++ kernel sees batch 1 on both sides, its XNNPACK path.
 */
function plainMatMul(
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  d: MatMulDims,
  out: tf.TensorInfo,
): void {
  const run = cFunction(backend, 'BatchMatMul', BATCH_MATMUL_ARGS);
  const { M, K, N } = d;
  const batchA = tf.util.sizeFromShape(d.batchA);
  const batchB = tf.util.sizeFromShape(d.batchB);
  const bShape = shapeBytes([1, K, N]);
  if (batchB === 1) {
    // Shared right side (weights): the batch folds into the rows of one product.
    const aShape = shapeBytes([1, batchA * M, K]);
    run(tensorId(backend, a), aShape, 3, tensorId(backend, b), bShape, 3, 0, 0, tensorId(backend, out));
    return;
  }
  const aShape = shapeBytes([1, M, K]);
  const batchOut = tf.util.sizeFromShape(d.batchOut);
  const aBase = offsetOf(backend, a);
  const bBase = offsetOf(backend, b);
  const outBase = offsetOf(backend, out);
  const same = batchA === batchOut && batchB === batchOut;
  for (let o = 0; o < batchOut; o++) {
    const ia = same ? o : broadcastIndex(o, d.batchOut, d.batchA);
    const ib = same ? o : broadcastIndex(o, d.batchOut, d.batchB);
    const aId = registerView(backend, aBase + ia * M * K * 4, M * K);
    const bId = registerView(backend, bBase + ib * K * N * 4, K * N);
    const oId = registerView(backend, outBase + o * M * N * 4, M * N);
    try {
      run(aId, aShape, 3, bId, bShape, 3, 0, 0, oId);
    } finally {
      releaseView(backend, aId);
      releaseView(backend, bId);
      releaseView(backend, oId);
    }
  }
}

/** The product a x b (with optional transposes) as a new float32 tensor on wasm. */
export function wasmMatMul(
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): tf.TensorInfo {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`BatchMatMul supports float32 only, got ${a.dtype} and ${b.dtype}`);
  }
  const d = matMulDims(a.shape, b.shape, transposeA, transposeB);
  const out = backend.makeOutput([...d.batchOut, d.M, d.N], 'float32');
  if (tf.util.sizeFromShape(out.shape) === 0) return out;
  if (d.K === 0) {
    f32(backend, out).fill(0);
    return out;
  }
  const temps: tf.TensorInfo[] = [];
  try {
    const aPlain = transposeA ? transposeLast2(backend, a) : a;
    if (transposeA) temps.push(aPlain);
    const bPlain = transposeB ? transposeLast2(backend, b) : b;
    if (transposeB) temps.push(bPlain);
    plainMatMul(backend, aPlain, bPlain, d, out);
  } finally {
    for (const t of temps) disposeInfo(backend, t);
  }
  return out;
}

function batchMatMulKernel(args: KernelArgs): tf.TensorInfo {
  const a = input(args, 'a');
  const b = input(args, 'b');
  const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
  return wasmMatMul(asWasm(args.backend), a, b, !!transposeA, !!transposeB);
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  kernelFunc: batchMatMulKernel as unknown as tf.KernelFunc,
};
