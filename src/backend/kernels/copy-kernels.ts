/**
 * Data-movement kernels for the wasm backend that the stock ones make slow (slices and
 * concat are in slice.ts):
 * - Identity copies every tensor (the CPU backend shares the buffer and bumps its refcount;
 *   tensors are immutable, and the wasm Reshape already shares): ~380 copies per step of a
 *   small LM, mostly from the optimizer.
 * - GatherV2 reads the indices out of the heap and moves one element at a time in C++:
 *   ~24-58 ns per element for embedding rows and MoE token gathers.
 */
import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, asWasm, copyRun, heapView, input } from './wasm-util.js';

interface RefCounting {
  incRef(dataId: object): void;
}

function identityKernel(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  (args.backend as RefCounting).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** GatherV2's shapes: x as [batch, outer, dim, slice], indices as [batch, nIdx], and the output's */
export function gatherShapes(args: KernelArgs) {
  const x = input(args, 'x');
  const indices = input(args, 'indices');
  const { axis, batchDims } = (args.attrs ?? {}) as unknown as tf.GatherV2Attrs;
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
    x as tf.Tensor,
    indices as tf.Tensor,
    ax,
    batchDims ?? 0,
  );
  return { x, indices, info, nIdx: tf.util.sizeFromShape(indices.shape) / info.batchSize };
}

function gatherKernel(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const { x, indices, info, nIdx } = gatherShapes(args);
  if (indices.dtype !== 'int32') throw new Error(`GatherV2: indices must be int32, got ${indices.dtype}`);
  const out = backend.makeOutput(info.outputShape, x.dtype);
  if (tf.util.sizeFromShape(info.outputShape) === 0) return out;
  const xs = heapView(backend, x);
  const os = heapView(backend, out);
  const idx = heapView(backend, indices) as Int32Array;
  const { batchSize, outerSize, dimSize, sliceSize } = info;
  for (let i = 0; i < idx.length; i++) {
    if (!(idx[i] >= 0 && idx[i] < dimSize)) {
      throw new Error(`GatherV2: the index value ${idx[i]} is not in [0, ${dimSize - 1}]`);
    }
  }
  // x: [batch, outer, dim, slice]; indices: [batch, nIdx]; out: [batch, outer, nIdx, slice].
  let o = 0;
  for (let bi = 0; bi < batchSize; bi++) {
    for (let oi = 0; oi < outerSize; oi++) {
      const base = (bi * outerSize + oi) * dimSize * sliceSize;
      for (let j = 0; j < nIdx; j++, o += sliceSize) {
        copyRun(os, o, xs, base + idx[bi * nIdx + j] * sliceSize, sliceSize);
      }
    }
  }
  return out;
}

export const identityConfig: tf.KernelConfig = {
  kernelName: 'Identity',
  backendName: 'wasm',
  kernelFunc: identityKernel as unknown as tf.KernelFunc,
};

export const gatherV2Config: tf.KernelConfig = {
  kernelName: 'GatherV2',
  backendName: 'wasm',
  kernelFunc: gatherKernel as unknown as tf.KernelFunc,
};
