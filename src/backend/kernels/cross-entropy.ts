/**
 * Sparse softmax cross-entropy as one kernel, as TensorFlow's
 * SparseSoftmaxCrossEntropyWithLogits: from logits [N, V] and labels [N] it returns the
 * per-row loss [N] and backprop = softmax(logits) - onehot(labels) [N, V], so the gradient
 * is one broadcast multiply.
 *
 * Why: written with tf ops (logSoftmax, oneHot, mul, sum) the loss of a 2048 x 4096 logits
 * batch makes ~10 full passes over 32 MB plus two exps of 8M elements, ~150 ms of a ~900 ms
 * step on wasm. Here: max, subtract, exp, sum and divide (the wasm backend's own kernels)
 * and an O(N) pass for the labels.
 */
import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, asWasm, callKernel, disposeInfo, f32, i32, input } from './wasm-util.js';

export const SPARSE_SOFTMAX_CE = 'SparseSoftmaxCrossEntropyWithLogits';

function checkShapes(logits: tf.TensorInfo, labels: tf.TensorInfo): [number, number] {
  if (logits.shape.length !== 2 || logits.dtype !== 'float32') {
    throw new Error(`${SPARSE_SOFTMAX_CE}: logits must be float32 [N, V], got ${logits.dtype} [${logits.shape}]`);
  }
  const [n, v] = logits.shape;
  if (labels.dtype !== 'int32' || labels.shape.length !== 1 || labels.shape[0] !== n) {
    throw new Error(`${SPARSE_SOFTMAX_CE}: labels must be int32 [${n}], got ${labels.dtype} [${labels.shape}]`);
  }
  return [n, v];
}

function badLabel(i: number, label: number, v: number): never {
  throw new Error(`${SPARSE_SOFTMAX_CE}: label ${label} at row ${i} is outside [0, ${v})`);
}

function wasmKernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = asWasm(args.backend);
  const logits = input(args, 'logits');
  const labels = input(args, 'labels');
  const [n, v] = checkShapes(logits, labels);
  const m = callKernel(backend, 'Max', { x: logits }, { reductionIndices: [1], keepDims: true }); // [N, 1]
  const z = callKernel(backend, 'Sub', { a: logits, b: m }); // [N, V]
  const e = callKernel(backend, 'Exp', { x: z }); // [N, V]
  const s = callKernel(backend, 'Sum', { x: e }, { axis: [1], keepDims: true }); // [N, 1]
  const backprop = callKernel(backend, 'RealDiv', { a: e, b: s }); // softmax, [N, V]
  const loss = backend.makeOutput([n], 'float32');
  // Views only now: every allocation above may have grown the heap.
  const lab = i32(backend, labels);
  const zs = f32(backend, z);
  const ss = f32(backend, s);
  const bp = f32(backend, backprop);
  const ls = f32(backend, loss);
  for (let i = 0; i < n; i++) {
    const c = lab[i];
    if (!(c >= 0 && c < v)) badLabel(i, c, v);
    ls[i] = Math.log(ss[i]) - zs[i * v + c];
    bp[i * v + c] -= 1;
  }
  for (const t of [m, z, e, s]) disposeInfo(backend, t);
  return [loss, backprop];
}

/** The parts of the JS CPU backend (MathBackendCPU) this kernel uses. */
interface CpuBackend {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

function cpuKernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as CpuBackend;
  const logits = input(args, 'logits');
  const labels = input(args, 'labels');
  const [n, v] = checkShapes(logits, labels);
  const x = backend.data.get(logits.dataId).values as Float32Array;
  const lab = backend.data.get(labels.dataId).values as Int32Array;
  const loss = new Float32Array(n);
  const bp = new Float32Array(n * v);
  for (let i = 0; i < n; i++) {
    const row = i * v;
    let max = -Infinity;
    for (let j = 0; j < v; j++) max = Math.max(max, x[row + j]);
    let sum = 0;
    for (let j = 0; j < v; j++) sum += bp[row + j] = Math.exp(x[row + j] - max);
    const c = lab[i];
    if (!(c >= 0 && c < v)) badLabel(i, c, v);
    loss[i] = Math.log(sum) - (x[row + c] - max);
    for (let j = 0; j < v; j++) bp[row + j] /= sum;
    bp[row + c] -= 1;
  }
  return [backend.makeTensorInfo([n], 'float32', loss), backend.makeTensorInfo([n, v], 'float32', bp)];
}

export const sparseSoftmaxCEWasmConfig: tf.KernelConfig = {
  kernelName: SPARSE_SOFTMAX_CE,
  backendName: 'wasm',
  kernelFunc: wasmKernel as unknown as tf.KernelFunc,
};

export const sparseSoftmaxCECpuConfig: tf.KernelConfig = {
  kernelName: SPARSE_SOFTMAX_CE,
  backendName: 'cpu',
  kernelFunc: cpuKernel as unknown as tf.KernelFunc,
};

/** The same loss from stock tf ops, for backends without the kernel (e.g. tensorflow). */
function composite(logits: tf.Tensor2D, labels: tf.Tensor1D): [tf.Tensor1D, tf.Tensor2D] {
  const [n, v] = logits.shape;
  const z = tf.sub(logits, tf.max(logits, 1, true)); // [N, V]
  const lse = tf.log(tf.sum(tf.exp(z), 1)); // [N]
  const flat = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(v, 'int32')), labels); // [N]
  const picked = tf.gather(tf.reshape(z, [n * v]), flat); // [N]
  const backprop = tf.sub(tf.softmax(logits), tf.oneHot(labels, v)); // [N, V]
  return [tf.sub(lse, picked) as tf.Tensor1D, backprop as tf.Tensor2D];
}

/**
 * Per-row cross-entropy -log softmax(logits)[i, labels[i]], differentiable in logits.
 * logits [N, V] float32, labels [N] int32 in [0, V). Take the mean yourself.
 */
export function sparseSoftmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  const forward = (lg: tf.Tensor, save: tf.GradSaveFunc) => {
    let loss: tf.Tensor1D;
    let backprop: tf.Tensor2D;
    if (tf.getKernel(SPARSE_SOFTMAX_CE, tf.getBackend()) != null) {
      const out = tf.engine().runKernel(SPARSE_SOFTMAX_CE, { logits: lg, labels }) as tf.Tensor[];
      [loss, backprop] = [out[0] as tf.Tensor1D, out[1] as tf.Tensor2D];
    } else {
      [loss, backprop] = composite(lg as tf.Tensor2D, labels);
    }
    save([backprop]);
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0], tf.expandDims(dy, 1)),
    };
  };
  const run = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return run(logits) as tf.Tensor1D;
}
