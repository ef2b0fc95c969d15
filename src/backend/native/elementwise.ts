/**
 * The hot elementwise and reduction kernels of a training step on the addon: broadcast binary
 * ops, unary ops, Sum/Mean/Max/Min over trailing (or, for sums, leading) axes, and Softmax over
 * the last axis. float32 only; any other case goes to the kernel registered before (ours or
 * tfjs's), so nothing is lost by registering these.
 */
import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, asWasm, input, offsetOf } from '../kernels/wasm-util.js';
import { BINARY, type NativeAddon, REDUCE, UNARY } from './addon.js';

type Fallback = tf.KernelConfig | undefined;
type KernelOut = tf.TensorInfo | tf.TensorInfo[];

/** Kernels the addon implements, with the previous kernel to fall back to. */
export type NativeKernelFactory = (addon: NativeAddon, prev: Fallback) => tf.KernelConfig;

export function delegate(prev: Fallback, name: string, args: KernelArgs): KernelOut {
  if (prev == null) throw new Error(`${name}: no wasm kernel to fall back to`);
  return prev.kernelFunc({ inputs: args.inputs, attrs: args.attrs ?? {}, backend: args.backend as tf.KernelBackend });
}

const MAX_RANK = 8;

/**
 * Collapsed broadcast of a and b onto out: [shape | strides of a | strides of b] with size-1
 * axes dropped and neighbours merged when both operands are contiguous (or both broadcast)
 * across them, e.g. [16, 4, 128, 32] * [128, 32] -> shape [64, 4096], a [4096, 1], b [0, 1].
 * null when more than 8 axes remain.
 */
export function broadcastDims(outShape: number[], aShape: number[], bShape: number[]): Int32Array | null {
  const r = outShape.length;
  const strides = (s: number[]) => {
    const padded = [...Array(r - s.length).fill(1), ...s];
    const st = new Array<number>(r);
    let acc = 1;
    for (let i = r - 1; i >= 0; i--) {
      st[i] = padded[i] === 1 ? 0 : acc;
      acc *= padded[i];
    }
    return st;
  };
  const sa = strides(aShape);
  const sb = strides(bShape);
  const shape: number[] = [];
  const ca: number[] = [];
  const cb: number[] = [];
  for (let i = 0; i < r; i++) {
    if (outShape[i] === 1) continue;
    const last = shape.length - 1;
    if (last >= 0 && ca[last] === sa[i] * outShape[i] && cb[last] === sb[i] * outShape[i]) {
      shape[last] *= outShape[i];
      ca[last] = sa[i];
      cb[last] = sb[i];
    } else {
      shape.push(outShape[i]);
      ca.push(sa[i]);
      cb.push(sb[i]);
    }
  }
  if (shape.length > MAX_RANK) return null;
  return Int32Array.from([...shape, ...ca, ...cb]);
}

