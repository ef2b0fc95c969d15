/**
 * Transpose, Slice, SplitV, Unpack and Concat on the addon's strided copy: each output (or each
 * input, for Concat) is one `copy` call over collapsed shapes. float32 and int32 (4 bytes); other
 * dtypes go to the previous kernel (ours in src/backend/kernels, copying in TypeScript).
 */
import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, type WasmBackend, asWasm, input, offsetOf } from '../kernels/wasm-util.js';
import type { NativeAddon } from './addon.js';
import { delegate, type NativeKernelFactory } from './elementwise.js';

const MAX_RANK = 8;
const is4 = (t: tf.TensorInfo) => t.dtype === 'float32' || t.dtype === 'int32';

/**
 * [shape | out strides | x strides] with size-1 axes dropped and neighbours merged where both
 * sides are contiguous across them; null beyond 8 axes.
 */
export function copyDims(shape: number[], os: number[], xs: number[]): Int32Array | null {
  const s: number[] = [];
  const o: number[] = [];
  const x: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const k = s.length - 1;
    if (k >= 0 && o[k] === os[i] * shape[i] && x[k] === xs[i] * shape[i]) {
      s[k] *= shape[i];
      o[k] = os[i];
      x[k] = xs[i];
    } else {
      s.push(shape[i]);
      o.push(os[i]);
      x.push(xs[i]);
    }
  }
  return s.length > MAX_RANK ? null : Int32Array.from([...s, ...o, ...x]);
}

const strides = (shape: number[]) => (shape.length === 0 ? [] : [...tf.util.computeStrides(shape), 1]);

function copy(
  addon: NativeAddon,
  b: WasmBackend,
  out: tf.TensorInfo,
  outElem: number,
  os: number[],
  x: tf.TensorInfo,
  xElem: number,
  xs: number[],
  shape: number[],
): boolean {
  if (tf.util.sizeFromShape(shape) === 0) return true;
  const dims = copyDims(shape, os, xs);
  if (dims == null) return false;
  addon.copy(b.wasm.HEAPU8, offsetOf(b, out) + 4 * outElem, offsetOf(b, x) + 4 * xElem, dims);
  return true;
}

const transpose: NativeKernelFactory = (addon, prev) => ({
  kernelName: 'Transpose',
  backendName: 'wasm',
  kernelFunc: ((args: KernelArgs) => {
    const x = input(args, 'x');
    const { perm } = (args.attrs ?? {}) as unknown as tf.TransposeAttrs;
    if (!is4(x)) return delegate(prev, 'Transpose', args);
    const b = asWasm(args.backend);
    const outShape = perm.map((p) => x.shape[p]);
    const xs = strides(x.shape);
    const out = b.makeOutput(outShape, x.dtype);
    if (
      copy(
        addon,
        b,
        out,
        0,
        strides(outShape),
        x,
        0,
        perm.map((p) => xs[p]),
        outShape,
      )
    )
      return out;
    b.disposeData(out.dataId);
    return delegate(prev, 'Transpose', args);
  }) as unknown as tf.KernelFunc,
});

/** x[begin : begin + size] into a new tensor, or null when the copy has too many axes. */
function sliceInto(
  addon: NativeAddon,
  b: WasmBackend,
  x: tf.TensorInfo,
  begin: number[],
  size: number[],
): tf.TensorInfo | null {
  const out = b.makeOutput(size, x.dtype);
  const xs = strides(x.shape);
  const start = begin.reduce((acc, v, i) => acc + v * xs[i], 0);
  if (copy(addon, b, out, 0, strides(size), x, start, xs, size)) return out;
  b.disposeData(out.dataId);
  return null;
}

const slice: NativeKernelFactory = (addon, prev) => ({
  kernelName: 'Slice',
  backendName: 'wasm',
  kernelFunc: ((args: KernelArgs) => {
    const x = input(args, 'x');
    if (!is4(x)) return delegate(prev, 'Slice', args);
    const { begin, size } = (args.attrs ?? {}) as unknown as tf.SliceAttrs;
    const [bg, sz] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    return sliceInto(addon, asWasm(args.backend), x, bg, sz) ?? delegate(prev, 'Slice', args);
  }) as unknown as tf.KernelFunc,
});

