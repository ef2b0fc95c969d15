/**
 * BatchMatMul and _FusedMatMul for the wasm backend through the addon's cblas_sgemm, on the
 * wasm heap in place: every transpose case is a cblas flag (no Transpose copy), equal or
 * size-1 batches are one strided call, other broadcasts one call per output batch.
 */
import * as tf from '@tensorflow/tfjs';
import { broadcastIndex, matMulDims, type MatMulDims } from '../kernels/batch-matmul.js';
import { type KernelArgs, type WasmBackend, asWasm, f32, input, offsetOf } from '../kernels/wasm-util.js';
import { type NativeAddon, UNARY } from './addon.js';

/**
 * out (beta = 0: overwritten; 1: accumulated into) = a x b with optional transposes.
 * a: [...batchA, M, K] (or [..., K, M] transposed), b likewise, out: [...batchOut, M, N].
 */
export function sgemmInto(
  addon: NativeAddon,
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  ta: boolean,
  tb: boolean,
  d: MatMulDims,
  out: tf.TensorInfo,
  beta: 0 | 1,
): void {
  const { M, K, N } = d;
  const nA = tf.util.sizeFromShape(d.batchA);
  const nB = tf.util.sizeFromShape(d.batchB);
  const nOut = tf.util.sizeFromShape(d.batchOut);
  const heap = backend.wasm.HEAPU8;
  const aOff = offsetOf(backend, a);
  const bOff = offsetOf(backend, b);
  const oOff = offsetOf(backend, out);
  const [x, y] = [ta ? 1 : 0, tb ? 1 : 0];
  if ((nA === nOut || nA === 1) && (nB === nOut || nB === 1)) {
    const sa = nA === 1 ? 0 : M * K;
    const sb = nB === 1 ? 0 : K * N;
    addon.sgemm(heap, nOut, x, y, M, N, K, 1, aOff, sa, bOff, sb, beta, oOff, M * N);
    return;
  }
  for (let o = 0; o < nOut; o++) {
    const ia = broadcastIndex(o, d.batchOut, d.batchA);
    const ib = broadcastIndex(o, d.batchOut, d.batchB);
    addon.sgemm(
      heap,
      1,
      x,
      y,
      M,
      N,
      K,
      1,
      aOff + ia * M * K * 4,
      0,
      bOff + ib * K * N * 4,
      0,
      beta,
      oOff + o * M * N * 4,
      0,
    );
  }
}

/** a x b as a new float32 tensor on the wasm heap. */
export function nativeMatMul(
  addon: NativeAddon,
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  ta: boolean,
  tb: boolean,
): tf.TensorInfo {
  const d = matMulDims(a.shape, b.shape, ta, tb);
  const out = backend.makeOutput([...d.batchOut, d.M, d.N], 'float32');
  if (tf.util.sizeFromShape(out.shape) === 0) return out;
  if (d.K === 0) f32(backend, out).fill(0);
  else sgemmInto(addon, backend, a, b, ta, tb, d, out, 0);
  return out;
}

type Fallback = tf.KernelConfig | undefined;

function delegate(prev: Fallback, name: string, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  if (prev == null) throw new Error(`${name}: no wasm kernel to fall back to`);
  return prev.kernelFunc({ inputs: args.inputs, attrs: args.attrs ?? {}, backend: args.backend as tf.KernelBackend });
}

const isF32 = (...ts: (tf.TensorInfo | undefined)[]) => ts.every((t) => t == null || t.dtype === 'float32');

export function batchMatMulKernel(addon: NativeAddon, prev: Fallback): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs) => {
    const a = input(args, 'a');
    const b = input(args, 'b');
    if (!isF32(a, b)) return delegate(prev, 'BatchMatMul', args);
    const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    return nativeMatMul(addon, asWasm(args.backend), a, b, !!transposeA, !!transposeB);
  };
  return { kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

interface FusedAttrs {
  transposeA?: boolean;
  transposeB?: boolean;
  activation?: string;
}

/** Bias of shape [N] or [1] (or a scalar): written into every output row before sgemm adds to it. */
function rowBias(bias: tf.TensorInfo | undefined, N: number): boolean {
  if (bias == null) return false;
  const n = tf.util.sizeFromShape(bias.shape);
  return bias.shape.length <= 1 && (n === N || n === 1);
}

function fillBias(backend: WasmBackend, out: tf.TensorInfo, bias: tf.TensorInfo, N: number): void {
  const o = f32(backend, out);
  const bv = f32(backend, bias);
  if (bv.length === 1) {
    o.fill(bv[0]);
    return;
  }
  for (let r = 0; r < o.length; r += N) o.set(bv, r);
}

/**
 * _FusedMatMul: sgemm onto the broadcast bias (beta = 1), then linear, relu or sigmoid in place.
 * Other biases, activations and prelu go to the previous kernel.
 */
export function fusedMatMulKernel(addon: NativeAddon, prev: Fallback): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs) => {
    const a = input(args, 'a');
    const b = input(args, 'b');
    const { bias, preluActivationWeights: prelu } = args.inputs;
    const attrs = (args.attrs ?? {}) as FusedAttrs;
    const act = attrs.activation ?? 'linear';
    const ta = !!attrs.transposeA;
    const tb = !!attrs.transposeB;
    const d = matMulDims(a.shape, b.shape, ta, tb);
    const simple = act === 'linear' || act === 'relu' || act === 'sigmoid';
    if (!isF32(a, b, bias) || prelu != null || !simple || (bias != null && !rowBias(bias, d.N)) || d.K === 0) {
      return delegate(prev, '_FusedMatMul', args);
    }
    const backend = asWasm(args.backend);
    const out = backend.makeOutput([...d.batchOut, d.M, d.N], 'float32');
    const n = tf.util.sizeFromShape(out.shape);
    if (n === 0) return out;
    if (bias != null) fillBias(backend, out, bias, d.N);
    sgemmInto(addon, backend, a, b, ta, tb, d, out, bias != null ? 1 : 0);
    if (act !== 'linear') {
      const off = offsetOf(backend, out);
      addon.unary(backend.wasm.HEAPU8, act === 'relu' ? UNARY.Relu : UNARY.Sigmoid, off, off, n);
    }
    return out;
  };
  return { kernelName: '_FusedMatMul', backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}
