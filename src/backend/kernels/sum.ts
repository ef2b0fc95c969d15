/**
 * Sum over leading axes for the wasm backend (bias and norm-weight gradients: [N, d] -> [d]).
 *
 * The stock kernel reduces only innermost axes, so for axis 0 it first transposes through
 * its generic N-D loop: ~0.5 ms for a [1024, 64] tensor, ~7 ns per element. Summing rows
 * into a float64 accumulator is one pass. Every other reduction goes to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, asWasm, f32, input } from './wasm-util.js';
import { stockKernel } from './registry.js';

/** k when `axes` are exactly the leading axes 0..k-1 of a rank-r tensor, 0 < k < r; else 0. */
export function leadingAxes(axes: number[], rank: number): number {
  const sorted = [...new Set(axes)].sort((a, b) => a - b);
  if (sorted.length === 0 || sorted.length >= rank) return 0;
  return sorted.every((a, i) => a === i) ? sorted.length : 0;
}

function sumKernel(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const backend = asWasm(args.backend);
  const x = input(args, 'x');
  const { axis, keepDims } = (args.attrs ?? {}) as unknown as tf.SumAttrs;
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const k = leadingAxes(axes, x.shape.length);
  if (x.dtype !== 'float32' || k === 0) {
    const stock = stockKernel('Sum', 'wasm');
    if (stock == null) throw new Error('Sum: the stock wasm kernel is missing');
    return stock.kernelFunc({
      inputs: args.inputs,
      attrs: args.attrs ?? {},
      backend: backend as unknown as tf.KernelBackend,
    });
  }
  const rest = x.shape.slice(k);
  const outShape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...rest] : rest;
  const out = backend.makeOutput(outShape, 'float32');
  const inner = tf.util.sizeFromShape(rest);
  const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
  const acc = new Float64Array(inner);
  const xs = f32(backend, x);
  for (let i = 0; i < rows; i++) {
    const base = i * inner;
    for (let j = 0; j < inner; j++) acc[j] += xs[base + j];
  }
  f32(backend, out).set(acc);
  return out;
}

export const sumConfig: tf.KernelConfig = {
  kernelName: 'Sum',
  backendName: 'wasm',
  kernelFunc: sumKernel as unknown as tf.KernelFunc,
};