/** Outputs along `axis` of the given sizes; all-or-nothing (null: let the previous kernel do it). */
function splitAlong(
  addon: NativeAddon,
  b: WasmBackend,
  x: tf.TensorInfo,
  axis: number,
  sizes: number[],
): tf.TensorInfo[] | null {
  const begin = new Array<number>(x.shape.length).fill(0);
  const outs: tf.TensorInfo[] = [];
  for (const n of sizes) {
    const size = [...x.shape];
    size[axis] = n;
    const t = sliceInto(addon, b, x, [...begin], size);
    if (t == null) {
      for (const o of outs) b.disposeData(o.dataId);
      return null;
    }
    outs.push(t);
    begin[axis] += n;
  }
  return outs;
}

const splitV: NativeKernelFactory = (addon, prev) => ({
  kernelName: 'SplitV',
  backendName: 'wasm',
  kernelFunc: ((args: KernelArgs) => {
    const x = input(args, 'x');
    if (!is4(x)) return delegate(prev, 'SplitV', args);
    const { numOrSizeSplits, axis } = (args.attrs ?? {}) as unknown as tf.SplitVAttrs;
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
    return splitAlong(addon, asWasm(args.backend), x, ax, sizes) ?? delegate(prev, 'SplitV', args);
  }) as unknown as tf.KernelFunc,
});

const unpack: NativeKernelFactory = (addon, prev) => ({
  kernelName: 'Unpack',
  backendName: 'wasm',
  kernelFunc: ((args: KernelArgs) => {
    const x = input(args, 'value');
    if (!is4(x)) return delegate(prev, 'Unpack', args);
    const r = x.shape.length;
    let axis = Number((args.attrs as unknown as tf.UnpackAttrs | undefined)?.axis ?? 0);
    if (axis < 0) axis += r;
    const parts = splitAlong(addon, asWasm(args.backend), x, axis, new Array<number>(x.shape[axis]).fill(1));
    if (parts == null) return delegate(prev, 'Unpack', args);
    const outShape = x.shape.filter((_, i) => i !== axis);
    return parts.map((t) => ({ dataId: t.dataId, dtype: t.dtype, shape: outShape }));
  }) as unknown as tf.KernelFunc,
});

const concat: NativeKernelFactory = (addon, prev) => ({
  kernelName: 'Concat',
  backendName: 'wasm',
  kernelFunc: ((args: KernelArgs) => {
    const inputs = Object.keys(args.inputs).map((k) => input(args, k));
    if (inputs.length === 0 || !inputs.every((t) => is4(t) && t.dtype === inputs[0].dtype))
      return delegate(prev, 'Concat', args);
    const axis = tf.util.parseAxisParam((args.attrs as unknown as tf.ConcatAttrs).axis, inputs[0].shape)[0];
    tf.backend_util.assertParamsConsistent(
      inputs.map((t) => t.shape),
      axis,
    );
    const outShape = tf.backend_util.computeOutShape(
      inputs.map((t) => t.shape),
      axis,
    );
    const b = asWasm(args.backend);
    const out = b.makeOutput(outShape, inputs[0].dtype);
    const os = strides(outShape);
    let at = 0;
    for (const t of inputs) {
      if (!copy(addon, b, out, at * os[axis], os, t, 0, strides(t.shape), t.shape)) {
        b.disposeData(out.dataId);
        return delegate(prev, 'Concat', args);
      }
      at += t.shape[axis];
    }
    return out;
  }) as unknown as tf.KernelFunc,
});

export const copyKernels: readonly (readonly [string, NativeKernelFactory])[] = [
  ['Transpose', transpose],
  ['Slice', slice],
  ['SplitV', splitV],
  ['Unpack', unpack],
  ['Concat', concat],
];
