import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { type BackendChoice, initBackend, kernelNames, wasmDir } from '../../src/backend/index.js';
import { skipBecause } from '../helpers/skip.js';

process.env.ENGRAM_SWEEP_NATIVE = '0'; // these tests pin the pure wasm path (native: false, one thread)

const require = createRequire(import.meta.url);

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

const nativeInstalled = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu');

/** A stand-in for tfjs-node: on import it registers a real backend named 'tensorflow'. */
function fakeTfjsNode(): void {
  const cpu = tf.findBackendFactory('cpu');
  if (cpu == null) throw new Error('cpu backend factory missing');
  tf.registerBackend('tensorflow', cpu);
}

/** The real dynamic import for everything but `pkg`, which `impl` stands in for. */
function loaderWith(pkg: string, impl: () => Promise<unknown>) {
  return (specifier: string) => (specifier === pkg ? impl() : import(specifier));
}

async function rejection(p: Promise<unknown>): Promise<InputError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected a rejection');
}

afterEach(async () => {
  if (tf.findBackendFactory('tensorflow') != null) tf.removeBackend('tensorflow');
});

describe('initBackend', () => {
  it('wasm: loads the SIMD binary from node_modules and reports one thread', async () => {
    const lines: string[] = [];
    const info = await initBackend('wasm', { log: (l) => lines.push(l) });
    expect(info).toEqual({ name: 'wasm', threads: 1, native: false });
    expect(tf.getBackend()).toBe('wasm');
    expect(lines.at(-1)).toBe('backend: wasm (simd), threads: 1, native kernels: off');
    expect(wasmDir()).toMatch(/tfjs-backend-wasm[\\/]dist[\\/]$/);
    // Our kernels are in place (UnsortedSegmentSum is missing from stock wasm).
    expect(kernelNames('wasm')).toContain('UnsortedSegmentSum');
    // Stock kernels that call the stock transpose still work (Sum over axis 0 transposes).
    const s = tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), 0);
    expect(Array.from(s.dataSync())).toEqual([5, 7, 9]);
  });

  it.skipIf(
    skipBecause(
      nativeInstalled,
      'tensorflow without tfjs-node',
      'tfjs-node is installed here',
      'runs where @tensorflow/tfjs-node is not installed',
    ),
  )('tensorflow without tfjs-node: InputError naming the packages', async () => {
    const err = await rejection(initBackend('tensorflow'));
    expect(err.where).toBe('--backend');
    expect(err.message).toMatch(
      /^tensorflow needs @tensorflow\/tfjs-node or -node-gpu installed; neither is installed/,
    );
  });

  it.skipIf(
    skipBecause(
      nativeInstalled,
      'auto without tfjs-node',
      'tfjs-node is installed here',
      'runs where @tensorflow/tfjs-node is not installed',
    ),
  )('auto without tfjs-node: wasm, skipping the missing packages quietly', async () => {
    const lines: string[] = [];
    const info = await initBackend('auto', { log: (l) => lines.push(l) });
    expect(info.name).toBe('wasm');
    expect(lines).toEqual(['backend: wasm (simd), threads: 1, native kernels: off']);
  });

  it('auto and tensorflow: a package that registers the tensorflow backend wins', async () => {
    const load = loaderWith('@tensorflow/tfjs-node', async () => fakeTfjsNode());
    const lines: string[] = [];
    const info = await initBackend('auto', { log: (l) => lines.push(l), load });
    expect(info.name).toBe('tensorflow');
    expect(info.native).toBe(false);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(tf.getBackend()).toBe('tensorflow');
    expect(lines.at(-1)).toMatch(/^backend: tensorflow \(@tensorflow\/tfjs-node\), threads: \d+/);
    await tf.setBackend('wasm');
    tf.removeBackend('tensorflow');
    const again = await initBackend('tensorflow', { load });
    expect(again.name).toBe('tensorflow');
  });

  it('a package that is present but fails to load: auto says so and moves on; tensorflow throws', async () => {
    const load = loaderWith('@tensorflow/tfjs-node-gpu', async () => {
      throw new Error('libtensorflow.so.2: cannot open shared object file');
    });
    const lines: string[] = [];
    const info = await initBackend('auto', { log: (l) => lines.push(l), load });
    if (!nativeInstalled) expect(info.name).toBe('wasm');
    expect(lines[0]).toBe(
      'backend: skipping @tensorflow/tfjs-node-gpu failed to load: libtensorflow.so.2: cannot open shared object file',
    );
    if (!nativeInstalled) {
      const err = await rejection(initBackend('tensorflow', { load }));
      expect(err.message).toContain('failed to load: libtensorflow.so.2');
    }
  });

  it('cpu: the plain JS backend, with the O(n) UnsortedSegmentSum', async () => {
    const info = await initBackend('cpu');
    expect(info).toEqual({ name: 'cpu', threads: 1, native: false });
    const t0 = performance.now();
    // The stock CPU kernel loops over all 20000 segments (seconds); ours is one pass.
    const s = tf.unsortedSegmentSum(tf.ones([4, 2]), tf.tensor1d([19999, 0, 19999, -1], 'int32'), 20000);
    const v = s.dataSync();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect([v[0], v[1], v[39998], v[39999], v[2]]).toEqual([1, 1, 2, 2, 0]);
    await tf.setBackend('wasm');
  });

  it('rejects an unknown choice with the allowed values', async () => {
    const err = await rejection(initBackend('gpu' as BackendChoice));
    expect(err.line()).toBe('--backend: "gpu" is not a backend; allowed: auto, tensorflow, wasm, cpu');
  });
});
