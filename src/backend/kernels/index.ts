/**
 * Our kernels for tfjs backends, installed over the stock ones (see registry.ts for how a
 * later module, e.g. the native addon, installs over ours).
 */
import type * as tf from '@tensorflow/tfjs';
import { batchMatMulConfig } from './batch-matmul.js';
import { gatherV2Config, identityConfig } from './copy-kernels.js';
import { sparseSoftmaxCECpuConfig, sparseSoftmaxCEWasmConfig } from './cross-entropy.js';
import { expConfig } from './exp.js';
import { fusedMatMulConfig } from './fused-matmul.js';
import { logicalAndConfig } from './logical-and.js';
import { overrideKernel } from './registry.js';
import { sumConfig } from './sum.js';
import { concatConfig, sliceConfig, splitVConfig, unpackConfig } from './slice.js';
import { transposeConfig } from './transpose.js';
import { unsortedSegmentSumCpuConfig, unsortedSegmentSumWasmConfig } from './unsorted-segment-sum.js';

export { overrideKernel, stockKernel, kernelNames } from './registry.js';
export { wasmMatMul } from './batch-matmul.js';
export { sparseSoftmaxCrossEntropy, SPARSE_SOFTMAX_CE } from './cross-entropy.js';

/** What registerWasmKernels installs, in order. */
export const wasmKernelConfigs: readonly tf.KernelConfig[] = [
  unsortedSegmentSumWasmConfig,
  batchMatMulConfig,
  fusedMatMulConfig,
  transposeConfig,
  sparseSoftmaxCEWasmConfig,
  identityConfig,
  sliceConfig,
  splitVConfig,
  unpackConfig,
  concatConfig,
  gatherV2Config,
  logicalAndConfig,
  expConfig,
  sumConfig,
];

export const cpuKernelConfigs: readonly tf.KernelConfig[] = [unsortedSegmentSumCpuConfig, sparseSoftmaxCECpuConfig];

const installed = new Set<string>();

function installOnce(tag: string, configs: readonly tf.KernelConfig[]): string[] {
  if (installed.has(tag)) return [];
  for (const c of configs) overrideKernel(c);
  installed.add(tag);
  return configs.map((c) => c.kernelName);
}

/**
 * Install our wasm kernels. Idempotent: a second call changes nothing, so it never undoes
 * a later override (e.g. the native addon's). Works before or after tf.setBackend('wasm').
 * Returns the kernel names installed by this call.
 */
export function registerWasmKernels(): string[] {
  return installOnce('wasm', wasmKernelConfigs);
}

/** Install our CPU-backend kernels (O(n) UnsortedSegmentSum, fused cross-entropy). Idempotent. */
export function registerCpuKernels(): string[] {
  return installOnce('cpu', cpuKernelConfigs);
}
