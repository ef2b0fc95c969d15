/** Compute backends: the selection ladder and our kernels (DESIGN "Compute"). */
export { initBackend, wasmDir, BACKEND_CHOICES, quietCpuBanner } from './select.js';
export type { BackendChoice, BackendInfo, BackendOptions } from './select.js';
export {
  registerWasmKernels,
  registerCpuKernels,
  overrideKernel,
  stockKernel,
  kernelNames,
  wasmKernelConfigs,
  cpuKernelConfigs,
  wasmMatMul,
  sparseSoftmaxCrossEntropy,
  SPARSE_SOFTMAX_CE,
} from './kernels/index.js';
