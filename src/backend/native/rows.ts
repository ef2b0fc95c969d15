/**
 * GatherV2 and UnsortedSegmentSum (tf.gather's gradient) on the addon: MoE routing gathers tokens
 * to experts and back and scatters their gradients every layer and step. float32 and int32 gather
 * of any batch/axis; float32 scatter-add (int32 goes to the previous kernel). The scatter adds rows
 * in index order as our TypeScript kernel does, so both paths give the same bits.
 */
import * as tf from '@tensorflow/tfjs';
import { gatherShapes } from '../kernels/copy-kernels.js';
import { type KernelArgs, asWasm, input, offsetOf } from '../kernels/wasm-util.js';
import { delegate, type NativeKernelFactory } from './elementwise.js';

const gather: NativeKernelFactory = (addon, prev) => ({
  kernelName: 'GatherV2',
  backendName: 'wasm',
  kernelFunc: ((args: KernelArgs) => {
    const { x, indices, info, nIdx } = gatherShapes(args);
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32')
      return delegate(prev, 'GatherV2', args);
    const b = asWasm(args.backend);
    const out = b.makeOutput(info.outputShape, x.dtype);
    if (tf.util.sizeFromShape(info.outputShape) === 0) return out;
    const { batchSize, outerSize, dimSize, sliceSize } = info;
    const bad = addon.gather(
      b.wasm.HEAPU8,
      offsetOf(b, out),
      offsetOf(b, x),
      offsetOf(b, indices),
      batchSize,
      outerSize,
      dimSize,
      nIdx,
      sliceSize,
    );
    if (bad >= 0) {
      const value = new Int32Array(b.wasm.HEAPU8.buffer, offsetOf(b, indices), batchSize * nIdx)[bad];
      b.disposeData(out.dataId);
      throw new Error(`GatherV2: the index value ${value} is not in [0, ${dimSize - 1}]`);
    }
    return out;
  }) as unknown as tf.KernelFunc,
});

const unsortedSegmentSum: NativeKernelFactory = (addon, prev) => ({
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: ((args: KernelArgs) => {
    const x = input(args, 'x');
    const ids = input(args, 'segmentIds');
    const segments = Number(args.attrs?.numSegments);
    const r = ids.shape.length;
    const prefix = ids.shape.every((d, i) => d === x.shape[i]);
    if (x.dtype !== 'float32' || ids.dtype !== 'int32' || !prefix || !Number.isInteger(segments) || segments < 1)
      return delegate(prev, 'UnsortedSegmentSum', args);
    const rest = x.shape.slice(r);
    const inner = tf.util.sizeFromShape(rest);
    const n = tf.util.sizeFromShape(ids.shape);
    if (inner === 0) return delegate(prev, 'UnsortedSegmentSum', args);
    const b = asWasm(args.backend);
    const out = b.makeOutput([segments, ...rest], 'float32');
    addon.scatterAdd(b.wasm.HEAPU8, offsetOf(b, out), offsetOf(b, x), offsetOf(b, ids), n, inner, segments);
    return out;
  }) as unknown as tf.KernelFunc,
});

export const rowKernels: readonly (readonly [string, NativeKernelFactory])[] = [
  ['GatherV2', gather],
  ['UnsortedSegmentSum', unsortedSegmentSum],
];
