import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  initBackend,
  overrideKernel,
  registerWasmKernels,
  stockKernel,
  wasmKernelConfigs,
  wasmMatMul,
} from '../../src/backend/index.js';
import { asWasm } from '../../src/backend/kernels/wasm-util.js';

// One file, one process: the order of these tests is the order of a real start-up.
describe('kernel registration', () => {
  it('registers before the backend exists without starting it, and stock setups still run', async () => {
    const names = registerWasmKernels();
    expect(names).toEqual(wasmKernelConfigs.map((c) => c.kernelName));
    // Registering must not have initialised wasm as a side effect (tf.findBackend would).
    const engine = tf.engine() as unknown as { registry: Record<string, unknown>; pendingBackendInitId: number };
    expect(engine.registry.wasm).toBeUndefined();
    expect(engine.pendingBackendInitId).toBe(0);
    await initBackend('wasm');
    // Stock Sum and Max call the stock transpose, bound only by the stock Transpose setup.
    const x = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
    expect(Array.from(tf.sum(x, [0, 1]).dataSync())).toEqual([16, 20]);
    expect(Array.from(tf.max(x, 0).dataSync())).toEqual([5, 6, 7, 8]);
  });

  it('is idempotent', () => {
    expect(registerWasmKernels()).toEqual([]);
  });

  it('keeps the stock kernels reachable for delegation', () => {
    const stock = stockKernel('BatchMatMul', 'wasm');
    const current = tf.getKernel('BatchMatMul', 'wasm');
    expect(stock).toBeDefined();
    expect(current).toBeDefined();
    expect(stock!.kernelFunc).not.toBe(current!.kernelFunc);
    // Kernels tfjs never had for wasm have no stock version.
    expect(stockKernel('UnsortedSegmentSum', 'wasm')).toBeUndefined();
  });

  it('a later module can override ours, and registering ours again does not undo it', () => {
    let calls = 0;
    overrideKernel({
      kernelName: 'BatchMatMul',
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) => {
        calls++;
        const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
        return wasmMatMul(asWasm(backend), inputs.a!, inputs.b!, transposeA, transposeB);
      },
    });
    registerWasmKernels();
    const y = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]), false, true);
    expect(Array.from(y.dataSync())).toEqual([17, 23, 39, 53]);
    expect(calls).toBe(1);
    // The stock kernel is still the one tfjs shipped, not ours.
    expect(stockKernel('BatchMatMul', 'wasm')!.kernelFunc).not.toBe(tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc);
  });

  it('runs a setupFunc at once when the backend is already up', () => {
    let setups = 0;
    overrideKernel({
      kernelName: 'Softplus',
      backendName: 'wasm',
      setupFunc: () => {
        setups++;
      },
      kernelFunc: stockKernel('Softplus', 'wasm')!.kernelFunc,
    });
    expect(setups).toBe(1);
    expect(tf.softplus(tf.scalar(0)).dataSync()[0]).toBeCloseTo(Math.log(2), 6);
  });
});
