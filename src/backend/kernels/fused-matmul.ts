/**
 * _FusedMatMul (tf.fused.matMul: matmul + bias + activation) for the wasm backend.
 *
 * The stock kernel shares the C++ path of BatchMatMul: with a transpose or a batch it runs
 * the scalar loop. When the stock kernel would take its XNNPACK path (no transposes, batch
 * 1 on both sides, rank-1 bias of length N, relu/relu6/linear) it is kept, since it fuses
 * bias and clamp into one pass; otherwise the fast matmul runs and bias and activation are
 * applied by the registered Add and activation kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { matMulDims, wasmMatMul } from './batch-matmul.js';
import { type KernelArgs, type WasmBackend, asWasm, callKernel, disposeInfo, input } from './wasm-util.js';
import { stockKernel } from './registry.js';

interface FusedAttrs {
  transposeA?: boolean;
  transposeB?: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

function applyActivation(
  backend: WasmBackend,
  x: tf.TensorInfo,
  attrs: FusedAttrs,
  prelu: tf.TensorInfo | undefined,
): tf.TensorInfo {
  switch (attrs.activation ?? 'linear') {
    case 'linear':
      return x;
    case 'relu':
      return callKernel(backend, 'Relu', { x });
    case 'relu6':
      return callKernel(backend, 'Relu6', { x });
    case 'elu':
      return callKernel(backend, 'Elu', { x });
    case 'sigmoid':
      return callKernel(backend, 'Sigmoid', { x });
    case 'leakyrelu':
      return callKernel(backend, 'LeakyRelu', { x }, { alpha: attrs.leakyreluAlpha ?? 0.2 });
    case 'prelu':
      if (prelu == null) throw new Error('prelu activation needs preluActivationWeights');
      return callKernel(backend, 'Prelu', { x, alpha: prelu });
    default:
      throw new Error(`activation ${attrs.activation} is not supported by _FusedMatMul`);
  }
}

function stockIsFast(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  bias: tf.TensorInfo | undefined,
  prelu: tf.TensorInfo | undefined,
  attrs: FusedAttrs,
): boolean {
  if (attrs.transposeA || attrs.transposeB || prelu != null) return false;
  const act = attrs.activation ?? 'linear';
  if (act !== 'linear' && act !== 'relu' && act !== 'relu6') return false;
  const d = matMulDims(a.shape, b.shape, false, false);
  if (tf.util.sizeFromShape(d.batchA) !== 1 || tf.util.sizeFromShape(d.batchB) !== 1) return false;
  return bias == null || (bias.shape.length === 1 && bias.shape[0] === d.N);
}

function fusedMatMulKernel(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const a = input(args, 'a');
  const b = input(args, 'b');
  const { bias, preluActivationWeights: prelu } = args.inputs;
  const attrs = (args.attrs ?? {}) as FusedAttrs;
  const stock = stockKernel('_FusedMatMul', 'wasm');
  if (stock != null && stockIsFast(a, b, bias, prelu, attrs)) {
    const out = stock.kernelFunc({
      inputs: args.inputs,
      attrs: args.attrs ?? {},
      backend: backend as unknown as tf.KernelBackend,
    });
    return Array.isArray(out) ? out[0] : out;
  }
  const product = wasmMatMul(backend, a, b, !!attrs.transposeA, !!attrs.transposeB);
  let y = product;
  if (bias != null) {
    y = callKernel(backend, 'Add', { a: product, b: bias });
    disposeInfo(backend, product);
  }
  const activated = applyActivation(backend, y, attrs, prelu);
  if (activated !== y) disposeInfo(backend, y);
  return activated;
}

export const fusedMatMulConfig: tf.KernelConfig = {
  kernelName: '_FusedMatMul',
  backendName: 'wasm',
  kernelFunc: fusedMatMulKernel as unknown as tf.KernelFunc,
};
