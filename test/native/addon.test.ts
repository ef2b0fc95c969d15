/**
 * The addon itself: it loads and registers its kernels, reports its BLAS, refuses tensor
 * ranges outside the wasm heap, and ENGRAM_SWEEP_NATIVE=0 turns it off. Without a build these
 * tests skip (one line says why); under ENGRAM_SWEEP_REQUIRE_SYSTEM=1 they fail instead.
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { asWasm, offsetOf } from '../../src/backend/kernels/wasm-util.js';
import { loadNative, nativeDisabled, registerNativeKernels } from '../../src/backend/index.js';
import { setup, skipNative } from './util.js';

const { info } = await setup();
const skip = skipNative(info, 'test/native/addon.test.ts');

describe('ENGRAM_SWEEP_NATIVE', () => {
  it('0, false and off disable the addon; anything else leaves it on', () => {
    for (const v of ['0', 'false', 'OFF', ' 0 ']) expect(nativeDisabled({ ENGRAM_SWEEP_NATIVE: v })).toBe(true);
    for (const v of [undefined, '', '1', 'on']) expect(nativeDisabled({ ENGRAM_SWEEP_NATIVE: v })).toBe(false);
  });

  it('a process started with ENGRAM_SWEEP_NATIVE=0 runs wasm without native kernels', () => {
    const code =
      "const b = await import('./dist/backend/index.js'); const i = await b.initBackend('wasm');" +
      "const n = await import('./dist/backend/index.js'); console.log(JSON.stringify({ i, n: n.nativeInfo() }));";
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], {
      env: { ...process.env, ENGRAM_SWEEP_NATIVE: '0' },
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(r.i).toMatchObject({ name: 'wasm', native: false, threads: 1 });
    expect(r.n).toMatchObject({ active: false, reason: 'disabled by ENGRAM_SWEEP_NATIVE=0' });
  });
});

describe.skipIf(skip)('native addon', () => {
  it('is built, loaded and registered on wasm (ENGRAM_SWEEP_REQUIRE_SYSTEM=1 fails here without it)', () => {
    expect(info.reason).toBeUndefined();
    expect(info.active).toBe(true);
    expect(info.kernels).toEqual(
      expect.arrayContaining(['BatchMatMul', '_FusedMatMul', 'Multiply', 'Transpose', 'Softmax']),
    );
    expect(info.blas?.config).toMatch(/OpenBLAS/);
  });

  it('uses the thread count it is given', () => {
    const before = info.blas!.threads;
    expect(registerNativeKernels({ threads: 1 }).blas?.threads).toBe(1);
    registerNativeKernels({ threads: before });
  });

  it('lets idle OpenBLAS workers sleep after 2^16 cycles unless the user set OPENBLAS_THREAD_TIMEOUT', () => {
    // read by OpenBLAS when the addon loads it, so it must be in the environment by then
    const code =
      "const b = await import('./dist/backend/index.js'); b.loadNative();" +
      'console.log(JSON.stringify(process.env.OPENBLAS_THREAD_TIMEOUT ?? null));';
    const timeout = (v: string | undefined) => {
      const env = { ...process.env, OPENBLAS_THREAD_TIMEOUT: v };
      if (v === undefined) delete env.OPENBLAS_THREAD_TIMEOUT;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { env, encoding: 'utf8' });
      return JSON.parse(out.trim().split('\n').at(-1)!);
    };
    expect(timeout(undefined)).toBe('16');
    expect(timeout('24')).toBe('24');
  });

  it('refuses tensor ranges outside the wasm heap, and a heap that is not a Uint8Array', () => {
    const state = loadNative();
    if (!state.ok) throw new Error(state.reason);
    const t = tf.ones([4, 4]);
    const backend = asWasm(tf.backend());
    const heap = backend.wasm.HEAPU8;
    const off = offsetOf(backend, t);
    const { addon } = state;
    expect(() => addon.sgemm(heap, 1, 0, 0, 4, 4, 4, 1, off, 0, off, 0, 0, heap.length - 8, 0)).toThrow(
      /outside the wasm heap/,
    );
    expect(() => addon.unary(heap, 0, off + 2, off, 4)).toThrow(/bad heap offset/);
    expect(() => addon.unary(new Float32Array(4) as unknown as Uint8Array, 0, 0, 0, 1)).toThrow(/wasm heap/);
    expect(() => addon.unary(heap, 99, off, off, 4)).toThrow(/bad op/);
    t.dispose();
  });

  it('keeps the previous kernel underneath: an op it does not take still works (prelu fused matmul)', () => {
    const y = tf.fused.matMul({
      a: tf.tensor2d([1, -2], [1, 2]),
      b: tf.tensor2d([1, 0, 0, 1], [2, 2]),
      activation: 'prelu',
      preluActivationWeights: tf.scalar(0.5),
    });
    expect(Array.from(y.dataSync())).toEqual([1, -1]);
    y.dispose();
  });
});
