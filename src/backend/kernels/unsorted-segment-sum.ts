/**
 * UnsortedSegmentSum as one scatter-add pass over the indices: O(size of x).
 *
 * tf.gather's gradient is an UnsortedSegmentSum into the rows of the gathered table. The
 * wasm backend has no such kernel, and the JS CPU backend's loops over every segment,
 * O(numSegments * size): 97 s per call for a 4096-row embedding (FIELD-NOTES). Ids
 * outside [0, numSegments) are dropped, as in TensorFlow and the CPU kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, asWasm, f32, i32, input } from './wasm-util.js';

type Values = Float32Array | Int32Array;

/** out[ids[i], j] += x[i, j] for every i, j; out must be zeroed. */
export function scatterAdd(out: Values, x: Values, ids: Int32Array, inner: number, numSegments: number): void {
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
  }
}

interface Parts {
  outShape: number[];
  inner: number;
}

function parts(x: tf.TensorInfo, segmentIds: tf.TensorInfo, numSegments: number): Parts {
  if (segmentIds.dtype !== 'int32') throw new Error(`segmentIds must be int32, got ${segmentIds.dtype}`);
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum supports float32 and int32, got ${x.dtype}`);
  }
  const r = segmentIds.shape.length;
  if (segmentIds.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`segmentIds shape ${segmentIds.shape} must be a prefix of x shape ${x.shape}`);
  }
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`numSegments must be a non-negative integer, got ${numSegments}`);
  }
  const rest = x.shape.slice(r);
  return { outShape: [numSegments, ...rest], inner: tf.util.sizeFromShape(rest) };
}

function wasmKernel(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const x = input(args, 'x');
  const segmentIds = input(args, 'segmentIds');
  const numSegments = Number(args.attrs?.numSegments);
  const { outShape, inner } = parts(x, segmentIds, numSegments);
  const out = backend.makeOutput(outShape, x.dtype);
  // Views only after the last allocation: makeOutput may have grown the heap.
  const view = (t: tf.TensorInfo): Values => (t.dtype === 'int32' ? i32(backend, t) : f32(backend, t));
  const o = view(out);
  o.fill(0);
  scatterAdd(o, view(x), i32(backend, segmentIds), inner, numSegments);
  return out;
}

/** The parts of the JS CPU backend (MathBackendCPU) this kernel uses. */
interface CpuBackend {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Values): tf.TensorInfo;
}

function cpuKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as CpuBackend;
  const x = input(args, 'x');
  const segmentIds = input(args, 'segmentIds');
  const numSegments = Number(args.attrs?.numSegments);
  const { outShape, inner } = parts(x, segmentIds, numSegments);
  const size = tf.util.sizeFromShape(outShape);
  const o = x.dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
  const xs = backend.data.get(x.dataId).values as Values;
  const ids = backend.data.get(segmentIds.dataId).values as Int32Array;
  scatterAdd(o, xs, ids, inner, numSegments);
  return backend.makeTensorInfo(outShape, x.dtype, o);
}

export const unsortedSegmentSumWasmConfig: tf.KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: wasmKernel as unknown as tf.KernelFunc,
};

export const unsortedSegmentSumCpuConfig: tf.KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'cpu',
  kernelFunc: cpuKernel as unknown as tf.KernelFunc,
};
