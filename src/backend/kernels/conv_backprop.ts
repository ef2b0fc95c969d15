/**
 * Conv backprop kernels the wasm backend lacks: Conv2DBackpropFilter and
 * DepthwiseConv2dNativeBackpropInput/Filter (FIELD-NOTES, missing wasm kernels).
 *
 * Plain loops, not tuned: the model does its short causal conv with shifted slices, so
 * these only keep tf.conv2d / tf.depthwiseConv2d trainable on wasm. Each loops over the
 * output positions and scatters into float64 accumulators (sums over batch and space can be
 * long), using the same conv geometry as tfjs (backend_util.computeConv2DInfo).
 */
import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, type WasmBackend, asWasm, f32, input } from './wasm_util.js';

type Conv2DInfo = tf.backend_util.Conv2DInfo;

/** Element strides of a 4-D activation tensor as (batch, row, col, channel). */
function actStrides(info: Conv2DInfo, which: 'in' | 'out'): [number, number, number, number] {
  const H = which === 'in' ? info.inHeight : info.outHeight;
  const W = which === 'in' ? info.inWidth : info.outWidth;
  const C = which === 'in' ? info.inChannels : info.outChannels;
  return info.dataFormat === 'channelsLast' ? [H * W * C, W * C, C, 1] : [C * H * W, W, 1, H * W];
}

/** Calls visit(b, yR, yC, xR, xC, wR, wC) for every in-bounds tap of the convolution. */
function forEachTap(
  info: Conv2DInfo,
  visit: (b: number, yR: number, yC: number, xR: number, xC: number, wR: number, wC: number) => void,
): void {
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  for (let b = 0; b < info.batchSize; b++) {
    for (let yR = 0; yR < info.outHeight; yR++) {
      for (let wR = 0; wR < info.filterHeight; wR++) {
        const xR = yR * info.strideHeight + wR * info.dilationHeight - top;
        if (xR < 0 || xR >= info.inHeight) continue;
        for (let yC = 0; yC < info.outWidth; yC++) {
          for (let wC = 0; wC < info.filterWidth; wC++) {
            const xC = yC * info.strideWidth + wC * info.dilationWidth - left;
            if (xC < 0 || xC >= info.inWidth) continue;
            visit(b, yR, yC, xR, xC, wR, wC);
          }
        }
      }
    }
  }
}

function output(backend: WasmBackend, shape: number[], acc: Float64Array): tf.TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  f32(backend, out).set(acc);
  return out;
}

/** dW[wR, wC, d1, d2] = sum over taps of x[b, xR, xC, d1] * dy[b, yR, yC, d2]. */
function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const x = input(args, 'x');
  const dy = input(args, 'dy');
  const a = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(a.dataFormat),
  );
  const [xb, xr, xc, xd] = actStrides(info, 'in');
  const [yb, yr, yc, yd] = actStrides(info, 'out');
  const inC = info.inChannels;
  const outC = info.outChannels;
  const acc = new Float64Array(info.filterHeight * info.filterWidth * inC * outC);
  const xs = f32(backend, x);
  const dys = f32(backend, dy);
  forEachTap(info, (b, yR, yC, xR, xC, wR, wC) => {
    const xBase = b * xb + xR * xr + xC * xc;
    const yBase = b * yb + yR * yr + yC * yc;
    const wBase = (wR * info.filterWidth + wC) * inC * outC;
    for (let d1 = 0; d1 < inC; d1++) {
      const xv = xs[xBase + d1 * xd];
      const row = wBase + d1 * outC;
      for (let d2 = 0; d2 < outC; d2++) acc[row + d2] += xv * dys[yBase + d2 * yd];
    }
  });
  return output(backend, info.filterShape, acc);
}

function depthwiseInfo(inShape: number[], filterShape: number[], a: tf.NamedAttrMap): Conv2DInfo {
  const attrs = a as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
}

/** dW[wR, wC, d1, q] = sum over taps of x[b, xR, xC, d1] * dy[b, yR, yC, d1 * chMul + q]. */
function depthwiseBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const x = input(args, 'x');
  const dy = input(args, 'dy');
  const attrs = args.attrs ?? {};
  const filterShape = (attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs).filterShape;
  const info = depthwiseInfo(x.shape, filterShape, attrs);
  const [xb, xr, xc] = actStrides(info, 'in');
  const [yb, yr, yc] = actStrides(info, 'out');
  const inC = info.inChannels;
  const chMul = info.outChannels / inC;
  const acc = new Float64Array(tf.util.sizeFromShape(filterShape));
  const xs = f32(backend, x);
  const dys = f32(backend, dy);
  forEachTap(info, (b, yR, yC, xR, xC, wR, wC) => {
    const xBase = b * xb + xR * xr + xC * xc;
    const yBase = b * yb + yR * yr + yC * yc;
    const wBase = (wR * info.filterWidth + wC) * inC * chMul;
    for (let d1 = 0; d1 < inC; d1++) {
      const xv = xs[xBase + d1];
      for (let q = 0; q < chMul; q++) acc[wBase + d1 * chMul + q] += xv * dys[yBase + d1 * chMul + q];
    }
  });
  return output(backend, filterShape, acc);
}

/** dx[b, xR, xC, d1] = sum over taps of dy[b, yR, yC, d1 * chMul + q] * w[wR, wC, d1, q]. */
function depthwiseBackpropInput(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const dy = input(args, 'dy');
  const filter = input(args, 'filter');
  const attrs = args.attrs ?? {};
  const inputShape = (attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs).inputShape;
  const info = depthwiseInfo(inputShape, filter.shape, attrs);
  const [xb, xr, xc] = actStrides(info, 'in');
  const [yb, yr, yc] = actStrides(info, 'out');
  const inC = info.inChannels;
  const chMul = info.outChannels / inC;
  const acc = new Float64Array(tf.util.sizeFromShape(inputShape));
  const dys = f32(backend, dy);
  const ws = f32(backend, filter);
  forEachTap(info, (b, yR, yC, xR, xC, wR, wC) => {
    const xBase = b * xb + xR * xr + xC * xc;
    const yBase = b * yb + yR * yr + yC * yc;
    const wBase = (wR * info.filterWidth + wC) * inC * chMul;
    for (let d1 = 0; d1 < inC; d1++) {
      let s = 0;
      for (let q = 0; q < chMul; q++) s += dys[yBase + d1 * chMul + q] * ws[wBase + d1 * chMul + q];
      acc[xBase + d1] += s;
    }
  });
  return output(backend, inputShape, acc);
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as tf.KernelFunc,
};

export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as tf.KernelFunc,
};