function binaryKernel(name: keyof typeof BINARY): NativeKernelFactory {
  return (addon, prev) => {
    const kernelFunc = (args: KernelArgs): KernelOut => {
      const a = input(args, 'a');
      const b = input(args, 'b');
      if (a.dtype !== 'float32' || b.dtype !== 'float32') return delegate(prev, name, args);
      const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const dims = broadcastDims(outShape, a.shape, b.shape);
      if (dims == null) return delegate(prev, name, args);
      const backend = asWasm(args.backend);
      const out = backend.makeOutput(outShape, 'float32');
      if (tf.util.sizeFromShape(outShape) === 0) return out;
      addon.binary(
        backend.wasm.HEAPU8,
        BINARY[name],
        offsetOf(backend, out),
        offsetOf(backend, a),
        offsetOf(backend, b),
        dims,
      );
      return out;
    };
    return { kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
  };
}

function unaryKernel(name: keyof typeof UNARY): NativeKernelFactory {
  return (addon, prev) => {
    const kernelFunc = (args: KernelArgs): KernelOut => {
      const x = input(args, 'x');
      if (x.dtype !== 'float32') return delegate(prev, name, args);
      const backend = asWasm(args.backend);
      const out = backend.makeOutput(x.shape, 'float32');
      const n = tf.util.sizeFromShape(x.shape);
      if (n > 0) addon.unary(backend.wasm.HEAPU8, UNARY[name], offsetOf(backend, out), offsetOf(backend, x), n);
      return out;
    };
    return { kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
  };
}

/** How a reduction over `axes` of `shape` maps onto the addon, or null when it does not. */
export function reducePlan(
  shape: number[],
  axes: number[],
  leadingOk: boolean,
): { outer: number; inner: number; leading: boolean } | null {
  const r = shape.length;
  const ax = [...new Set(axes)].sort((p, q) => p - q);
  const k = ax.length;
  if (k === 0 || tf.util.sizeFromShape(shape) === 0) return null;
  const size = (s: number[]) => tf.util.sizeFromShape(s);
  if (ax.every((v, i) => v === r - k + i)) {
    return { outer: size(shape.slice(0, r - k)), inner: size(shape.slice(r - k)), leading: false };
  }
  if (leadingOk && ax.every((v, i) => v === i)) {
    return { outer: size(shape.slice(0, k)), inner: size(shape.slice(k)), leading: true };
  }
  return null;
}

function reduceKernel(name: keyof typeof REDUCE, axisAttr: 'axis' | 'reductionIndices'): NativeKernelFactory {
  return (addon, prev) => {
    const kernelFunc = (args: KernelArgs): KernelOut => {
      const x = input(args, 'x');
      const attrs = (args.attrs ?? {}) as Record<string, unknown>;
      if (x.dtype !== 'float32') return delegate(prev, name, args);
      const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
      const plan = reducePlan(x.shape, axes, name === 'Sum' || name === 'Mean');
      if (plan == null) return delegate(prev, name, args);
      const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const outShape = attrs.keepDims ? kept : x.shape.filter((_, i) => !axes.includes(i));
      const backend = asWasm(args.backend);
      const out = backend.makeOutput(outShape, 'float32');
      addon.reduce(
        backend.wasm.HEAPU8,
        REDUCE[name],
        offsetOf(backend, out),
        offsetOf(backend, x),
        plan.outer,
        plan.inner,
        plan.leading ? 1 : 0,
      );
      return out;
    };
    return { kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
  };
}

const softmaxKernel: NativeKernelFactory = (addon, prev) => {
  const kernelFunc = (args: KernelArgs): KernelOut => {
    const x = input(args, 'logits');
    const { dim } = (args.attrs ?? {}) as { dim?: number };
    const r = x.shape.length;
    const last = dim == null || dim === -1 || dim === r - 1;
    const n = tf.util.sizeFromShape(x.shape);
    if (x.dtype !== 'float32' || !last || r === 0 || n === 0) return delegate(prev, 'Softmax', args);
    const backend = asWasm(args.backend);
    const out = backend.makeOutput(x.shape, 'float32');
    const cols = x.shape[r - 1];
    addon.softmax(backend.wasm.HEAPU8, offsetOf(backend, out), offsetOf(backend, x), n / cols, cols);
    return out;
  };
  return { kernelName: 'Softmax', backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
};

/** Every elementwise/reduction kernel the addon provides: [kernel name, factory]. */
export const elementwiseKernels: readonly (readonly [string, NativeKernelFactory])[] = [
  ...(Object.keys(BINARY) as (keyof typeof BINARY)[]).map((n) => [n, binaryKernel(n)] as const),
  ...(Object.keys(UNARY) as (keyof typeof UNARY)[]).map((n) => [n, unaryKernel(n)] as const),
  ['Sum', reduceKernel('Sum', 'axis')],
  ['Mean', reduceKernel('Mean', 'axis')],
  ['Max', reduceKernel('Max', 'reductionIndices')],
  ['Min', reduceKernel('Min', 'axis')],
  ['Softmax', softmaxKernel],
];
