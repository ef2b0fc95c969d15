/**
 * The native addon's kernels for the wasm backend (DESIGN "Compute"): sgemm matmuls, hot
 * elementwise ops and reductions, and the fused kernels (fused-kernels.ts) the layers of
 * src/model/ call when registered, with the native softmax gradient. Registered over ours through
 * overrideKernel, each keeping the kernel it replaces as its fallback for the cases it does not
 * take (other dtypes, unusual axes), so the wasm path stays whole underneath.
 */
import * as tf from '@tensorflow/tfjs';
import { setRowGatherKernel } from '../../memory/gather.js';
import { setRowAdamKernel } from '../../memory/sparse-adam.js';
import { setShardAdvice } from '../../memory/tables.js';
import { registerWasmKernels } from '../kernels/index.js';
import { overrideKernel } from '../kernels/registry.js';
import { type BlasInfo, loadNative } from './addon.js';
import { copyKernels } from './copy.js';
import { engramGateKernels } from './engram-gate.js';
import { elementwiseKernels, type NativeKernelFactory } from './elementwise.js';
import { fusedKernels } from './fused-kernels.js';
import { groupedKernels } from './grouped-matmul.js';
import { rowKernels } from './rows.js';
import { registerSoftmaxGradient } from './softmax-grad.js';
import { batchMatMulKernel, fusedMatMulKernel } from './matmul.js';

export {
  ADDON_PATH,
  SOURCES_DIR,
  loadAddon,
  loadNative,
  nativeDisabled,
  sourcesHash,
  type BlasInfo,
  type NativeAddon,
  type NativeState,
} from './addon.js';
export { broadcastDims, reducePlan } from './elementwise.js';
export { FUSED } from './fused-kernels.js';
export { adamwInPlace, sumOfSquares, type AdamWScalars } from './optim.js';

/** Shards this big or more get huge-page advice (two 2 MiB pages: smaller ones gain nothing). */
const HUGE_ADVICE_BYTES = 4 << 20;

export interface NativeInfo {
  /** the addon's kernels are registered on wasm in this process */
  active: boolean;
  /** why not, when inactive */
  reason?: string;
  /** inactive because the build exists but failed to load */
  broken?: boolean;
  blas?: BlasInfo;
  path?: string;
  kernels: string[];
}

const ALL: readonly (readonly [string, NativeKernelFactory])[] = [
  ['BatchMatMul', batchMatMulKernel],
  ['_FusedMatMul', fusedMatMulKernel],
  ...elementwiseKernels,
  ...copyKernels,
  ...rowKernels,
  ...fusedKernels,
  ...groupedKernels,
  ...engramGateKernels,
];

let registered: string[] | null = null;

export interface NativeOptions {
  /** OpenBLAS threads (default: what OPENBLAS_NUM_THREADS gave the library) */
  threads?: number;
}

/**
 * Register the addon's kernels on the wasm backend (initBackend does, after its own): each
 * native kernel falls back to the one registered before it, ours or tfjs's.
 * Idempotent. Without the addon (not built, or ENGRAM_SWEEP_NATIVE=0) it changes nothing and
 * says why.
 */
export function registerNativeKernels(opts: NativeOptions = {}): NativeInfo {
  const state = loadNative();
  if (!state.ok) return { active: false, reason: state.reason, broken: state.broken, kernels: [] };
  if (opts.threads != null) state.addon.setThreads(opts.threads);
  if (registered == null) {
    registerWasmKernels(); // ours first (idempotent): installed later they would cover the addon's
    for (const [name, factory] of ALL) {
      const prev = tf.getKernel(name, 'wasm');
      overrideKernel(factory(state.addon, prev));
    }
    registerSoftmaxGradient();
    registered = ALL.map(([name]) => name);
    // the tables' row gather and lazy Adam in native passes (same bits as the JS loops they replace)
    setRowGatherKernel(state.addon.gatherHostRows.bind(state.addon));
    setRowAdamKernel(state.addon.sparseAdam.bind(state.addon));
    // huge pages for the host tables' big shards (FIELD-NOTES: random row reads of a multi-GB
    // table pay TLB misses); ENGRAM_SWEEP_HUGEPAGES=0 turns it off, e.g. to measure it
    if (process.env.ENGRAM_SWEEP_HUGEPAGES !== '0') {
      const addon = state.addon;
      setShardAdvice((s) => {
        if (s.byteLength >= HUGE_ADVICE_BYTES) addon.adviseHugePages(s);
      });
    }
  }
  return { active: true, blas: state.addon.info(), path: state.path, kernels: [...registered] };
}

/** Whether the kernels are registered, and the BLAS in use; loads nothing new. */
export function nativeInfo(): NativeInfo {
  const state = loadNative();
  if (!state.ok) return { active: false, reason: state.reason, broken: state.broken, kernels: [] };
  if (registered == null)
    return {
      active: false,
      reason: 'addon loaded but kernels not registered',
      blas: state.addon.info(),
      path: state.path,
      kernels: [],
    };
  return { active: true, blas: state.addon.info(), path: state.path, kernels: [...registered] };
}

/** Whether the fused native kernels can run on the current backend right now. */
export function nativeActiveOn(backendName: string = tf.getBackend()): boolean {
  return registered != null && backendName === 'wasm';
}
