/**
 * The compute stage (DESIGN "Compute"), its one way in: the selection ladder, our wasm and cpu
 * kernels (kernels/), and the optional OpenBLAS addon's kernel provider (native/), which
 * initBackend registers over ours on wasm.
 */
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
export {
  ADDON_PATH,
  FUSED,
  SOURCES_DIR,
  loadAddon,
  loadNative,
  nativeDisabled,
  sourcesHash,
  registerNativeKernels,
  nativeInfo,
  nativeActiveOn,
  adamwInPlace,
  sumOfSquares,
  broadcastDims,
  reducePlan,
  type AdamWScalars,
  type BlasInfo,
  type NativeAddon,
  type NativeInfo,
  type NativeOptions,
  type NativeState,
} from './native/index.js';
